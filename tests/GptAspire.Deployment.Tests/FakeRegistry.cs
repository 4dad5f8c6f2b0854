using System.Formats.Tar;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GptAspire.Deployment.Tests;

/// <summary>
/// A read-only OCI registry on localhost serving one image, <c>dotnet/aspnet:10.0</c>: a stand-in for the
/// official ASP.NET Core base image, which cannot be pulled here (no internet). Its config carries what the SDK
/// reads from the real image's config (<c>APP_UID=1654</c>, the non-root <c>app</c> user's id, and
/// <c>ASPNETCORE_HTTP_PORTS=8080</c>); its file system is one small layer instead of Debian and .NET.
/// </summary>
public sealed class FakeRegistry : IAsyncDisposable
{
    public const string Repository = "dotnet/aspnet";
    public const string Tag = "10.0";

    /// <summary>The official image's environment that the SDK derives the user and the port from.</summary>
    public static readonly string[] BaseEnvironment =
    [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "APP_UID=1654",
        "ASPNETCORE_HTTP_PORTS=8080",
        "DOTNET_RUNNING_IN_CONTAINER=true",
        "DOTNET_VERSION=10.0.0",
        "ASPNET_VERSION=10.0.0",
    ];

    private readonly WebApplication _app;
    private readonly Dictionary<string, (string MediaType, byte[] Content)> _blobs = [];
    private byte[] _manifest = [];

    private FakeRegistry(WebApplication app) => _app = app;

    /// <summary><c>localhost:port</c>.</summary>
    public string Host { get; private set; } = "";

    public string BaseImage => $"{Host}/{Repository}:{Tag}";

    /// <summary>The Go architecture name of this machine (amd64, arm64), which the image is built for.</summary>
    public static string Architecture => RuntimeInformation.OSArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.X64 => "amd64",
        System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
        var other => throw new PlatformNotSupportedException($"No .NET container image for {other}"),
    };

    /// <summary>The runtime identifier the API is published for (linux-x64 or linux-arm64).</summary>
    public static string RuntimeIdentifier => Architecture == "amd64" ? "linux-x64" : "linux-arm64";

    public static async Task<FakeRegistry> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var registry = new FakeRegistry(app);
        registry.BuildImage();
        app.MapMethods("/v2/", ["GET", "HEAD"], () => Results.Json(new { }));
        app.MapMethods("/v2/{**path}", ["GET", "HEAD"], (string path, HttpContext context) => registry.Serve(path, context));
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        registry.Host = $"localhost:{address.Port}";
        return registry;
    }

    private void BuildImage()
    {
        // One layer: /etc/passwd with the app user the real image creates (uid 1654).
        using var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "etc/") { Mode = (UnixFileMode)0b111_101_101 });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "etc/passwd")
            {
                Mode = (UnixFileMode)0b110_100_100,
                DataStream = new MemoryStream("root:x:0:0:root:/root:/bin/sh\napp:x:1654:1654::/home/app:/bin/sh\n"u8.ToArray()),
            });
        }

        var layer = tar.ToArray();
        using var gzipped = new MemoryStream();
        using (var gzip = new GZipStream(gzipped, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(layer);
        }

        var layerDigest = Add("application/vnd.oci.image.layer.v1.tar+gzip", gzipped.ToArray());
        var config = JsonSerializer.SerializeToUtf8Bytes(new
        {
            architecture = Architecture,
            os = "linux",
            config = new { Env = BaseEnvironment, WorkingDir = "/" },
            rootfs = new { type = "layers", diff_ids = new[] { Digest(layer) } },
            history = new[] { new { created = "2025-11-11T00:00:00Z", created_by = "stand-in for the ASP.NET Core runtime image" } },
        });
        var configDigest = Add("application/vnd.oci.image.config.v1+json", config);
        _manifest = JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            mediaType = "application/vnd.oci.image.manifest.v1+json",
            config = new { mediaType = "application/vnd.oci.image.config.v1+json", digest = configDigest, size = config.Length },
            layers = new[] { new { mediaType = "application/vnd.oci.image.layer.v1.tar+gzip", digest = layerDigest, size = gzipped.Length } },
        });
    }

    private string Add(string mediaType, byte[] content)
    {
        var digest = Digest(content);
        _blobs[digest] = (mediaType, content);
        return digest;
    }

    private static string Digest(byte[] content) => $"sha256:{Convert.ToHexStringLower(SHA256.HashData(content))}";

    private IResult Serve(string path, HttpContext context)
    {
        var manifestPath = $"{Repository}/manifests/";
        if (path == $"{manifestPath}{Tag}" || path == $"{manifestPath}{Digest(_manifest)}")
        {
            context.Response.Headers["Docker-Content-Digest"] = Digest(_manifest);
            return Results.Bytes(_manifest, "application/vnd.oci.image.manifest.v1+json");
        }

        var blobPath = $"{Repository}/blobs/";
        if (path.StartsWith(blobPath, StringComparison.Ordinal) && _blobs.TryGetValue(path[blobPath.Length..], out var blob))
        {
            context.Response.Headers["Docker-Content-Digest"] = path[blobPath.Length..];
            return Results.Bytes(blob.Content, blob.MediaType);
        }

        return Results.NotFound();
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
