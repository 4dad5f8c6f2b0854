using System.Text.RegularExpressions;

namespace GptAspire.Deployment.Tests;

/// <summary>
/// <c>azure.yaml</c>, what <c>azd</c> reads first: one service, the Aspire AppHost, hosted on Azure Container
/// Apps. azd then asks the AppHost for its manifest and deploys the services in it.
/// </summary>
public partial class AzureYamlTests
{
    /// <summary>
    /// The file as nested keys (<c>services.app.host</c> → <c>containerapp</c>): enough for azure.yaml's
    /// plain mappings, and it fails on anything it does not understand rather than guess.
    /// </summary>
    private static Dictionary<string, string> Read()
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var path = new List<(int Indent, string Key)>();
        foreach (var raw in Repo.ReadText("azure.yaml").Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Trim().Length == 0 || line.TrimStart().StartsWith('#'))
            {
                continue;
            }

            Assert.DoesNotContain('\t', line);
            var match = KeyValue().Match(line);
            Assert.True(match.Success, $"Not a plain 'key: value' line: '{line}'");
            var indent = match.Groups["indent"].Length;
            path.RemoveAll(p => p.Indent >= indent);
            path.Add((indent, match.Groups["key"].Value));
            var value = match.Groups["value"].Value.Trim();
            if (value.Length > 0)
            {
                Assert.True(values.TryAdd(string.Join('.', path.Select(p => p.Key)), value.Trim('"', '\'')), $"Duplicate key at '{line}'");
            }
        }

        return values;
    }

    [Fact]
    public void It_has_a_name_and_one_service_the_AppHost_on_Container_Apps()
    {
        var yaml = Read();

        Assert.Matches("^[a-z][a-z0-9-]*$", yaml["name"]);
        var service = Assert.Single(yaml.Keys.Where(k => k.StartsWith("services.", StringComparison.Ordinal))
            .Select(k => k.Split('.')[1]).Distinct());
        Assert.Equal("dotnet", yaml[$"services.{service}.language"]);
        Assert.Equal("containerapp", yaml[$"services.{service}.host"]);
        Assert.Equal("./GptAspire.AppHost/GptAspire.AppHost.csproj", yaml[$"services.{service}.project"]);
    }

    [Fact]
    public void Its_project_is_the_Aspire_AppHost()
    {
        var project = Read().Single(p => p.Key.EndsWith(".project", StringComparison.Ordinal)).Value;
        var file = Path.GetFullPath(project, Repo.Root);

        Assert.True(File.Exists(file), $"{project} does not exist");
        Assert.Equal(Path.Combine(Repo.AppHostDirectory, "GptAspire.AppHost.csproj"), file);
        // azd recognises an AppHost by its SDK.
        Assert.Matches("""<Project Sdk="Aspire\.AppHost\.Sdk/""", File.ReadAllText(file));
    }

    [GeneratedRegex(@"^(?<indent> *)(?<key>[A-Za-z0-9_-]+):(?: +(?<value>[^#]*))?$")]
    private static partial Regex KeyValue();
}
