using GptAspire.OpenAIEmulator.Apis;
using GptAspire.OpenAIEmulator.Extensions;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddEmulatorServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapChatCompletionsApi();
app.MapEmulatorApi();

app.Run();
