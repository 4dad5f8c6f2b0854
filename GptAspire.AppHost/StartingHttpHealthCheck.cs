using System.Diagnostics;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GptAspire.Hosting;

/// <summary>
/// An HTTP health check that is ready the moment its resource is: while nothing answers yet (connection refused
/// or dropped, which is how a process that is still starting looks, through the AppHost's proxy too), it asks
/// again every <see cref="RetryInterval"/> for up to <see cref="StartingWindow"/> before it reports Unhealthy.
/// Aspire polls an unhealthy resource after 1, 2, 3, 4, then every 5 s, so a service that starts in 6 s was
/// seen at 10 s; every <c>WaitFor</c> of the chain added that wait. Any HTTP answer is reported at once: 200 is
/// Healthy, anything else Unhealthy with its status, as with <c>WithHttpHealthCheck</c>.
/// </summary>
public sealed class StartingHttpHealthCheck(Func<Uri> url, HttpClient http) : IHealthCheck
{
    /// <summary>How long one check keeps asking while nothing answers.</summary>
    public static readonly TimeSpan StartingWindow = TimeSpan.FromSeconds(10);

    /// <summary>The pause between two attempts while nothing answers.</summary>
    public static readonly TimeSpan RetryInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>How long one attempt may take: the proxy may hold a connection while its target is not listening.</summary>
    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(2);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var target = url();
        var window = Stopwatch.StartNew();
        while (true)
        {
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attempt.CancelAfter(AttemptTimeout);
            try
            {
                using var response = await http.GetAsync(target, HttpCompletionOption.ResponseHeadersRead, attempt.Token);
                return response.IsSuccessStatusCode
                    ? HealthCheckResult.Healthy()
                    : HealthCheckResult.Unhealthy($"{target} answered {(int)response.StatusCode} {response.ReasonPhrase}.");
            }
            catch (Exception e) when (e is HttpRequestException || e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                if (window.Elapsed + RetryInterval >= StartingWindow)
                {
                    return HealthCheckResult.Unhealthy($"{target} does not answer yet.", e);
                }
            }

            await Task.Delay(RetryInterval, cancellationToken);
        }
    }
}

public static class StartingHttpHealthCheckExtensions
{
    /// <summary>
    /// Stands in for <c>WithHttpHealthCheck(path)</c> (same registration key, same verdicts) with a check that
    /// notices a starting service within 100 ms: see <see cref="StartingHttpHealthCheck"/>.
    /// </summary>
    public static IResourceBuilder<T> WithStartingHttpHealthCheck<T>(this IResourceBuilder<T> builder, string path, string endpointName = "http")
        where T : IResourceWithEndpoints
    {
        var endpoint = builder.Resource.GetEndpoint(endpointName);
        var key = $"{builder.Resource.Name}_{endpointName}_{path}_200_check";
        builder.ApplicationBuilder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            key,
            services => new StartingHttpHealthCheck(
                () => new Uri(new Uri(endpoint.Url), path),
                services.GetRequiredService<IHttpClientFactory>().CreateClient(key)),
            failureStatus: null,
            tags: null));
        return builder.WithHealthCheck(key);
    }
}
