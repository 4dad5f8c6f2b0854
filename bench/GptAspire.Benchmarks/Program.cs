// The streaming benchmark. From the repository root:
//   dotnet run -c Release --project bench/GptAspire.Benchmarks            # full run, ~10 min
//   dotnet run -c Release --project bench/GptAspire.Benchmarks -- --quick # smoke run, under a minute
//   dotnet run -c Release --project bench/GptAspire.Benchmarks -- --startup [--runs 3]  # warm start to first token
// Options: --peers emulator,api,web,flask,ai-sdk (default: all)  --ladder 100,500 (streams per level)
//          --tokens 250 (per ladder stream)  --no-build  --out <dir>
//          --variant NAME:KEY=VALUE,... (the API again as api-NAME, with those environment variables; repeatable)
//          --idle-only (first token and idle memory, no ladder)  --idle-hold 30 (pause 30 s before and after
//          opening the idle streams, for heap dumps)
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using GptAspire.Benchmarks;

var root = FindRepoRoot();
if (args.Contains("--startup"))
{
    // --root: measure another checkout (an older commit, side by side with this one).
    return await Startup.RunAsync(Option("--root") is { } other ? Path.GetFullPath(other) : root, int.Parse(Option("--runs") ?? "3", CultureInfo.InvariantCulture), !args.Contains("--no-build"), Path.Combine(root, "artifacts", "bench", "logs"));
}

var quick = args.Contains("--quick");
var settings = quick ? BenchSettings.Quick : BenchSettings.Full;
if (Option("--ladder") is { } ladder)
{
    settings = settings with { Ladder = [.. ladder.Split(',').Select(int.Parse)] };
}

if (Option("--tokens") is { } tokens)
{
    settings = settings with { TokensPerStream = int.Parse(tokens, CultureInfo.InvariantCulture) };
}

var variants = Options("--variant").Select(ApiVariant.Parse).ToList();
var idleOnly = args.Contains("--idle-only");
if (Option("--idle-hold") is { } hold)
{
    settings = settings with { IdleHold = TimeSpan.FromSeconds(double.Parse(hold, CultureInfo.InvariantCulture)) };
}

var only = Option("--peers")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
var outDir = Option("--out") is { } requested
    ? Path.GetFullPath(requested)
    : quick ? Path.Combine(root, "artifacts", "bench") : Path.Combine(root, "bench", "results");
var logDir = Path.Combine(root, "artifacts", "bench", "logs");
var clock = Stopwatch.StartNew();
var date = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
var loadAverage = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

if (!args.Contains("--no-build"))
{
    var needsApi = only is null || variants.Count > 0 || only.Contains("api") || only.Contains("web") || only.Contains("api-redis");
    foreach (var project in needsApi ? ["GptAspire.OpenAIEmulator", "GptAspire.Api"] : new[] { "GptAspire.OpenAIEmulator" })
    {
        Console.WriteLine($"Building {project} (Release)...");
        if (await Commands.RunAsync("dotnet", ["build", $"{project}/{project}.csproj", "-c", "Release", "--nologo", "-v", "q"], root) != 0)
        {
            Console.Error.WriteLine($"error: the Release build of {project} failed.");
            return 1;
        }
    }
}

// Servers on core 0, the load client on core 1, so that the client's CPU never competes with what it measures.
var pinned = Environment.ProcessorCount >= 2 && await Commands.RunAsync("taskset", ["-a", "-p", "-c", "1", Environment.ProcessId.ToString()], root, quiet: true) == 0;
var context = new BenchContext(root, logDir, pinned ? 0 : null, pinned ? 1 : null);
var pinning = pinned
    ? "taskset: the emulator and every server under test on core 0, the load client on core 1"
    : "none (taskset missing or fewer than 2 cores): figures include the load client's own CPU contention";

using var client = new LoadClient();
Console.WriteLine("Starting the servers...");
await using var stack = await PeerStack.StartAsync(context, client.Http, only, variants);
var measurements = new Measurements(client, settings);
var results = new List<PeerResult>();
foreach (var peer in stack.Peers)
{
    var result = new PeerResult { Name = peer.Name, Description = peer.Description, Missing = peer.Missing };
    results.Add(result);
    if (peer.Missing is not null)
    {
        continue;
    }

    try
    {
        Console.WriteLine($"{peer.Name}: first token...");
        result.FirstToken = await measurements.FirstTokenAsync(peer);
        // Before the ladder: after it, the servers' heaps have grown and an idle stream's memory hides in them.
        Console.WriteLine($"{peer.Name}: {settings.IdleStreams} idle streams...");
        result.IdleMemory = await measurements.IdleMemoryAsync(peer);
        if (idleOnly)
        {
            continue;
        }

        result.ExpectedTokensPerStream = await measurements.CalibrateAsync(peer);
        // The runtime compiles the code the warm-up made hot once the calls calm down: let it, before measuring.
        await Task.Delay(settings.Settle * 2);
        foreach (var streams in settings.Ladder)
        {
            var level = await measurements.LadderLevelAsync(peer, streams, result.ExpectedTokensPerStream);
            result.Ladder.Add(level);
            Console.WriteLine($"{peer.Name}: {streams} streams: gap p50 {level.P50GapMs} ms, p99 {level.P99GapMs} ms, {level.Failed} failed, {level.TokensLost} tokens lost, {level.Seconds} s");
            if (level.P99GapMs > BenchSettings.GiveUpP99GapMs || level.Failed > streams * BenchSettings.GiveUpFailedShare)
            {
                break;
            }

            // Let the closed connections and the servers' pools drain before the next level.
            await Task.Delay(settings.Settle);
        }

    }
    catch (Exception e) when (e is InvalidOperationException or TimeoutException or HttpRequestException or IOException)
    {
        result.Error = e.Message;
        Console.Error.WriteLine($"{peer.Name}: {e.Message}");
    }
}

if (results.FirstOrDefault(peer => peer.Name == "emulator")?.FirstToken is { } floor)
{
    foreach (var peer in results.Where(peer => peer.FirstToken is not null && peer.Name != "emulator"))
    {
        peer.FirstToken!.AddedP50Ms = Math.Round(peer.FirstToken.P50Ms - floor.P50Ms, 1);
        peer.FirstToken.AddedP99Ms = Math.Round(peer.FirstToken.P99Ms - floor.P99Ms, 1);
    }
}

var run = new RunResult
{
    Date = date,
    Mode = settings.Mode,
    Command = "dotnet run -c Release --project bench/GptAspire.Benchmarks" + CommandOptions(),
    Machine = new MachineInfo(
        CpuModel(), Environment.ProcessorCount, MemoryTotal(), OsName(), RuntimeInformation.FrameworkDescription,
        await Commands.OutputAsync("node", "--version"), await Commands.OutputAsync("python3", "--version"), loadAverage),
    Pinning = pinning,
    Telemetry = "on, not exported: .NET servers with ServiceDefaults' OpenTelemetry and no OTLP endpoint; the web server with its "
        + "OpenTelemetry SDK started and every exporter set to none; the Flask and AI SDK peers have none",
    Settings = settings,
    DurationSeconds = Math.Round(clock.Elapsed.TotalSeconds),
    Peers = results,
};

Console.WriteLine();
Console.WriteLine(Report.Table(run));
Directory.CreateDirectory(outDir);
var name = quick ? $"{date}-quick" : date;
Report.WriteJson(run, Path.Combine(outDir, $"{name}.json"));
Report.WriteChart(run, Path.Combine(outDir, $"{name}.svg"));
Console.WriteLine($"Results: {Path.GetRelativePath(root, Path.Combine(outDir, name + ".json"))} and .svg; server logs in {Path.GetRelativePath(root, logDir)}/");

// A peer that was installed but could not be measured is a failure of the command; a missing one is not.
return results.Any(peer => peer.Error is not null) ? 1 : 0;

string? Option(string name)
{
    var index = Array.FindIndex(args, arg => arg == name || arg.StartsWith(name + "=", StringComparison.Ordinal));
    return index < 0 ? null : args[index].Contains('=') ? args[index][(name.Length + 1)..] : args.ElementAtOrDefault(index + 1);
}

IEnumerable<string> Options(string name)
{
    for (var i = 0; i < args.Length; i++)
    {
        if (args[i].StartsWith(name + "=", StringComparison.Ordinal))
        {
            yield return args[i][(name.Length + 1)..];
        }
        else if (args[i] == name && i + 1 < args.Length)
        {
            yield return args[++i];
        }
    }
}

// The options that shape the figures; --out names a local directory, which the results file has no use for.
string CommandOptions()
{
    var shown = args.Where((arg, i) => !arg.StartsWith("--out", StringComparison.Ordinal) && (i == 0 || args[i - 1] != "--out")).ToList();
    return shown.Count == 0 ? "" : " -- " + string.Join(' ', shown);
}

static string FindRepoRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "GptAspire.sln")))
        {
            return dir.FullName;
        }
    }

    throw new InvalidOperationException("Run the bench from the GptAspire repository (GptAspire.sln not found above it).");
}

static string CpuModel() => File.Exists("/proc/cpuinfo")
    ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(line => line.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?"
    : "?";

static string MemoryTotal() => File.Exists("/proc/meminfo")
    ? $"{long.Parse(File.ReadLines("/proc/meminfo").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024 / 1024} GiB RAM"
    : "?";

static string OsName() => File.Exists("/etc/os-release")
    ? File.ReadLines("/etc/os-release").FirstOrDefault(line => line.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?["PRETTY_NAME=".Length..].Trim('"') ?? RuntimeInformation.OSDescription
    : RuntimeInformation.OSDescription;
