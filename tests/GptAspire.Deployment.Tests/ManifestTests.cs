using System.Text.Json.Nodes;

namespace GptAspire.Deployment.Tests;

/// <summary>
/// Publish mode, as <c>azd up</c> sees it: <c>api</c> and <c>web</c> are the deployed services, <c>web</c>
/// the only external one; <c>openai</c> is a secret the deployer is asked for; the emulator and the npm
/// install step exist only when running locally.
/// </summary>
public class ManifestTests(ManifestFixture manifest) : IClassFixture<ManifestFixture>
{
    [Fact]
    public void Api_and_web_are_the_only_deployed_services()
    {
        var services = manifest.Resources
            .Where(r => Type(r.Value!) is not "parameter.v0" and not "value.v0")
            .Select(r => r.Key)
            .Order();

        Assert.Equal(["api", "web"], services);
    }

    [Fact]
    public void Neither_the_emulator_nor_the_npm_install_step_is_published()
    {
        Assert.All(manifest.Resources.Select(r => r.Key), name =>
        {
            Assert.DoesNotContain("emulator", name, StringComparison.OrdinalIgnoreCase);
            Assert.False(name.EndsWith("-install", StringComparison.Ordinal), $"'{name}' is a local install step");
        });
        Assert.DoesNotContain("OpenAIEmulator", manifest.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("Emulator__", manifest.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Api_is_the_api_project()
    {
        var api = manifest.Resource("api");

        Assert.Contains(Type(api), new[] { "project.v0", "project.v1" });
        Assert.Equal(Repo.ApiProject, manifest.FullPath((string)api["path"]!));
    }

    [Fact]
    public void Web_is_built_from_the_web_apps_Dockerfile()
    {
        var web = manifest.Resource("web");

        Assert.Equal("container.v1", Type(web));
        var build = web["build"]!.AsObject();
        Assert.Equal(Repo.WebDirectory, manifest.FullPath((string)build["context"]!));
        Assert.Equal(Path.Combine(Repo.WebDirectory, "Dockerfile"), manifest.FullPath((string)build["dockerfile"]!));
        Assert.True(File.Exists(manifest.FullPath((string)build["dockerfile"]!)));
        Assert.Null(web["image"]);
    }

    [Fact]
    public void Openai_is_a_secret_connection_string_parameter_with_no_default()
    {
        var openai = manifest.Resource("openai");

        Assert.Equal("parameter.v0", Type(openai));
        Assert.Equal("{openai.value}", (string?)openai["connectionString"]);
        Assert.Equal("{openai.inputs.value}", (string?)openai["value"]);
        var input = openai["inputs"]!["value"]!.AsObject();
        Assert.True((bool)input["secret"]!);
        Assert.Null(input["default"]);
    }

    [Fact]
    public void No_secret_value_is_written_anywhere()
    {
        // The AppHost ran with a real-looking connection string configured, as on a developer's machine.
        Assert.DoesNotContain("sentinel-0f8c2b7e9d4a", manifest.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("example.openai.azure.com", manifest.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("Key=", manifest.Text, StringComparison.OrdinalIgnoreCase);

        // Every secret input is asked for at deployment, never defaulted or generated here.
        var secretInputs = manifest.Resources
            .SelectMany(r => r.Value!["inputs"]?.AsObject() ?? [])
            .Where(i => (bool?)i.Value!["secret"] == true)
            .ToList();
        Assert.NotEmpty(secretInputs);
        Assert.All(secretInputs, i => Assert.Null(i.Value!["default"]));

        // Every environment value is a literal without secrets, or a reference resolved by azd.
        foreach (var (name, resource) in manifest.Resources)
        {
            foreach (var (variable, value) in resource!["env"]?.AsObject() ?? [])
            {
                var text = (string)value!;
                Assert.False(text.Contains("://", StringComparison.Ordinal) && !text.StartsWith('{'),
                    $"{name}: {variable}={text} is an inlined address");
            }
        }
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_manifest_is_the_same_with_no_local_configuration()
    {
        // A fresh clone (no connection string, Production environment) publishes exactly the same thing:
        // nothing from a developer's machine leaks into the deployment.
        using var directory = new TempDirectory("gptaspire-manifest");
        var text = await ManifestFixture.PublishAsync(directory.File("manifest.json"), new Dictionary<string, string?>
        {
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ConnectionStrings__openai"] = null,
        });

        Assert.Equal(manifest.Text, text);
    }

    [Fact]
    public void Only_web_is_reachable_from_the_internet()
    {
        var webBindings = Bindings("web");
        var apiBindings = Bindings("api");

        Assert.NotEmpty(webBindings);
        Assert.All(webBindings, b => Assert.True((bool?)b.Value!["external"] == true, $"web binding '{b.Key}' is not external"));
        Assert.NotEmpty(apiBindings);
        Assert.All(apiBindings, b => Assert.True((bool?)b.Value!["external"] != true, $"api binding '{b.Key}' is external"));
        Assert.All(webBindings.Concat(apiBindings), b => Assert.Equal("http", (string?)b.Value!["transport"]));
    }

    [Fact]
    public void Every_binding_fits_the_Container_Apps_ingress_azd_generates()
    {
        // azd maps each service's http bindings to one ingress on 80/443 and refuses any other port for them;
        // the container port is the binding's targetPort (or the default, 8080, for .NET projects).
        foreach (var (name, resource) in manifest.Resources)
        {
            var bindings = resource!["bindings"]?.AsObject() ?? [];
            foreach (var (bindingName, binding) in bindings)
            {
                var scheme = (string)binding!["scheme"]!;
                Assert.Contains(scheme, new[] { "http", "https" });
                var port = (int?)binding["port"];
                Assert.True(port is null || port == (scheme == "http" ? 80 : 443), $"{name}.{bindingName} has port {port}");
            }

            Assert.True(bindings.Select(b => (int?)b.Value!["targetPort"]).Distinct().Count() <= 1,
                $"{name} listens on more than one container port");
        }
    }

    [Fact]
    public void Api_gets_the_openai_connection_string_from_the_secret()
    {
        var env = Env("api");

        Assert.Equal("{openai.connectionString}", (string?)env["ConnectionStrings__openai"]);
        Assert.Equal("false", (string?)env["Chat__UsingEmulator"]);
        // The API trusts X-Forwarded-For only from inside the environment (private addresses), two hops deep.
        Assert.Equal("10.0.0.0/8", (string?)env["ForwardedHeaders__KnownNetworks__0"]);
        Assert.Equal("2", (string?)env["ForwardedHeaders__ForwardLimit"]);
    }

    [Fact]
    public void Web_finds_the_api_by_service_discovery_and_runs_in_production_mode()
    {
        var env = Env("web");

        Assert.Equal("{api.bindings.http.url}", (string?)env["services__api__http__0"]);
        Assert.Equal("production", (string?)env["NODE_ENV"]);
        Assert.Equal("{web.bindings.http.targetPort}", (string?)env["PORT"]);
        // The Container Apps ingress is the one proxy in front of web: web believes the address it reports.
        Assert.Equal("1", (string?)env["TRUSTED_PROXIES"]);
    }

    [Fact]
    public void Web_listens_on_the_port_its_Dockerfile_exposes()
    {
        var http = manifest.Resource("web")["bindings"]!["http"]!.AsObject();
        var exposed = DockerfileTests.FinalStage().Single(i => i.Keyword == "EXPOSE").Arguments;

        Assert.Equal(exposed, ((int)http["targetPort"]!).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static string Type(JsonNode resource) => (string)resource["type"]!;

    private List<KeyValuePair<string, JsonNode?>> Bindings(string name) =>
        (manifest.Resource(name)["bindings"]?.AsObject() ?? []).ToList();

    private JsonObject Env(string name) =>
        manifest.Resource(name)["env"]?.AsObject() ?? throw new Xunit.Sdk.XunitException($"'{name}' has no env:\n{manifest.Text}");
}
