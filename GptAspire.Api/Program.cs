using GptAspire.Api.Apis;
using GptAspire.Api.Extensions;
using Scalar.AspNetCore;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();
builder.AddClientLimits();
builder.Services.AddProblemDetails();
builder.Services.AddOpenApi(options =>
{
    ChatStreamOpenApi.Describe(options);
    ChatRequestOpenApi.Describe(options);
});

var app = builder.Build();

app.UseClientIdentity();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseRateLimiter();

// The API's description helps whoever develops against it; in production it only tells attackers more.
if (app.Environment.IsDevelopment())
{
    app.MapOpenApi();
    app.MapScalarApiReference();
}

app.MapDefaultEndpoints();
app.MapChatApi();

app.Run();

public partial class Program;
