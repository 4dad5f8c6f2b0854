using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace GptAspire.Deployment.Tests;

/// <summary>The README's "Deploy to Azure" section says what the manifest, the images and the settings do.</summary>
public class ReadmeTests(ManifestFixture manifest) : IClassFixture<ManifestFixture>
{
    private static string Section()
    {
        var readme = Repo.ReadText("README.md");
        var match = Regex.Match(readme, @"(?ms)^## Deploy to Azure$(?<body>.*?)(?=^## )");
        Assert.True(match.Success, "README.md has no '## Deploy to Azure' section");
        return match.Groups["body"].Value;
    }

    [Fact]
    public void It_gives_the_commands_to_sign_in_deploy_and_tear_down()
    {
        var section = Section();

        Assert.Contains("azd auth login", section, StringComparison.Ordinal);
        Assert.Contains("azd up", section, StringComparison.Ordinal);
        Assert.Contains("azd down --purge", section, StringComparison.Ordinal);
        Assert.Contains("Cognitive Services OpenAI User", section, StringComparison.Ordinal);
    }

    [Fact]
    public void It_names_every_published_resource_and_the_secret_parameter()
    {
        var section = Section();

        foreach (var (name, resource) in manifest.Resources)
        {
            Assert.Contains($"| `{name}` |", section, StringComparison.Ordinal);
            if ((string?)resource!["type"] == "parameter.v0" && resource["inputs"]?["value"]?["secret"] is JsonNode secret && (bool)secret)
            {
                Assert.Contains($"infra.parameters.{name}", section, StringComparison.Ordinal);
            }
        }

        Assert.Contains("| `web-install` |", section, StringComparison.Ordinal);
        Assert.Contains("not deployed", section, StringComparison.Ordinal);
    }

    [Fact]
    public void Its_ports_and_heartbeat_match_the_Dockerfile_and_the_api_settings()
    {
        var section = Section();
        var exposed = DockerfileTests.FinalStage().Single(i => i.Keyword == "EXPOSE").Arguments;
        var settings = JsonNode.Parse(Repo.ReadText("GptAspire.Api", "appsettings.json"))!;
        var heartbeat = TimeSpan.Parse((string)settings["Chat"]!["Streams"]!["HeartbeatInterval"]!, CultureInfo.InvariantCulture);

        Assert.Contains($"`web` (external HTTPS, port {exposed})", section, StringComparison.Ordinal);
        Assert.Contains("`api` (internal, port 8080)", section, StringComparison.Ordinal);
        Assert.Contains($"heartbeat after {heartbeat.TotalSeconds:0} s of silence", section, StringComparison.Ordinal);
        Assert.Contains("idle timeout (240 s)", section, StringComparison.Ordinal);
    }
}
