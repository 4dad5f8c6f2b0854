using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GptAspire.Hosting;

/// <summary>
/// A local <c>redis-server</c> run as an executable (no container engine needed), without persistence, with
/// the connection string of Aspire's Redis resource (<c>host:port</c>).
/// </summary>
public sealed class RedisServerResource(string name, string workingDirectory)
    : ExecutableResource(name, RedisServerHostingExtensions.Command, workingDirectory), IResourceWithConnectionString, IResourceWithWaitSupport
{
    /// <summary>The endpoint clients connect to.</summary>
    public EndpointReference PrimaryEndpoint => new(this, "tcp");

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"{PrimaryEndpoint.Property(EndpointProperty.HostAndPort)}");
}

/// <summary>Adds a Redis server that runs locally without Docker and deploys as Aspire's Redis container.</summary>
public static class RedisServerHostingExtensions
{
    /// <summary>The server's executable, looked up on the <c>PATH</c>.</summary>
    public const string Command = "redis-server";

    /// <summary>What to do when <see cref="Command"/> is not installed, in one line.</summary>
    public const string InstallHint =
        "redis-server is not installed, and Api:Replicas > 1 needs it: install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) or set Api:Replicas to 1.";

    /// <summary>
    /// Adds Redis as resource <paramref name="name"/>. In publish mode it is Aspire.Hosting.Redis's
    /// <c>AddRedis</c> (a container that azd deploys). In run mode it is <c>redis-server</c> from the
    /// <c>PATH</c>, on a port the AppHost allocates, keeping nothing on disk; when it is not installed, the
    /// AppHost says how to install it. Stands in for <c>AddRedis</c> locally, where no container engine may run;
    /// named apart from it.
    /// </summary>
    public static IResourceBuilder<IResourceWithConnectionString> AddRedisServer(this IDistributedApplicationBuilder builder, string name)
    {
        if (builder.ExecutionContext.IsPublishMode)
        {
            return builder.AddRedis(name);
        }

        var redis = new RedisServerResource(name, builder.AppHostDirectory);
        if (!IsInstalled())
        {
            builder.Eventing.Subscribe<BeforeStartEvent>((e, _) =>
            {
                e.Services.GetRequiredService<ILoggerFactory>().CreateLogger(ResourceReadyLogExtensions.LoggerCategory).LogError(InstallHint);
                return Task.CompletedTask;
            });
        }

        return builder.AddResource(redis)
            .WithEndpoint(name: "tcp", scheme: "tcp")
            .WithArgs(context =>
            {
                context.Args.Add("--port");
                context.Args.Add(redis.PrimaryEndpoint.Property(EndpointProperty.TargetPort));
                // Only this machine may connect (over IPv6 too, where it has it: the leading '-' makes ::1 optional),
                // and nothing is written to disk: the streams are short-lived.
                context.Args.Add("--bind");
                context.Args.Add("127.0.0.1");
                context.Args.Add("-::1");
                context.Args.Add("--save");
                context.Args.Add("");
                context.Args.Add("--appendonly");
                context.Args.Add("no");
            })
            .ExcludeFromManifest();
    }

    /// <summary>Whether <see cref="Command"/> is on the <c>PATH</c>.</summary>
    public static bool IsInstalled() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(directory => File.Exists(Path.Combine(directory, Command)));
}
