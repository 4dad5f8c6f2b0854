var builder = DistributedApplication.CreateBuilder(args);

var openai = builder.AddOpenAI("openai");

var api = builder.AddProject<Projects.GptAspire_Api>("api")
    .WithReference(openai)
    .WaitFor(openai)
    .WithEnvironment("Chat__UsingEmulator", openai.Resource is OpenAIEmulatorResource ? "true" : "false")
    .WithHttpHealthCheck("/health");

builder.AddViteApp("web", "../GptAspire.Web")
    .WithNpm(installCommand: "ci")
    .WithReference(api)
    .WaitFor(api)
    .WithHttpEndpoint(port: 5173, env: "PORT")
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health")
    .PublishAsDockerFile();

builder.Build().Run();
