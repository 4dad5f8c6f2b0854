using Aspire.Hosting.ApplicationModel;

namespace GptAspire.Hosting;

/// <summary>A Node server app: <c>node [--import module]... script</c> in the app's directory.</summary>
public sealed class NodeServerAppResource(string name, string workingDirectory, string scriptPath)
    : ExecutableResource(name, "node", workingDirectory), IResourceWithServiceDiscovery, IResourceWithWaitSupport
{
    /// <summary>The script that node runs, relative to the app's directory.</summary>
    public string ScriptPath { get; } = scriptPath;
}

/// <summary>A module that node loads with <c>--import</c> before the app's script.</summary>
public sealed record NodeImportAnnotation(string Module) : IResourceAnnotation;

/// <summary>
/// A small stand-in for Aspire.Hosting.JavaScript's <c>AddNodeApp(...).WithNpm(...)</c>, which is not available
/// here. The names differ on purpose, so that the real package can be added beside these and the call in
/// AppHost.cs switched to it alone; the shape is the same.
/// </summary>
public static class NodeAppHostingExtensions
{
    /// <summary>The port the app's container image listens on (its Dockerfile's <c>PORT</c> and <c>EXPOSE</c>).</summary>
    public const int ContainerPort = 8080;

    /// <summary>
    /// Adds the Node server in <paramref name="appDirectory"/> that runs <paramref name="scriptPath"/>, with the
    /// OTLP settings of the dashboard and <c>NODE_ENV</c> set (<c>development</c> locally). Stands in for
    /// Aspire.Hosting.JavaScript's <c>AddNodeApp</c>. In publish mode, call <c>PublishAsDockerFile()</c>: the
    /// directory's Dockerfile builds it.
    /// </summary>
    public static IResourceBuilder<NodeServerAppResource> AddNodeServerApp(
        this IDistributedApplicationBuilder builder, string name, string appDirectory, string scriptPath)
    {
        var workingDirectory = Path.GetFullPath(appDirectory, builder.AppHostDirectory);
        var resource = new NodeServerAppResource(name, workingDirectory, scriptPath);
        var app = builder.AddResource(resource)
            .WithArgs(context =>
            {
                foreach (var import in resource.Annotations.OfType<NodeImportAnnotation>())
                {
                    context.Args.Add("--import");
                    context.Args.Add(import.Module);
                }

                context.Args.Add(resource.ScriptPath);
            })
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

    /// <summary>
    /// Loads <paramref name="module"/> (relative to the app's directory) with <c>node --import</c> before the
    /// script, so that it runs before anything else: OpenTelemetry's instrumentation must, to patch the
    /// modules the app imports.
    /// </summary>
    public static IResourceBuilder<NodeServerAppResource> WithNodeImport(this IResourceBuilder<NodeServerAppResource> builder, string module) =>
        builder.WithAnnotation(new NodeImportAnnotation(module));

    /// <summary>
    /// Installs the app's npm packages before it starts, with <c>npm {installCommand}</c> as a resource of its
    /// own (<c>{name}-install</c>) that the app waits for. When <c>node_modules</c> is already newer than
    /// <c>package.json</c> and <c>package-lock.json</c>, the step only says so and the app does not wait for it,
    /// which keeps restarts fast.
    /// Stands in for Aspire.Hosting.JavaScript's <c>WithNpm(installCommand: ...)</c>. Nothing is published.
    /// </summary>
    public static IResourceBuilder<NodeServerAppResource> WithNpmInstall(this IResourceBuilder<NodeServerAppResource> builder, string installCommand = "install")
    {
        if (!builder.ApplicationBuilder.ExecutionContext.IsRunMode)
        {
            return builder;
        }

        var directory = builder.Resource.WorkingDirectory;
        var current = NodeModulesAreCurrent(directory);
        var installer = (current
                ? builder.ApplicationBuilder.AddExecutable($"{builder.Resource.Name}-install", "node", directory,
                    "-e", "console.log('node_modules is up to date with package-lock.json')")
                : builder.ApplicationBuilder.AddExecutable($"{builder.Resource.Name}-install", "npm", directory,
                    installCommand, "--no-audit", "--no-fund"))
            .WithParentRelationship(builder.Resource).ExcludeFromManifest();
        return current ? builder : builder.WaitForCompletion(installer);
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
