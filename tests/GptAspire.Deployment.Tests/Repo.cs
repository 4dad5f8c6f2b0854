using System.Reflection;

namespace GptAspire.Deployment.Tests;

/// <summary>Where things are: the repository, found from the AppHost project these tests reference.</summary>
internal static class Repo
{
    /// <summary>The repository root: the parent of the AppHost project's folder.</summary>
    public static string Root { get; } = FindRoot();

    public static string AppHostDirectory => Path.Combine(Root, "GptAspire.AppHost");
    public static string ApiProject => Path.Combine(Root, "GptAspire.Api", "GptAspire.Api.csproj");
    public static string WebDirectory => Path.Combine(Root, "GptAspire.Web");

    /// <summary>
    /// The AppHost in its own output folder, built with these tests (same configuration and target framework:
    /// bin/Debug/net10.0 or bin/Release/net10.0), where its dependencies and runtime configuration are.
    /// </summary>
    public static string AppHostDll
    {
        get
        {
            var configuration = typeof(Repo).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
            var targetFramework = Path.GetFileName(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory));
            var dll = Path.Combine(AppHostDirectory, "bin", configuration, targetFramework, "GptAspire.AppHost.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException($"The AppHost is not built for {configuration}/{targetFramework}.", dll);
        }
    }

    private static string FindRoot()
    {
        // ProjectPath is the AppHost's folder (or, in some Aspire versions, its .csproj).
        var appHost = Projects.GptAspire_AppHost.ProjectPath;
        var directory = File.Exists(appHost) ? Path.GetDirectoryName(appHost)! : appHost;
        return Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(directory))!;
    }

    public static string ReadText(params string[] relativePath) => File.ReadAllText(Path.Combine([Root, .. relativePath]));
}
