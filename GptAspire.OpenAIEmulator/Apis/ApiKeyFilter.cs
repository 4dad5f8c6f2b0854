using System.Security.Cryptography;
using System.Text;
using GptAspire.OpenAIEmulator.Services;
using Microsoft.Extensions.Options;

namespace GptAspire.OpenAIEmulator.Apis;

/// <summary>
/// Accepts the configured key as <c>Authorization: Bearer</c> (OpenAI) or <c>api-key</c> (Azure), and
/// answers anything else with OpenAI's 401 body.
/// </summary>
public sealed class ApiKeyFilter(IOptions<EmulatorOptions> options) : IEndpointFilter
{
    private const string BearerPrefix = "Bearer ";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var headers = context.HttpContext.Request.Headers;
        string? authorization = headers.Authorization;
        var bearer = authorization is not null && authorization.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase)
            ? authorization[BearerPrefix.Length..].Trim()
            : null;
        string? apiKey = headers["api-key"];

        var offered = new[] { bearer, apiKey }.Where(key => !string.IsNullOrEmpty(key)).Cast<string>().ToList();
        if (offered.Count == 0)
        {
            return EmulatorErrors.MissingApiKey();
        }

        if (!offered.Any(IsExpected))
        {
            return EmulatorErrors.IncorrectApiKey(offered[0]);
        }

        return await next(context);
    }

    private bool IsExpected(string key) => CryptographicOperations.FixedTimeEquals(
        Encoding.UTF8.GetBytes(key),
        Encoding.UTF8.GetBytes(options.Value.ApiKey ?? ""));
}
