using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Eventing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
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

        var name = builder.Resource.Name;
        builder.ApplicationBuilder.Eventing.Subscribe<AfterResourcesCreatedEvent>((created, cancellationToken) =>
        {
            var logger = created.Services.GetRequiredService<ILoggerFactory>().CreateLogger(LoggerCategory);
            var stopping = created.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            _ = SayWhenItStopsAsync(created.Services.GetRequiredService<ResourceNotificationService>(), name, label, logger, stopping);
            return Task.CompletedTask;
        });

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

    /// <summary>
    /// The console line for a resource that has stopped: without it, someone waiting for <c>{label}:</c> would wait
    /// in silence while the dashboard shows the resource <c>Finished</c> or <c>Exited</c>. Null while it runs, and
    /// for a clean exit (code 0).
    /// </summary>
    public static string? StoppedLine(string label, string name, CustomResourceSnapshot snapshot) =>
        snapshot.State?.Text is { } state && KnownResourceStates.TerminalStates.Contains(state) && snapshot.ExitCode is not 0
            ? $"{label} not available: {name} stopped ({state}{(snapshot.ExitCode is { } code ? $", exit code {code}" : "")}); its console logs are in the dashboard, and it can be started again there"
            : null;

    private static async Task SayWhenItStopsAsync(ResourceNotificationService notifications, string name, string label, ILogger logger, CancellationToken stopping)
    {
        string? said = null;
        try
        {
            await foreach (var update in notifications.WatchAsync(stopping))
            {
                if (update.Resource.Name != name || stopping.IsCancellationRequested)
                {
                    continue;
                }

                var line = StoppedLine(label, name, update.Snapshot);
                if (line is not null && line != said)
                {
                    logger.LogError("{Line}", line);
                }

                said = line;
            }
        }
        catch (OperationCanceledException)
        {
            // The AppHost stops: every resource stops with it, which is not news.
        }
    }
}
