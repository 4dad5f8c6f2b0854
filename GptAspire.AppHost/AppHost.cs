using GptAspire.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

var builder = DistributedApplication.CreateBuilder(args);

var openai = builder.AddOpenAIConnection("openai");

var api = builder.AddProject<Projects.GptAspire_Api>("api")
    .WithReference(openai)
    .WaitFor(openai)
    .WithEnvironment("Chat__UsingEmulator", openai.Resource is OpenAIEmulatorResource ? "true" : "false")
    .WithHttpHealthCheck("/health")
    .WithUrlForEndpoint("http", url => url.DisplayLocation = UrlDisplayLocation.DetailsOnly);

// The API maps its Scalar reference page in Development only.
if (builder.ExecutionContext.IsRunMode && builder.Environment.IsDevelopment())
{
    api.WithUrlForEndpoint("http", endpoint => new() { Url = endpoint.Url + "/scalar", DisplayText = "API reference", Endpoint = endpoint });
}

// More than one API replica: a stream started on one can be resumed or stopped on another, through Redis.
var replicas = builder.Configuration.GetValue("Api:Replicas", 1);
if (replicas > 1)
{
    var streams = builder.AddRedisServer("streams");
    api.WithReplicas(replicas)
        .WithReference(streams)
        .WaitFor(streams);
}

builder.AddNodeServerApp("web", "../GptAspire.Web", "server/index.mjs")
    .WithNodeImport("./server/instrumentation.mjs")
    .WithNpmInstall(installCommand: "ci")
    .WithReference(api)
    .WaitFor(api)
    .WithHttpEndpoint(port: 5173, env: "PORT")
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health")
    .WithUrlForEndpoint("http", url => url.DisplayText = "Chat")
    .LogUrlWhenReady("Chat page")
    .PublishAsDockerFile();

builder.Build().Run();
