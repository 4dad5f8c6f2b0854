using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GptAspire.Hosting;

/// <summary>Tells the person who ran the AppHost where to go, in its console.</summary>
public static class ResourceReadyLogExtensions
{
    /// <summary>The category of the AppHost's own console lines.</summary>
    public const string LoggerCategory = "GptAspire.AppHost";

    /// <summary>
    /// Once the resource is ready (running, and healthy if it has health checks), writes
    /// <c>{label}: {url of the endpoint}</c> to the AppHost's console, once: the dashboard's login link comes
    /// first and the app is not ready yet then. Run mode only.
    /// </summary>
    public static IResourceBuilder<T> LogUrlWhenReady<T>(this IResourceBuilder<T> builder, string label, string endpointName = "http")
        where T : IResourceWithEndpoints
    {
        if (!builder.ApplicationBuilder.ExecutionContext.IsRunMode)
        {
            return builder;
        }

        return builder.OnResourceReady((resource, ready, _) =>
        {
            ready.Services.GetRequiredService<ILoggerFactory>().CreateLogger(LoggerCategory)
                .LogInformation("{Label}: {Url}", label, resource.GetEndpoint(endpointName).Url);
            return Task.CompletedTask;
        });
    }
}
