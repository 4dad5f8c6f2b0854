using System.Text.Json;

namespace GptAspire.Deployment.Tests;

/// <summary>
/// The web image's file system and command, without Docker: the final stage of <c>GptAspire.Web/Dockerfile</c>
/// replayed in a temporary folder (package files, <c>npm ci --omit=dev</c>, the Vite build in <c>dist/</c>, the
/// server without its tests), then its <c>CMD</c> started with its <c>ENV</c>, against a fake API.
/// </summary>
public sealed class WebImageFixture : IAsyncLifetime
{
    private readonly TempDirectory _directory = new("gptaspire-web-image");
    private FakeChatApi? _api;
    private ChildProcess? _server;

    /// <summary>The image's <c>/app</c>.</summary>
    public string AppDirectory => _directory.Path;

    public Uri BaseAddress { get; private set; } = null!;

    public int Port { get; private set; }

    public IReadOnlyDictionary<string, string?> Environment { get; private set; } = null!;

    public string ServerOutput => _server?.Output ?? "";

    public async ValueTask InitializeAsync()
    {
        try
        {
            await StartAsync();
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    private async Task StartAsync()
    {
        var vite = Path.Combine(Repo.WebDirectory, "node_modules", "vite", "bin", "vite.js");
        if (!File.Exists(vite))
        {
            throw new InvalidOperationException("GptAspire.Web has no node_modules: run `npm ci` in GptAspire.Web first (./test.sh does).");
        }

        // COPY package.json package-lock.json ./  +  RUN npm ci --omit=dev
        foreach (var file in new[] { "package.json", "package-lock.json" })
        {
            File.Copy(Path.Combine(Repo.WebDirectory, file), _directory.File(file));
        }

        var npm = InstallCommand();
        var install = ChildProcess.RunAsync(npm[0], [.. npm[1..], "--prefer-offline", "--no-audit", "--no-fund"],
            AppDirectory, TimeSpan.FromMinutes(5));

        // The build stage: `vite build` (the type-check half of `npm run build` runs in the front-end suite),
        // then COPY --from=build /app/dist ./dist and /app/server ./server (its tests removed).
        var build = ChildProcess.RunAsync("node",
            [vite, "build", "--outDir", _directory.File("dist"), "--emptyOutDir", "--logLevel", "warn"],
            Repo.WebDirectory, TimeSpan.FromMinutes(3));
        CopyDirectory(Path.Combine(Repo.WebDirectory, "server"), _directory.File("server"), skip: "__tests__");
        await Task.WhenAll(install, build);

        _api = await FakeChatApi.StartAsync();
        await Ports.StartOnFreePortAsync(StartServerAsync);
    }

    // The server as the image runs it, on a port found free; if another process took that port first, on another.
    private async Task<bool> StartServerAsync(int port)
    {
        Port = port;
        var environment = DockerfileEnvironment();
        environment["PORT"] = Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        environment["HOST"] = "127.0.0.1";
        // What Aspire's service discovery sets, as in the manifest (http; the https one is left out here).
        environment["services__api__http__0"] = Api.Url.ToString();
        environment["services__api__https__0"] = null;
        environment["API_URL"] = null;
        // Telemetry on, to the fake API's OTLP routes: the OpenTelemetry SDK loads from production dependencies.
        environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = Api.Url.ToString().TrimEnd('/');
        environment["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        environment["OTEL_SERVICE_NAME"] = "web";
        environment["OTEL_BSP_SCHEDULE_DELAY"] = "200";
        environment["OTEL_EXPORTER_OTLP_HEADERS"] = null;
        environment["OTEL_RESOURCE_ATTRIBUTES"] = null;
        Environment = environment;

        var cmd = Cmd();
        _server = ChildProcess.Start(cmd[0], cmd[1..], AppDirectory, environment);
        BaseAddress = new Uri($"http://127.0.0.1:{Port}/");
        try
        {
            await WaitForHealthAsync();
            return true;
        }
        catch (InvalidOperationException) when (_server.HasExited && Ports.SaysPortTaken(_server.Output))
        {
            var output = _server.Output;
            await _server.DisposeAsync();
            throw new PortTakenException(port, output);
        }
    }

    /// <summary>The final stage's <c>npm ci ...</c>, as an argument list.</summary>
    public static string[] InstallCommand() =>
        DockerfileTests.FinalStage()
            .Where(i => i.Keyword == "RUN")
            .SelectMany(i => i.Arguments.Split("&&", StringSplitOptions.TrimEntries))
            .Single(command => command.StartsWith("npm ci", StringComparison.Ordinal))
            .Split(' ');

    /// <summary>The final stage's <c>CMD</c>, as an argument list.</summary>
    public static string[] Cmd() =>
        JsonSerializer.Deserialize<string[]>(DockerfileTests.FinalStage().Single(i => i.Keyword == "CMD").Arguments)!;

    /// <summary>The final stage's <c>ENV</c> (<c>KEY=value</c> pairs, unquoted values).</summary>
    public static Dictionary<string, string?> DockerfileEnvironment() =>
        DockerfileTests.FinalStage()
            .Where(i => i.Keyword == "ENV")
            .SelectMany(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(pair => pair.Split('=', 2))
            .ToDictionary(pair => pair[0], pair => (string?)pair[1]);

    public FakeChatApi Api => _api!;

    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    private async Task WaitForHealthAsync()
    {
        using var client = CreateClient();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (_server!.HasExited)
            {
                throw new InvalidOperationException($"The web server exited with {_server.ExitCode}:\n{_server.Output}");
            }

            try
            {
                using var response = await client.GetAsync("health");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The web server was not healthy within 30 s:\n{_server.Output}");
            }

            await Task.Delay(200);
        }
    }

    private static void CopyDirectory(string source, string target, string skip)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(source))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        foreach (var directory in Directory.EnumerateDirectories(source).Where(d => Path.GetFileName(d) != skip))
        {
            CopyDirectory(directory, Path.Combine(target, Path.GetFileName(directory)), skip);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (_api is not null)
        {
            await _api.DisposeAsync();
        }

        _directory.Dispose();
    }
}
