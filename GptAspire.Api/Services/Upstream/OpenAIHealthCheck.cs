using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenAI;

namespace GptAspire.Api.Services.Upstream;

/// <summary>
/// Checks that the configured OpenAI endpoint answers and accepts the key, by listing its models (free, and
/// allowed for any key), so that a wrong key or endpoint shows at start-up rather than on the first chat.
/// The description names what is wrong and never the key. A healthy answer is kept for a while: the check
/// is polled, and the endpoint's rate limits are better spent on answers.
/// </summary>
public sealed class OpenAIHealthCheck(OpenAIConnection connection, IHttpClientFactory httpClientFactory) : IHealthCheck
{
    /// <summary>The name of the check in health reports.</summary>
    public const string Name = "openai";

    /// <summary>How long one check may take; an endpoint that is slower than this is reported as unreachable.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>How long a healthy answer is reused.</summary>
    public static readonly TimeSpan HealthyFor = TimeSpan.FromMinutes(1);

    private long _healthyUntil = long.MinValue;
    private OpenAI.Models.OpenAIModelClient? _models;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (Environment.TickCount64 < Volatile.Read(ref _healthyUntil))
        {
            return HealthCheckResult.Healthy();
        }

        var endpoint = connection.ApiEndpoint.GetLeftPart(UriPartial.Path);
        // One client for every check: with Microsoft Entra ID, its credential keeps the token until it expires.
        var models = _models ??= connection.CreateClient(new OpenAIClientOptions
        {
            Transport = new HttpClientPipelineTransport(httpClientFactory.CreateClient(Extensions.Extensions.OpenAIConnectionName)),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = Timeout,
        }).GetOpenAIModelClient();

        try
        {
            await models.GetModelsAsync(cancellationToken);
        }
        catch (ClientResultException e) when (e.Status is 401 or 403)
        {
            return HealthCheckResult.Unhealthy(connection.Key is null
                ? $"{endpoint} refused the Microsoft Entra ID token ({e.Status}): give the app's identity the 'Cognitive Services OpenAI User' role on the resource."
                : $"{endpoint} rejected the key in ConnectionStrings:{Extensions.Extensions.OpenAIConnectionName} ({e.Status}): check its 'Key' field.");
        }
        catch (ClientResultException e) when (e.Status == 404)
        {
            return HealthCheckResult.Unhealthy(
                $"{endpoint} has no OpenAI API (404 on its model list): check the 'Endpoint' field of ConnectionStrings:{Extensions.Extensions.OpenAIConnectionName}.");
        }
        catch (ClientResultException e) when (e.Status != 0)
        {
            return HealthCheckResult.Unhealthy($"{endpoint} answered its model list with {e.Status}.");
        }
        catch (Azure.Identity.CredentialUnavailableException)
        {
            return HealthCheckResult.Unhealthy(
                $"No Microsoft Entra ID credential for {endpoint}: sign in (az login) or add a 'Key' to ConnectionStrings:{Extensions.Extensions.OpenAIConnectionName}.");
        }
        catch (Azure.Identity.AuthenticationFailedException e)
        {
            return HealthCheckResult.Unhealthy($"No Microsoft Entra ID token for {endpoint}: {e.Message}");
        }
        catch (Exception e) when (e is ClientResultException or HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"{endpoint} cannot be reached within {Timeout.TotalSeconds:0} s: check the 'Endpoint' field and the network.");
        }

        Volatile.Write(ref _healthyUntil, Environment.TickCount64 + (long)HealthyFor.TotalMilliseconds);
        return HealthCheckResult.Healthy();
    }
}
