using Aspire.Hosting.ApplicationModel;

namespace Aspire.Hosting;

/// <summary>A Vite app served by its own Node server (Vite middleware in development, built files in production).</summary>
public sealed class ViteAppResource(string name, string workingDirectory)
    : ExecutableResource(name, "node", workingDirectory), IResourceWithServiceDiscovery, IResourceWithWaitSupport;

/// <summary>
/// A small stand-in for Aspire.Hosting.JavaScript's <c>AddViteApp(...).WithNpm(...)</c>, which is not
/// available here. It has the same shape, so that the real package can replace it without touching AppHost.cs.
/// </summary>
public static class JavaScriptHostingExtensions
{
    /// <summary>
    /// Adds the Node app in <paramref name="appDirectory"/>, started as
    /// <c>node --import ./server/instrumentation.mjs server/index.mjs</c> so that OpenTelemetry loads before
    /// anything else. It gets the OTLP settings of the dashboard. In publish mode, call
    /// <c>PublishAsDockerFile()</c>: the directory's Dockerfile builds it.
    /// </summary>
    public static IResourceBuilder<ViteAppResource> AddViteApp(this IDistributedApplicationBuilder builder, string name, string appDirectory)
    {
        var workingDirectory = Path.GetFullPath(appDirectory, builder.AppHostDirectory);
        var app = builder.AddResource(new ViteAppResource(name, workingDirectory))
            .WithArgs("--import", "./server/instrumentation.mjs", "server/index.mjs")
            .WithEnvironment("NODE_ENV", builder.ExecutionContext.IsRunMode ? "development" : "production")
            .WithOtlpExporter();

        if (builder.ExecutionContext.IsPublishMode)
        {
            // Deployed, the app is the image built from its Dockerfile, which listens on PORT=8080 (EXPOSE 8080),
            // behind the platform's ingress on 80/443: the fixed local port (5173) means nothing there, and azd
            // refuses an http binding with a port other than 80. The endpoints are added after this call, so
            // they are settled once the model is complete.
            builder.Eventing.Subscribe<BeforeStartEvent>((_, _) =>
            {
                foreach (var endpoint in app.Resource.Annotations.OfType<EndpointAnnotation>().Where(e => e.UriScheme is "http" or "https"))
                {
                    endpoint.TargetPort ??= ContainerPort;
                    endpoint.Port = null;
                }

                return Task.CompletedTask;
            });
        }

        return app;
    }

    /// <summary>The port the app's container image listens on (its Dockerfile's <c>PORT</c> and <c>EXPOSE</c>).</summary>
    public const int ContainerPort = 8080;

    /// <summary>
    /// Installs the app's npm packages before it starts, with <c>npm {installCommand}</c> as a resource of its
    /// own (<c>{name}-install</c>) that the app waits for. When <c>node_modules</c> is already newer than
    /// <c>package.json</c> and <c>package-lock.json</c>, the step only says so, which keeps restarts fast.
    /// </summary>
    public static IResourceBuilder<ViteAppResource> WithNpm(this IResourceBuilder<ViteAppResource> builder, string installCommand = "install")
    {
        if (!builder.ApplicationBuilder.ExecutionContext.IsRunMode)
        {
            return builder;
        }

        var directory = builder.Resource.WorkingDirectory;
        var installer = NodeModulesAreCurrent(directory)
            ? builder.ApplicationBuilder.AddExecutable($"{builder.Resource.Name}-install", "node", directory,
                "-e", "console.log('node_modules is up to date with package-lock.json')")
            : builder.ApplicationBuilder.AddExecutable($"{builder.Resource.Name}-install", "npm", directory,
                installCommand, "--no-audit", "--no-fund");

        installer.WithParentRelationship(builder.Resource).ExcludeFromManifest();
        return builder.WaitForCompletion(installer);
    }

    // npm writes node_modules/.package-lock.json at the end of every install.
    private static bool NodeModulesAreCurrent(string directory)
    {
        var installed = new FileInfo(Path.Combine(directory, "node_modules", ".package-lock.json"));
        return installed.Exists
            && installed.LastWriteTimeUtc >= File.GetLastWriteTimeUtc(Path.Combine(directory, "package-lock.json"))
            && installed.LastWriteTimeUtc >= File.GetLastWriteTimeUtc(Path.Combine(directory, "package.json"));
    }
}
