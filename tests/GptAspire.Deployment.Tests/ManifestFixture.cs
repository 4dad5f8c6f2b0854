using System.Text.Json.Nodes;

namespace GptAspire.Deployment.Tests;

/// <summary>
/// The deployment manifest, written by the real AppHost with its manifest publisher: what <c>azd</c> reads
/// to decide what to provision and deploy. <c>azd</c> runs <c>dotnet run --project GptAspire.AppHost --
/// --publisher manifest --output-path ...</c>; this runs the AppHost built for the tests (whatever the
/// configuration) with the same arguments and the launch profile's environment.
/// </summary>
public class ManifestFixture : IAsyncLifetime
{
    private readonly int _apiReplicas;

    public ManifestFixture()
        : this(apiReplicas: 1)
    {
    }

    /// <summary>The manifest of the AppHost run with <c>Api:Replicas</c> set to <paramref name="apiReplicas"/>.</summary>
    protected ManifestFixture(int apiReplicas) => _apiReplicas = apiReplicas;

    /// <summary>
    /// A connection string that looks real, configured the way a developer's user secrets or environment
    /// would: it must never reach the manifest.
    /// </summary>
    public const string ConfiguredSecret = "Endpoint=https://example.openai.azure.com/;Key=sentinel-0f8c2b7e9d4a;Deployment=gpt-4o-mini";

    private readonly TempDirectory _directory = new("gptaspire-manifest");

    public string ManifestPath => _directory.File("manifest.json");

    public string ManifestDirectory => _directory.Path;

    public string Text { get; private set; } = "";

    public JsonObject Resources { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Text = await PublishAsync(ManifestPath, new Dictionary<string, string?>
        {
            ["DOTNET_ENVIRONMENT"] = "Development",
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["ConnectionStrings__openai"] = ConfiguredSecret,
            ["Api__Replicas"] = _apiReplicas.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        Resources = JsonNode.Parse(Text)!["resources"]!.AsObject();
    }

    /// <summary>Runs the AppHost's manifest publisher and returns the manifest's text.</summary>
    public static async Task<string> PublishAsync(string manifestPath, IReadOnlyDictionary<string, string?> environment)
    {
        var output = await ChildProcess.RunAsync("dotnet",
            [Repo.AppHostDll, "--publisher", "manifest", "--output-path", manifestPath],
            Repo.AppHostDirectory,
            TimeSpan.FromMinutes(2),
            environment);

        Assert.True(File.Exists(manifestPath), $"No manifest was written:\n{output}");
        return await File.ReadAllTextAsync(manifestPath);
    }

    public JsonObject Resource(string name) =>
        Resources[name]?.AsObject() ?? throw new Xunit.Sdk.XunitException($"No resource '{name}' in the manifest:\n{Text}");

    /// <summary>A path in the manifest, which is relative to the manifest's own folder, made absolute.</summary>
    public string FullPath(string manifestPath) => Path.GetFullPath(manifestPath, ManifestDirectory);

    public ValueTask DisposeAsync()
    {
        _directory.Dispose();
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}

/// <summary>The deployment manifest of <c>Api:Replicas=2</c>: the API with the Redis its replicas share.</summary>
public sealed class ReplicasManifestFixture() : ManifestFixture(apiReplicas: 2);
