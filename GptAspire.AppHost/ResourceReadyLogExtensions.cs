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
    /// Once the resource and every one of <paramref name="alsoReady"/> are ready (running, and healthy if they have
    /// health checks), writes <c>{label}: {url of the endpoint}</c> to the AppHost's console, once: the dashboard's
    /// login link comes first and the app is not ready yet then. Run mode only.
    /// </summary>
    public static IResourceBuilder<T> LogUrlWhenReady<T>(this IResourceBuilder<T> builder, string label, params IResource[] alsoReady)
        where T : IResourceWithEndpoints
    {
        if (!builder.ApplicationBuilder.ExecutionContext.IsRunMode)
        {
            return builder;
        }

        return builder.OnResourceReady(async (resource, ready, cancellationToken) =>
        {
            var notifications = ready.Services.GetRequiredService<ResourceNotificationService>();
            foreach (var other in alsoReady)
            {
                await notifications.WaitForResourceHealthyAsync(other.Name, cancellationToken);
            }

            ready.Services.GetRequiredService<ILoggerFactory>().CreateLogger(LoggerCategory)
                .LogInformation("{Label}: {Url}", label, resource.GetEndpoint("http").Url);
        });
    }
}
