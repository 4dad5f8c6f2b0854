using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace GptAspire.Deployment.Tests;

/// <summary>
/// The API's image as the .NET SDK builds it for <c>azd</c> (see <see cref="ApiImageFixture"/>), and the
/// container settings the SDK computes for the real base image without pulling it.
/// </summary>
public class ApiImageTests(ApiImageFixture image) : IClassFixture<ApiImageFixture>
{
    [Fact]
    public void It_is_named_gptaspire_api()
    {
        Assert.NotNull(image.ImageName);
        Assert.EndsWith("/gptaspire-api:latest", image.ImageName, StringComparison.Ordinal);
    }

    [Fact]
    public void It_runs_the_api_with_dotnet_from_app()
    {
        Assert.Equal(["dotnet", "/app/GptAspire.Api.dll"], image.Config["Entrypoint"]!.AsArray().Select(e => (string)e!));
        Assert.Equal("/app/", (string?)image.Config["WorkingDir"]);
        Assert.Contains("app/GptAspire.Api.dll", image.AppFiles.Keys);
    }

    // The user and the port come from the base image (the stand-in carries the official image's APP_UID and
    // ASPNETCORE_HTTP_PORTS): what these tests check is that the project's build and its settings change neither.
    [Fact]
    public void The_build_adds_no_user_port_or_url_of_its_own_so_the_base_images_non_root_user_and_8080_apply()
    {
        var added = Env().Except(FakeRegistry.BaseEnvironment).ToList();
        Assert.DoesNotContain(added, e => e.StartsWith("APP_UID=", StringComparison.Ordinal) || e.StartsWith("ASPNETCORE_", StringComparison.Ordinal)
            || e.StartsWith("DOTNET_URLS=", StringComparison.Ordinal) || e.StartsWith("URLS=", StringComparison.Ordinal));
        Assert.Equal("1654", (string?)image.Config["User"]);
        Assert.Equal(["8080/tcp"], image.Config["ExposedPorts"]!.AsObject().Select(p => p.Key));

        // Nor do the settings it ships move Kestrel off the port azd routes to.
        foreach (var settings in image.AppFiles.Where(f => f.Key.StartsWith("app/appsettings", StringComparison.Ordinal)))
        {
            var json = JsonNode.Parse(settings.Value)!.AsObject();
            Assert.DoesNotContain(json, p => p.Key is "Kestrel" or "urls" or "Urls" or "http_ports" or "HTTP_PORTS");
        }
    }

    [Fact]
    public void It_carries_no_secret_and_no_connection_string()
    {
        Assert.DoesNotContain(Env(), e => e.Contains("ConnectionStrings", StringComparison.OrdinalIgnoreCase) || e.Contains("Key=", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(image.AppFiles.Keys, f => f.Contains("secrets", StringComparison.OrdinalIgnoreCase));
        foreach (var settings in image.AppFiles.Where(f => f.Key.EndsWith(".json", StringComparison.Ordinal) && f.Key.Contains("appsettings", StringComparison.Ordinal)))
        {
            var json = JsonNode.Parse(settings.Value)!;
            Assert.Null(json["ConnectionStrings"]);
            Assert.DoesNotContain("Key=", Encoding.UTF8.GetString(settings.Value), StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void Its_heartbeat_is_well_inside_the_Container_Apps_idle_timeout()
    {
        // Azure Container Apps' ingress (Envoy) closes a request that sends nothing for 240 s; the API's
        // `: ping` comments keep a slow stream (a long first token, a quiet model) open.
        var settings = JsonNode.Parse(image.AppFiles["app/appsettings.json"])!;
        var heartbeat = TimeSpan.Parse((string)settings["Chat"]!["Streams"]!["HeartbeatInterval"]!, CultureInfo.InvariantCulture);

        Assert.InRange(heartbeat, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(120));
        Assert.True(heartbeat < TimeSpan.FromSeconds(240));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_SDK_picks_the_official_ASP_NET_Core_10_runtime_image_and_no_other_settings()
    {
        // What `dotnet publish -r linux-x64 -t:PublishContainer` computes before it pulls anything: the real base
        // image, the repository, the entrypoint. No user or port is set, so the base image's non-root user and
        // port 8080 apply, as in the image above.
        var output = await ChildProcess.RunAsync("dotnet",
            [
                "msbuild", Repo.ApiProject, "-t:ComputeContainerConfig", $"-p:RuntimeIdentifier={FakeRegistry.RuntimeIdentifier}", "-nologo", "-nodeReuse:false",
                "-getProperty:ContainerBaseName", "-getProperty:ContainerBaseTag", "-getProperty:ContainerRepository",
                "-getProperty:ContainerUser", "-getProperty:ContainerWorkingDirectory", "-getItem:ContainerPort",
                "-getItem:ContainerAppCommand", "-getItem:ContainerEnvironmentVariables",
            ],
            Repo.Root, TimeSpan.FromMinutes(2));
        using var json = JsonDocument.Parse(output);
        var properties = json.RootElement.GetProperty("Properties");
        var items = json.RootElement.GetProperty("Items");

        Assert.Equal("dotnet/aspnet", properties.GetProperty("ContainerBaseName").GetString());
        Assert.Equal("10.0", properties.GetProperty("ContainerBaseTag").GetString());
        Assert.Equal("gptaspire-api", properties.GetProperty("ContainerRepository").GetString());
        Assert.Equal("", properties.GetProperty("ContainerUser").GetString());
        Assert.Equal("/app/", properties.GetProperty("ContainerWorkingDirectory").GetString());
        Assert.Empty(items.GetProperty("ContainerPort").EnumerateArray());
        Assert.Empty(items.GetProperty("ContainerEnvironmentVariables").EnumerateArray());
        Assert.Equal(["dotnet", "/app/GptAspire.Api.dll"],
            items.GetProperty("ContainerAppCommand").EnumerateArray().Select(i => i.GetProperty("Identity").GetString()));
    }

    private List<string> Env() => image.Config["Env"]!.AsArray().Select(e => (string)e!).ToList();
}
