using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace GptAspire.Api.FunctionalTests.Takeover;

/// <summary>
/// A real redis-server and real API processes (<c>dotnet GptAspire.Api.dll</c>) that share streams through it, so
/// that tests can kill (-9), stop (SIGTERM), pause (SIGSTOP) and restart them as an orchestrator or a crash would.
/// All of them answer from the assembly's emulator. Every process is stopped when the fixture is disposed.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ReplicaProcessesCollection : ICollectionFixture<ReplicaProcesses>
{
    public const string Name = "Replica processes";
}

public sealed partial class ReplicaProcesses(ApiFixture api) : IAsyncLifetime
{
    public const int Count = 3;

    /// <summary>How long a replica's lease lasts: a dead replica's answers are taken over after this.</summary>
    public static readonly TimeSpan TakeoverAfter = TimeSpan.FromSeconds(2);

    private readonly List<ApiProcess> _replicas = [];

    public RedisServer Redis { get; private set; } = null!;

    public IReadOnlyList<ApiProcess> Replicas => _replicas;

    public Uri EmulatorAddress => api.EmulatorAddress;

    public HttpClient Emulator => api.Emulator;

    public async ValueTask InitializeAsync()
    {
        Redis = await RedisServer.StartAsync();
        for (var i = 0; i < Count; i++)
        {
            _replicas.Add(new ApiProcess(this, $"replica-{i}"));
        }

        await Task.WhenAll(_replicas.Select(r => r.StartAsync()));
    }

    /// <summary>The settings every replica runs with: the emulator, the shared Redis, fast clocks.</summary>
    internal Dictionary<string, string> Environment(Dictionary<string, string>? extra)
    {
        var settings = Defaults();
        foreach (var (key, value) in extra ?? [])
        {
            settings[key] = value;
        }

        return settings;
    }

    private Dictionary<string, string> Defaults() => new()
    {
        ["ConnectionStrings__openai"] = $"Endpoint={new Uri(api.EmulatorAddress, "v1")};Key={ApiFixture.Key};Model=gpt-4o-mini",
        ["ConnectionStrings__streams"] = $"127.0.0.1:{Redis.Port},abortConnect=false,connectTimeout=2000,syncTimeout=3000,asyncTimeout=3000",
        ["Chat__UsingEmulator"] = "true",
        ["Chat__Streams__HeartbeatInterval"] = "00:00:01",
        ["Chat__Streams__TakeoverAfter"] = TakeoverAfter.ToString(),
        ["Chat__Streams__AbandonAfter"] = "00:00:20",
        ["Chat__RateLimits__BurstLimit"] = "100000",
        ["Chat__RateLimits__RequestsPerPeriod"] = "100000",
        ["Chat__RateLimits__ConcurrentStreams"] = "100000",
        ["Chat__RateLimits__ConcurrentGenerations"] = "100000",
        ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
        ["Logging__LogLevel__GptAspire"] = "Information",
    };

    /// <summary>Starts again every replica that a test killed, stopped or paused.</summary>
    public async Task EnsureAllRunningAsync()
    {
        await Task.WhenAll(_replicas.Where(r => !r.IsRunning || r.IsPaused).Select(r => r.RestartAsync()));
        if (!Redis.IsRunning)
        {
            await Redis.RestartAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            replica.Kill();
        }

        if (Redis is not null)
        {
            await Redis.DisposeAsync();
        }
    }
}

/// <summary>One API replica as a real process: started, killed (-9), stopped (SIGTERM), paused (SIGSTOP) and resumed.</summary>
public sealed partial class ApiProcess(ReplicaProcesses cluster, string name)
{
    private readonly ConcurrentQueue<string> _log = new();
    private Process? _process;
    private Dictionary<string, string>? _extra;

    public string Name => name;

    public HttpClient Client { get; private set; } = null!;

    public bool IsRunning => _process is { HasExited: false };

    public bool IsPaused { get; private set; }

    public int Pid => _process?.Id ?? 0;

    /// <summary>The lines this process has written so far (its console log).</summary>
    public string Log => string.Join('\n', _log);

    public Task StartAsync(Dictionary<string, string>? extra = null)
    {
        _extra = extra ?? _extra;
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "GptAspire.Api.dll")])
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in cluster.Environment(_extra))
        {
            start.Environment[key] = value;
        }

        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        _log.Clear();
        _process = Process.Start(start)!;
        IsPaused = false;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            _log.Enqueue(e.Data);
            if (Listening().Match(e.Data) is { Success: true } match)
            {
                listening.TrySetResult(new Uri(match.Groups[1].Value));
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _log.Enqueue(e.Data);
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        _process.EnableRaisingEvents = true;
        _process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException($"{name} exited before it listened:\n{Log}"));
        return WaitForAddressAsync(listening.Task);
    }

    private async Task WaitForAddressAsync(Task<Uri> listening)
    {
        var address = await listening.WaitAsync(TimeSpan.FromSeconds(60));
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task RestartAsync(Dictionary<string, string>? extra = null)
    {
        Kill();
        await StartAsync(extra);
    }

    /// <summary>kill -9: the process ends at once, its connections are reset, nothing of it runs any more.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            if (IsPaused)
            {
                Signal("CONT");
            }

            _process.Kill();
            _process.WaitForExit(10_000);
        }
    }

    /// <summary>SIGTERM, as an orchestrator stops a replica in a rolling deploy; waits for the exit.</summary>
    public async Task TerminateAsync(TimeSpan within)
    {
        Signal("TERM");
        await _process!.WaitForExitAsync().WaitAsync(within);
    }

    /// <summary>SIGSTOP: the process stalls (a long pause), its connections stay open.</summary>
    public void Pause()
    {
        Signal("STOP");
        IsPaused = true;
    }

    /// <summary>SIGCONT.</summary>
    public void Resume()
    {
        Signal("CONT");
        IsPaused = false;
    }

    private void Signal(string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", _process!.Id.ToString()])!;
        kill.WaitForExit();
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex Listening();
}
