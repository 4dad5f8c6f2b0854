namespace GptAspire.Web.BrowserTests;

/// <summary>
/// The page as production serves it: the bundle <c>vite build</c> makes, served by the web server in production
/// mode with its Content-Security-Policy, in front of the AppHost's API. (The other browser tests use Vite's dev
/// server, whose modules and client script production never serves.)
/// </summary>
public sealed class ProductionPageFixture(AppHostFixture app) : IAsyncLifetime
{
    private DirectoryInfo? _directory;
    private ChildProcess? _server;

    public Uri Url { get; private set; } = null!;

    public string ServerOutput => _server?.Output ?? "";

    public async ValueTask InitializeAsync()
    {
        var web = Path.Combine(BrowserTest.RepositoryRoot(), "GptAspire.Web");
        _directory = Directory.CreateTempSubdirectory("gptaspire-production-page-");
        var root = _directory.FullName;

        // The layout of the image: dist/ and server/ side by side (node_modules shared with the repository's).
        await ChildProcess.RunAsync("node",
            [Path.Combine(web, "node_modules", "vite", "bin", "vite.js"), "build", "--outDir", Path.Combine(root, "dist"), "--emptyOutDir", "--logLevel", "warn"],
            web, TimeSpan.FromMinutes(3));
        Directory.CreateDirectory(Path.Combine(root, "server"));
        foreach (var file in Directory.EnumerateFiles(Path.Combine(web, "server")))
        {
            File.Copy(file, Path.Combine(root, "server", Path.GetFileName(file)));
        }

        File.Copy(Path.Combine(web, "package.json"), Path.Combine(root, "package.json"));
        Directory.CreateSymbolicLink(Path.Combine(root, "node_modules"), Path.Combine(web, "node_modules"));

        var api = app.App.GetEndpoint("api", "http").ToString();
        await Ports.StartOnFreePortAsync(async port =>
        {
            var server = ChildProcess.Start("node", ["server/index.mjs", "--mode", "production"], root, new Dictionary<string, string?>
            {
                ["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["HOST"] = "127.0.0.1",
                ["services__api__http__0"] = api,
                ["services__api__https__0"] = null,
                ["API_URL"] = null,
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = null,
            });
            try
            {
                await Ports.WaitForListenerAsync(port, () => server.HasExited, "the production web server", TimeSpan.FromSeconds(30));
            }
            catch (Exception) when (server.HasExited)
            {
                var output = server.Output;
                await server.DisposeAsync();
                throw Ports.SaysPortTaken(output) ? new PortTakenException(port, output) : new InvalidOperationException($"The production web server exited:\n{output}");
            }

            _server = server;
            Url = new Uri($"http://127.0.0.1:{port}/");
            return true;
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _directory?.Delete(recursive: true);
    }
}

public sealed class ProductionPageTests(AppHostFixture app, BrowserFixture browser, ProductionPageFixture production)
    : BrowserTest(app, browser), IClassFixture<ProductionPageFixture>
{
    protected override Uri PageUrl => production.Url;

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_built_page_loads_under_its_Content_Security_Policy_and_streams_an_answer()
    {
        var problems = new System.Collections.Concurrent.ConcurrentQueue<string>();
        Page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                problems.Enqueue($"console.error: {message.Text}");
            }
        };
        Page.PageError += (_, error) => problems.Enqueue($"pageerror: {error}");
        // A violation is reported to the page as an event, whether or not the browser also logs it.
        await Page.AddInitScriptAsync("""
            document.addEventListener('securitypolicyviolation', e =>
              console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`))
            """);

        var document = await Page.ReloadAsync(new() { Timeout = 60_000 });
        await Expect(Composer).ToBeVisibleAsync(new() { Timeout = Wait });

        var headers = await document!.AllHeadersAsync();
        Assert.Contains("script-src 'self'", headers.GetValueOrDefault("content-security-policy") ?? "");
        // The built bundle, not Vite's dev modules.
        Assert.True(await Page.Locator("script[src^='/assets/']").CountAsync() > 0, "no bundled script on the page");
        Assert.Equal(0, await Page.Locator("script[src*='@vite']").CountAsync());

        await AskAsync("Hello from the built page [emulator:delay=1]");
        await ExpectStatusAsync("done");
        await Expect(LastAnswerText).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"\S"), new() { Timeout = Short });

        Assert.True(problems.IsEmpty, $"{string.Join("\n", problems)}\nServer output:\n{production.ServerOutput}");
    }
}
