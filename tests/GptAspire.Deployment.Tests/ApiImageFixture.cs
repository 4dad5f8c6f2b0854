using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace GptAspire.Deployment.Tests;

/// <summary>
/// The API's container image, made the way azd makes it (<c>dotnet publish -r linux-x64 /t:PublishContainer</c>),
/// written to an image archive instead of a registry or a Docker daemon. The base image comes from
/// <see cref="FakeRegistry"/>; everything the SDK adds (the app layer, entrypoint, user, ports, labels) is real.
/// The build goes to its own artifacts folder, so it never touches the repository's bin/ and obj/.
/// </summary>
public sealed class ApiImageFixture : IAsyncLifetime
{
    private readonly TempDirectory _directory = new("gptaspire-api-image");

    /// <summary>The image config's <c>config</c> object (Entrypoint, User, ExposedPorts, Env, WorkingDir, Labels).</summary>
    public JsonObject Config { get; private set; } = null!;

    /// <summary>The files of the layers the SDK added on top of the base image, by path.</summary>
    public Dictionary<string, byte[]> AppFiles { get; } = new(StringComparer.Ordinal);

    public string PublishOutput { get; private set; } = "";

    /// <summary>The image's name in the archive's index (repository:tag).</summary>
    public string? ImageName { get; private set; }

    public async ValueTask InitializeAsync()
    {
        await using var registry = await FakeRegistry.StartAsync();
        var archive = _directory.File("gptaspire-api.tar.gz");
        PublishOutput = await ChildProcess.RunAsync("dotnet",
            [
                "publish", Repo.ApiProject, "-t:PublishContainer", "-c", "Release", "-r", FakeRegistry.RuntimeIdentifier,
                "--artifacts-path", _directory.File("artifacts"), "--nologo", "-v", "q",
                // No compiler server or MSBuild nodes left running after the test.
                "--disable-build-servers",
                $"-p:ContainerBaseImage={registry.BaseImage}",
                $"-p:ContainerArchiveOutputPath={archive}",
            ],
            Repo.Root,
            TimeSpan.FromMinutes(8),
            new Dictionary<string, string?> { ["DOTNET_CONTAINER_INSECURE_REGISTRIES"] = registry.Host });
        Read(archive);
    }

    /// <summary>The archive is an OCI image layout: index.json → manifest → config and layers, all in blobs/.</summary>
    private void Read(string archive)
    {
        var entries = ReadTar(File.OpenRead(archive));
        Assert.True(entries.ContainsKey("oci-layout") && entries.ContainsKey("index.json"), $"Not an OCI image layout: {string.Join(", ", entries.Keys)}");
        JsonNode Blob(JsonNode descriptor) => JsonNode.Parse(entries[BlobPath(descriptor)])!;
        static string BlobPath(JsonNode descriptor) => "blobs/" + ((string)descriptor["digest"]!).Replace(':', '/');

        var descriptor = JsonNode.Parse(entries["index.json"])!["manifests"]!.AsArray().Single()!;
        ImageName = (string?)descriptor["annotations"]?["io.containerd.image.name"] ?? (string?)descriptor["annotations"]?["org.opencontainers.image.ref.name"];
        var manifest = Blob(descriptor);
        Config = Blob(manifest["config"]!)["config"]!.AsObject();

        // The base image's layer is first; every later one is the SDK's.
        foreach (var layer in manifest["layers"]!.AsArray().Skip(1))
        {
            foreach (var (path, content) in ReadTar(new MemoryStream(entries[BlobPath(layer!)])))
            {
                AppFiles[path.TrimStart('.', '/')] = content;
            }
        }
    }

    private static Dictionary<string, byte[]> ReadTar(Stream stream)
    {
        using var input = stream;
        var all = new MemoryStream();
        input.CopyTo(all);
        var gzip = all.Length > 2 && all.GetBuffer()[0] == 0x1f && all.GetBuffer()[1] == 0x8b;
        all.Position = 0;
        using var tarStream = gzip ? (Stream)new GZipStream(all, CompressionMode.Decompress) : all;
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        using var reader = new TarReader(tarStream);
        while (reader.GetNextEntry() is { } entry)
        {
            if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile && entry.DataStream is not null)
            {
                using var content = new MemoryStream();
                entry.DataStream.CopyTo(content);
                files[entry.Name] = content.ToArray();
            }
        }

        return files;
    }

    public ValueTask DisposeAsync()
    {
        _directory.Dispose();
        return ValueTask.CompletedTask;
    }
}
