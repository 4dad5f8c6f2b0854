using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;

namespace GptAspire.Benchmarks;

/// <summary>
/// One way to stream a chat from the same emulator: the emulator itself (the floor), GptAspire.Api,
/// GptAspire.Web's /api proxy in front of the API, the seed's Flask design, and a Vercel AI SDK route.
/// </summary>
public sealed class Peer
{
    public required string Name { get; init; }

    public required string Description { get; init; }

    /// <summary>Why it is not measured, with the command that installs what it lacks; null when it runs.</summary>
    public string? Missing { get; init; }

    /// <summary>The process whose cost the peer adds (for the emulator itself, the emulator).</summary>
    public ServerProcess? Server { get; init; }

    /// <summary>Every process a stream of this peer goes through, the server under test first.</summary>
    public IReadOnlyList<ServerProcess> Chain { get; init; } = [];

    /// <summary>The request of one stream (called for each: a peer of several replicas sends each stream to the next).</summary>
    public Func<string, int, int, StreamRequest>? Request { get; init; }
}

/// <summary>
/// The API under other settings, as <c>--variant NAME:KEY=VALUE,KEY=VALUE</c> gives them (environment variables of the
/// API process alone: runtime knobs such as <c>DOTNET_gcServer</c>, or settings such as <c>Chat__Tools__Enabled</c>).
/// </summary>
public sealed record ApiVariant(string Name, IReadOnlyList<(string Key, string Value)> Settings)
{
    public static ApiVariant Parse(string text)
    {
        var (name, settings) = text.Split(':', 2) is [var n, var s] && n.Length > 0
            ? (n, s)
            : throw new ArgumentException($"--variant {text}: expected NAME:KEY=VALUE[,KEY=VALUE...]");
        return new(name, [.. settings.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(pair => pair.Split('=', 2) is [var key, var value]
            ? (key.Trim(), value.Trim())
            : throw new ArgumentException($"--variant {text}: '{pair}' is not KEY=VALUE"))]);
    }
}

/// <summary>The servers of one bench run, started once and shared by every measurement.</summary>
public sealed class PeerStack : IAsyncDisposable
{
    public const string Model = "gpt-4o-mini";

    private readonly List<ServerProcess> _processes = [];

    public List<Peer> Peers { get; } = [];

    public static async Task<PeerStack> StartAsync(
        BenchContext context, HttpClient http, IReadOnlySet<string>? only, IReadOnlyList<ApiVariant>? variants = null)
    {
        var stack = new PeerStack();
        try
        {
            await stack.StartAllAsync(context, http, only, variants ?? []);
            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    private async Task StartAllAsync(BenchContext context, HttpClient http, IReadOnlySet<string>? only, IReadOnlyList<ApiVariant> variants)
    {
        bool Wanted(string name) => only is null || only.Contains(name);
        var root = context.RepoRoot;
        var key = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

        var emulatorPort = ServerProcess.FreePort();
        var emulatorUrl = new Uri($"http://127.0.0.1:{emulatorPort}/");
        var emulatorDir = Path.Combine(root, "GptAspire.OpenAIEmulator", "bin", "Release", "net10.0");
        var emulator = Track(ServerProcess.Start(
            "emulator", "dotnet", ["GptAspire.OpenAIEmulator.dll"], emulatorDir,
            DotnetEnvironment(emulatorUrl, ("Emulator__ApiKey", key)), emulatorUrl, context.LogDirectory, context.ServerCore));
        await emulator.WaitReadyAsync(http, "/health", TimeSpan.FromSeconds(60));
        var openAIBase = new Uri(emulatorUrl, "v1/");

        // Always running (every peer streams from it); measured as the floor when wanted.
        if (Wanted("emulator"))
        {
            Peers.Add(EmulatorPeer(emulator, openAIBase, key));
        }

        ServerProcess? api = null;
        if (Wanted("api") || Wanted("web"))
        {
            var apiUrl = new Uri($"http://127.0.0.1:{ServerProcess.FreePort()}/");
            // The connection string the AppHost gives the API for the emulator (OpenAIEmulatorResource).
            api = Track(StartApi(context, "api", apiUrl, openAIBase, key));
            await api.WaitReadyAsync(http, "/health", TimeSpan.FromSeconds(60));
        }

        if (Wanted("api") && api is not null)
        {
            Peers.Add(new Peer
            {
                Name = "api",
                Description = "GptAspire.Api",
                Server = api,
                Chain = [api, emulator],
                Request = ChatRequest(new Uri(api.Url, "api/chat/stream")),
            });
        }

        if (Wanted("web") && api is not null)
        {
            Peers.Add(await StartWebAsync(context, http, api, emulator));
        }

        // The API again under other settings (--variant), measured right after it against the same emulator.
        foreach (var variant in variants)
        {
            var name = $"api-{variant.Name}";
            var variantApi = Track(StartApi(context, name, new Uri($"http://127.0.0.1:{ServerProcess.FreePort()}/"), openAIBase, key, extra: [.. variant.Settings]));
            await variantApi.WaitReadyAsync(http, "/health", TimeSpan.FromSeconds(60));
            Peers.Add(new Peer
            {
                Name = name,
                Description = $"GptAspire.Api with {string.Join(", ", variant.Settings.Select(s => $"{s.Key}={s.Value}"))}",
                Server = variantApi,
                Chain = [variantApi, emulator],
                Request = ChatRequest(new Uri(variantApi.Url, "api/chat/stream")),
            });
        }

        // Only when asked for (--peers ...,api-redis): not yet part of the default run (issue 19 adds it to the ladder).
        if (only?.Contains("api-redis") == true)
        {
            Peers.Add(await StartApiWithRedisAsync(context, http, emulator, openAIBase, key));
        }

        if (Wanted("flask"))
        {
            Peers.Add(await StartFlaskAsync(context, http, emulator, openAIBase, key));
        }

        if (Wanted("ai-sdk"))
        {
            Peers.Add(await StartAiSdkAsync(context, http, emulator, openAIBase, key));
        }
    }

    private static Peer EmulatorPeer(ServerProcess emulator, Uri openAIBase, string key) => new()
    {
        Name = "emulator",
        Description = "the emulator direct (the floor)",
        Server = emulator,
        Chain = [emulator],
        Request = (prompt, maxTokens, expected) => new StreamRequest(
            new Uri(openAIBase, "chat/completions"),
            JsonSerializer.SerializeToUtf8Bytes(new
            {
                model = Model,
                messages = new[] { new { role = "user", content = prompt } },
                stream = true,
                stream_options = new { include_usage = true },
                max_tokens = maxTokens,
            }),
            key,
            expected),
    };

    private static ServerProcess StartApi(
        BenchContext context, string name, Uri url, Uri openAIBase, string key, string? logName = null, params (string Key, string Value)[] extra) =>
        ServerProcess.Start(
            name, "dotnet", ["GptAspire.Api.dll"], Path.Combine(context.RepoRoot, "GptAspire.Api", "bin", "Release", "net10.0"),
            DotnetEnvironment(url, [
                ("ConnectionStrings__openai", $"Endpoint={openAIBase.AbsoluteUri.TrimEnd('/')};Key={key};Model={Model}"),
                ("Chat__UsingEmulator", "true"),
                // The load client is one client on loopback driving thousands of streams: the per-client
                // limits and the live-stream cap are for the public, not for this measurement.
                ("Chat__RateLimits__BurstLimit", "1000000"),
                ("Chat__RateLimits__RequestsPerPeriod", "1000000"),
                ("Chat__RateLimits__ConcurrentStreams", "100000"),
                ("Chat__RateLimits__ConcurrentGenerations", "100000"),
                ("Chat__Streams__MaxLiveStreams", "100000"),
                // A generation nobody reads runs on for a while, for a reader to resume it (30 s by default):
                // the idle-memory streams would then still run, and end, during the first ladder levels.
                ("Chat__Streams__AbandonAfter", "00:00:01"),
                .. extra]),
            url, context.LogDirectory, context.ServerCore, logName);

    // The API as it ships with several replicas: two of them over one Redis, every event through the fenced append to
    // Redis before its readers see it (README.md#several-api-replicas-an-answer-survives-its-replica), streams sent to
    // each in turn as the AppHost's proxy does. Both are named api-redis, so the peer's CPU and memory are theirs
    // added up; Redis's own CPU is its chain's.
    private async Task<Peer> StartApiWithRedisAsync(BenchContext context, HttpClient http, ServerProcess emulator, Uri openAIBase, string key)
    {
        const string name = "api-redis";
        const string description = "two GptAspire.Api replicas with their streams in one Redis (the resumable path as it ships)";
        if (await Commands.RunAsync("redis-server", ["--version"], context.RepoRoot, quiet: true) != 0)
        {
            return Skipped(name, description, "not installed: apt-get install -y redis-server");
        }

        var redisPort = ServerProcess.FreePort();
        var redis = Track(ServerProcess.Start(
            "redis", "redis-server", ["--port", redisPort.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], context.RepoRoot,
            new Dictionary<string, string>(), new Uri($"http://127.0.0.1:{redisPort}/"), context.LogDirectory, context.ServerCore));
        ServerProcess[] replicas =
        [
            .. Enumerable.Range(1, 2).Select(replica => Track(StartApi(
                context, name, new Uri($"http://127.0.0.1:{ServerProcess.FreePort()}/"), openAIBase, key, $"{name}-{replica}",
                ("ConnectionStrings__streams", $"127.0.0.1:{redisPort},abortConnect=false")))),
        ];
        foreach (var replica in replicas)
        {
            await replica.WaitReadyAsync(http, "/health", TimeSpan.FromSeconds(60));
            // /health can pass before the connection that writes the events has connected (abortConnect=false connects
            // in the background): until it has, a stream gets 503. The first measured stream must not be that one.
            await WaitAnsweringAsync(http, replica, TimeSpan.FromSeconds(60));
        }

        var next = -1;
        return new Peer
        {
            Name = name,
            Description = description,
            Server = replicas[0],
            Chain = [.. replicas, redis, emulator],
            Request = (prompt, maxTokens, expected) =>
            {
                var replica = replicas[(uint)Interlocked.Increment(ref next) % replicas.Length];
                return ChatRequest(new Uri(replica.Url, "api/chat/stream"))(prompt, maxTokens, expected);
            },
        };
    }

    private async Task<Peer> StartWebAsync(BenchContext context, HttpClient http, ServerProcess api, ServerProcess emulator)
    {
        const string name = "web";
        const string description = "GptAspire.Web's /api proxy in front of the API";
        var webDir = Path.Combine(context.RepoRoot, "GptAspire.Web");
        if (!Directory.Exists(Path.Combine(webDir, "node_modules")))
        {
            return Skipped(name, description, "not installed: (cd GptAspire.Web && npm ci)");
        }

        if (!File.Exists(Path.Combine(webDir, "dist", "index.html")))
        {
            Console.WriteLine("Building GptAspire.Web (npm run build)...");
            if (await Commands.RunAsync("npm", ["run", "build"], webDir) != 0)
            {
                return Skipped(name, description, "its build failed: (cd GptAspire.Web && npm run build)");
            }
        }

        var url = new Uri($"http://127.0.0.1:{ServerProcess.FreePort()}/");
        var web = Track(ServerProcess.Start(
            name, "node", ["--import", "./server/instrumentation.mjs", "server/index.mjs", "--mode", "production"], webDir,
            new Dictionary<string, string>
            {
                ["NODE_ENV"] = "production",
                ["PORT"] = url.Port.ToString(),
                ["HOST"] = "127.0.0.1",
                ["services__api__http__0"] = api.Url.AbsoluteUri,
                ["OTEL_SERVICE_NAME"] = "web",
                // Telemetry on but not exported, as for the .NET servers: the SDK starts (it needs an
                // endpoint to), instruments every request, and its exporters are "none".
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9",
                ["OTEL_TRACES_EXPORTER"] = "none",
                ["OTEL_METRICS_EXPORTER"] = "none",
                ["OTEL_LOGS_EXPORTER"] = "none",
            },
            url, context.LogDirectory, context.ServerCore));
        await web.WaitReadyAsync(http, "/health", TimeSpan.FromSeconds(60));
        return new Peer
        {
            Name = name,
            Description = description,
            Server = web,
            Chain = [web, api, emulator],
            Request = ChatRequest(new Uri(web.Url, "api/chat/stream")),
        };
    }

    private async Task<Peer> StartFlaskAsync(BenchContext context, HttpClient http, ServerProcess emulator, Uri openAIBase, string key)
    {
        const string name = "flask";
        const string description = "the seed's design: Flask (threaded) + requests";
        if (await Commands.RunAsync("python3", ["-c", "import flask, requests"], context.RepoRoot, quiet: true) != 0)
        {
            return Skipped(name, description, "not installed: apt-get install -y python3-flask python3-requests");
        }

        var url = new Uri($"http://127.0.0.1:{ServerProcess.FreePort()}/");
        var flask = Track(ServerProcess.Start(
            name, "python3", ["app.py"], Path.Combine(context.RepoRoot, "bench", "flask"),
            new Dictionary<string, string>
            {
                ["PORT"] = url.Port.ToString(),
                ["OPENAI_BASE_URL"] = openAIBase.AbsoluteUri,
                ["OPENAI_API_KEY"] = key,
                ["PYTHONUNBUFFERED"] = "1",
            },
            url, context.LogDirectory, context.ServerCore));
        await flask.WaitReadyAsync(http, "/health", TimeSpan.FromSeconds(30));
        return new Peer
        {
            Name = name,
            Description = description,
            Server = flask,
            Chain = [flask, emulator],
            Request = ChatRequest(new Uri(flask.Url, "api/chat/stream")),
        };
    }

    private async Task<Peer> StartAiSdkAsync(BenchContext context, HttpClient http, ServerProcess emulator, Uri openAIBase, string key)
    {
        const string name = "ai-sdk";
        const string description = "a Vercel AI SDK route (streamText) on Node's http server";
        var dir = Path.Combine(context.RepoRoot, "bench", "ai-sdk");
        if (!Directory.Exists(Path.Combine(dir, "node_modules")))
        {
            Console.WriteLine("Installing the AI SDK peer (npm ci in bench/ai-sdk)...");
            if (await Commands.RunAsync("npm", ["ci", "--no-audit", "--no-fund"], dir) != 0)
            {
                return Skipped(name, description, "not installed: (cd bench/ai-sdk && npm ci)");
            }
        }

        var url = new Uri($"http://127.0.0.1:{ServerProcess.FreePort()}/");
        var server = Track(ServerProcess.Start(
            name, "node", ["server.mjs"], dir,
            new Dictionary<string, string>
            {
                ["NODE_ENV"] = "production",
                ["PORT"] = url.Port.ToString(),
                ["OPENAI_BASE_URL"] = openAIBase.AbsoluteUri.TrimEnd('/'),
                ["OPENAI_API_KEY"] = key,
            },
            url, context.LogDirectory, context.ServerCore));
        await server.WaitReadyAsync(http, "/health", TimeSpan.FromSeconds(30));
        return new Peer
        {
            Name = name,
            Description = description,
            Server = server,
            Chain = [server, emulator],
            Request = ChatRequest(new Uri(server.Url, "api/chat/stream")),
        };
    }

    private static Peer Skipped(string name, string description, string missing)
    {
        Console.WriteLine($"  {name}: {missing}");
        return new Peer { Name = name, Description = description, Missing = missing };
    }

    /// <summary>The body of POST /api/chat/stream, which every peer but the emulator takes.</summary>
    // Until one whole answer streams (200, ending in finish), retrying what the API refuses while it connects.
    private static async Task WaitAnsweringAsync(HttpClient http, ServerProcess api, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        var body = JsonSerializer.SerializeToUtf8Bytes(new { messages = new[] { new { role = "user", content = "warm-up" } }, maxTokens = 5 });
        var last = "no answer";
        while (deadline.Elapsed < timeout)
        {
            try
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new("application/json");
                using var response = await http.PostAsync(new Uri(api.Url, "api/chat/stream"), content);
                var text = await response.Content.ReadAsStringAsync();
                if (response.IsSuccessStatusCode && text.Contains("event: finish", StringComparison.Ordinal))
                {
                    return;
                }

                last = $"{(int)response.StatusCode}, {(text.Contains("event: error", StringComparison.Ordinal) ? "an error event" : "no finish event")}";
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"{api.Name} streamed no whole answer within {timeout.TotalSeconds:0} s (last: {last}; see its log).");
    }

    private static Func<string, int, int, StreamRequest> ChatRequest(Uri url) => (prompt, maxTokens, expected) => new StreamRequest(
        url,
        JsonSerializer.SerializeToUtf8Bytes(new { messages = new[] { new { role = "user", content = prompt } }, maxTokens }),
        null,
        expected);

    // Release builds in the Production environment with their own logging settings, telemetry on
    // (ServiceDefaults always adds it) but not exported: no OTEL_EXPORTER_OTLP_ENDPOINT, so no exporter.
    private static Dictionary<string, string> DotnetEnvironment(Uri url, params (string Key, string Value)[] settings)
    {
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = url.AbsoluteUri.TrimEnd('/'),
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["DOTNET_ENVIRONMENT"] = "Production",
        };
        foreach (var (key, value) in settings)
        {
            environment[key] = value;
        }

        return environment;
    }

    private ServerProcess Track(ServerProcess process)
    {
        _processes.Add(process);
        return process;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in Enumerable.Reverse(_processes))
        {
            await process.DisposeAsync();
        }
    }
}
