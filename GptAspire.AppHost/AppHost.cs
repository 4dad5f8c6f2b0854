using GptAspire.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

var builder = DistributedApplication.CreateBuilder(args);

var openai = builder.AddOpenAIConnection("openai");

var usingEmulator = openai.Resource is OpenAIEmulatorResource;
var api = builder.AddProject<Projects.GptAspire_Api>("api")
    .WithReference(openai)
    .WithEnvironment("Chat__UsingEmulator", usingEmulator ? "true" : "false")
    .WithHttpHealthCheck("/health")
    .WithUrlForEndpoint("http", url => url.DisplayLocation = UrlDisplayLocation.DetailsOnly);

// The API asks nothing of the emulator until the first chat, which only the page (waiting for both) sends: the two
// start side by side. A real endpoint's connection string must be settled before the API starts.
if (!usingEmulator)
{
    api.WaitFor(openai);
}

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

// The page's server starts beside the API instead of after it (Node and Vite load while the API starts): its
// proxy asks for the API only when a chat is sent. The console names the chat page once the page, the API and the
// emulator are all ready, that is once an answer can stream (a real endpoint is settled before the API starts).
var web = builder.AddNodeServerApp("web", "../GptAspire.Web", "server/index.mjs")
    .WithNodeImport("./server/instrumentation.mjs")
    .WithNpmInstall(installCommand: "ci")
    .WithReference(api)
    .WithHttpEndpoint(port: 5173, env: "PORT")
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health")
    .WithUrlForEndpoint("http", url => url.DisplayText = "Chat")
    .LogUrlWhenReady("Chat page", usingEmulator ? [api.Resource, openai.Resource] : [api.Resource])
    .PublishAsDockerFile();

// Deployed, the Container Apps ingress is the one proxy in front of web, so web believes the client address it
// reports; the API is reachable only from inside the environment, where web's request passes the environment's
// own ingress: the API believes X-Forwarded-For from private addresses, two hops deep. Locally neither is trusted.
if (builder.ExecutionContext.IsPublishMode)
{
    web.WithEnvironment("TRUSTED_PROXIES", "1");
    api.WithEnvironment("ForwardedHeaders__KnownNetworks__0", "10.0.0.0/8")
        .WithEnvironment("ForwardedHeaders__KnownNetworks__1", "172.16.0.0/12")
        .WithEnvironment("ForwardedHeaders__KnownNetworks__2", "192.168.0.0/16")
        .WithEnvironment("ForwardedHeaders__KnownNetworks__3", "100.64.0.0/10")
        .WithEnvironment("ForwardedHeaders__ForwardLimit", "2");
}

builder.Build().Run();
