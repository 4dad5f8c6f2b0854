using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace GptAspire.Benchmarks;

/// <summary>One warm start: when each phase was reached, in seconds from the launch of <c>dotnet run</c>.</summary>
public sealed class StartupRun
{
    public List<StartupPhase> Phases { get; } = [];

    public double? FirstTokenSeconds { get; set; }

    public string? Error { get; set; }

    /// <summary>User + system CPU of every process of the run, up to the first token (from /proc).</summary>
    public double CpuSeconds { get; set; }

    /// <summary>The same CPU by process, largest first: what each piece of the start costs.</summary>
    public List<(string Process, double CpuSeconds)> CpuByProcess { get; } = [];
}

public sealed record StartupPhase(string Name, double Seconds);

/// <summary>
/// The warm start as a newcomer lives it: the README's <c>dotnet run --project GptAspire.AppHost</c> (its build
/// check included) until the chat page's server streams the first token of an answer, after a GET of the page.
/// The phases come from the AppHost's console, with the resource-state and readiness lines of Aspire turned on
/// (Debug for two categories), and from polling the fixed ports of the API and the page every 50 ms.
/// </summary>
public static partial class Startup
{
    private const string WebUrl = "http://localhost:5173";
    private const string ApiUrl = "http://localhost:5080";
    private const string DashboardUrl = "http://localhost:15888";
    private static readonly int[] FixedPorts = [5173, 5080, 15888, 19888, 19889, 20888];

    public static async Task<int> RunAsync(string root, int runs, bool build, string logDir)
    {
        if (await PortsBusyAsync() is > 0 and var busy)
        {
            Console.Error.WriteLine($"error: port {busy} is in use: stop the running AppHost first (the measured one needs its fixed ports).");
            return 1;
        }

        if (build)
        {
            // Warm means built and installed: that happens here, unmeasured.
            Console.WriteLine("Building GptAspire.AppHost (unmeasured)...");
            if (await Commands.RunAsync("dotnet", ["build", "GptAspire.AppHost", "--nologo", "-v", "q"], root) != 0)
            {
                return 1;
            }

            if (!Directory.Exists(Path.Combine(root, "GptAspire.Web", "node_modules"))
                && await Commands.RunAsync("npm", ["ci", "--no-audit", "--no-fund"], Path.Combine(root, "GptAspire.Web")) != 0)
            {
                return 1;
            }
        }

        Directory.CreateDirectory(logDir);
        var results = new List<StartupRun>();
        for (var i = 1; i <= runs; i++)
        {
            var log = Path.Combine(logDir, $"startup-{DateTime.UtcNow:HHmmss}-{i}.log");
            if (await PortsBusyAsync() is > 0 and var stillBusy)
            {
                Console.Error.WriteLine($"error: port {stillBusy} is still in use 30 s after the last run stopped.");
                return 1;
            }

            var run = await MeasureAsync(root, log);
            results.Add(run);
            Console.WriteLine($"run {i}: " + (run.Error ?? $"first token at {run.FirstTokenSeconds:0.00} s, {run.CpuSeconds:0.0} s of CPU") + $" (console: {Path.GetRelativePath(root, log)})");
            foreach (var phase in run.Phases)
            {
                Console.WriteLine($"  {phase.Seconds,7:0.00}  {phase.Name}");
            }

            Console.WriteLine("  CPU by process: " + string.Join(", ", run.CpuByProcess.Select(p => $"{p.Process} {p.CpuSeconds:0.00} s")));
        }

        var done = results.Where(r => r.FirstTokenSeconds is not null).ToList();
        if (done.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine($"median of {done.Count} warm starts (s from launch; load average {LoadAverage()} now):");
            foreach (var name in done.SelectMany(r => r.Phases.Select(p => p.Name)).Distinct())
            {
                var values = done.Select(r => r.Phases.FirstOrDefault(p => p.Name == name)?.Seconds).OfType<double>().ToList();
                Console.WriteLine($"  {Median(values),7:0.00}  {name}  [{string.Join(", ", values.Select(v => v.ToString("0.00", CultureInfo.InvariantCulture)))}]");
            }

            Console.WriteLine($"  {Median(done.Select(r => r.FirstTokenSeconds!.Value).ToList()),7:0.00}  first token  [{string.Join(", ", done.Select(r => r.FirstTokenSeconds!.Value.ToString("0.00", CultureInfo.InvariantCulture)))}]");
            Console.WriteLine($"  {Median(done.Select(r => r.CpuSeconds).ToList()),7:0.0}  CPU seconds of all its processes to the first token  [{string.Join(", ", done.Select(r => r.CpuSeconds.ToString("0.0", CultureInfo.InvariantCulture)))}]");
        }

        return done.Count == results.Count ? 0 : 1;
    }

    private static async Task<StartupRun> MeasureAsync(string root, string logPath)
    {
        var run = new StartupRun();
        var clock = Stopwatch.StartNew();
        void Mark(string name)
        {
            lock (run.Phases)
            {
                if (run.Phases.All(p => p.Name != name))
                {
                    run.Phases.Add(new StartupPhase(name, Math.Round(clock.Elapsed.TotalSeconds, 2)));
                }
            }
        }

        var info = new ProcessStartInfo
        {
            // setsid: its own process group, so that the Ctrl-C at the end reaches it as a terminal's would.
            FileName = "setsid",
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "dotnet", "run", "--project", "GptAspire.AppHost" })
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["Logging__LogLevel__Aspire.Hosting.ApplicationModel.ResourceNotificationService"] = "Debug";
        info.Environment["Logging__LogLevel__Aspire.Hosting.Health.ResourceHealthCheckService"] = "Debug";
        // No browser window per run.
        info.Environment["DOTNET_LAUNCH_PROFILE_LAUNCH_BROWSER"] = "false";

        await using var log = new StreamWriter(logPath) { AutoFlush = true };
        using var process = new Process { StartInfo = info };
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            var at = clock.Elapsed.TotalSeconds;
            lock (log)
            {
                log.WriteLine($"{at,7:0.00} {line}");
            }

            if (line.StartsWith("Building", StringComparison.Ordinal))
            {
                Mark("dotnet run: build check starts");
            }
            else if (line.Contains("Aspire AppHost version", StringComparison.Ordinal))
            {
                Mark("build check done, the AppHost runs");
            }
            else if (line.Contains("Now listening on: " + DashboardUrl, StringComparison.Ordinal))
            {
                Mark("dashboard listening");
            }
            else if (StateLine().Match(line) is { Success: true } state && state.Groups["state"].Value is "Running" or "Finished" or "Exited")
            {
                Mark($"{state.Groups["name"].Value}: {state.Groups["state"].Value}");
            }
            else if (ReadyLine().Match(line) is { Success: true } ready && ready.Groups["name"].Value != "aspire-dashboard")
            {
                Mark($"{ready.Groups["name"].Value}: ready (healthy)");
            }
            else if (line.Contains("Chat page: ", StringComparison.Ordinal))
            {
                Mark("console: Chat page line");
            }
        }

        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(2) }) { Timeout = TimeSpan.FromMinutes(2) };
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        try
        {
            var apiUp = PollAsync(http, ApiUrl + "/health", () => Mark("api answers /health (polled)"), process, stop.Token);
            await PollAsync(http, WebUrl + "/health", () => Mark("web answers /health (polled)"), process, stop.Token);

            using (var page = await http.GetAsync(WebUrl + "/", stop.Token))
            {
                page.EnsureSuccessStatusCode();
                await page.Content.ReadAsStringAsync(stop.Token);
            }

            Mark("GET / of the chat page done");
            using var request = new HttpRequestMessage(HttpMethod.Post, WebUrl + "/api/chat/stream")
            {
                Content = JsonContent.Create(new { messages = new[] { new { role = "user", content = "Hello" } } }),
            };
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop.Token);
            response.EnsureSuccessStatusCode();
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(stop.Token));
            while (await reader.ReadLineAsync(stop.Token) is { } line)
            {
                if (line == "event: token")
                {
                    run.FirstTokenSeconds = Math.Round(clock.Elapsed.TotalSeconds, 2);
                    break;
                }
            }

            if (run.FirstTokenSeconds is null)
            {
                run.Error = "the stream ended without a token event";
            }

            await apiUp;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or InvalidOperationException or IOException)
        {
            run.Error = $"{e.GetType().Name}: {e.Message}";
        }

        var tree = Descendants(process.Id);
        run.CpuSeconds = Math.Round(tree.Sum(p => ProcStatsOrZero(p.Pid)), 1);
        run.CpuByProcess.AddRange(tree
            .Select(p => (Process: Describe(p.Pid), Cpu: ProcStatsOrZero(p.Pid)))
            .GroupBy(p => p.Process, (name, group) => (name, Math.Round(group.Sum(p => p.Cpu), 2)))
            .Where(p => p.Item2 >= 0.05)
            .OrderByDescending(p => p.Item2));
        await StopAsync(process, tree);
        run.Phases.Sort((a, b) => a.Seconds.CompareTo(b.Seconds));
        return run;
    }

    private static async Task PollAsync(HttpClient http, string url, Action onUp, Process process, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"dotnet run exited with code {process.ExitCode} before {url} answered.");
            }

            // The AppHost's proxy takes the connection before the service listens and may hold it: ask again.
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attempt.CancelAfter(TimeSpan.FromSeconds(1));
            try
            {
                using var response = await http.GetAsync(url, attempt.Token);
                if (response.IsSuccessStatusCode)
                {
                    onUp();
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException || e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    // Ctrl-C to the group, as a terminal sends it; then whatever of the run's processes outlived it, by pid.
    private static async Task StopAsync(Process process, List<(int Pid, string StartTime)> tree)
    {
        if (!process.HasExited)
        {
            await Commands.RunAsync("kill", ["-INT", "--", $"-{process.Id}"], ".", quiet: true);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        await Task.Delay(TimeSpan.FromSeconds(2));
        foreach (var (pid, startTime) in tree)
        {
            if (StartTime(pid) == startTime)
            {
                await Commands.RunAsync("kill", ["-KILL", pid.ToString(CultureInfo.InvariantCulture)], ".", quiet: true);
            }
        }
    }

    /// <summary>The process and every process under it, each with its start time (so that a reused pid is never hit).</summary>
    private static List<(int Pid, string StartTime)> Descendants(int rootPid)
    {
        var parents = new Dictionary<int, int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid) && StatFields(pid) is { } fields)
            {
                parents[pid] = MonitoredBy(pid) ?? int.Parse(fields[1], CultureInfo.InvariantCulture);
            }
        }

        var found = new List<(int, string)>();
        var queue = new Queue<int>([rootPid]);
        while (queue.TryDequeue(out var pid))
        {
            if (StartTime(pid) is { } start)
            {
                found.Add((pid, start));
            }

            foreach (var child in parents.Where(p => p.Value == pid).Select(p => p.Key))
            {
                queue.Enqueue(child);
            }
        }

        return found;
    }

    // DCP's API server leaves the process tree (its parent becomes init) and names the AppHost it serves with
    // --monitor: count it, and what it starts (the services), under that AppHost.
    private static int? MonitoredBy(int pid)
    {
        try
        {
            var args = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
            var at = Array.IndexOf(args, "--monitor");
            return args.Contains("start-apiserver") && at >= 0 && at + 1 < args.Length && int.TryParse(args[at + 1], out var monitored) ? monitored : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string[]? StatFields(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    // A short name for a process of the run: the program and what it runs ("dotnet run GptAspire.Api", "dcp run-controllers").
    private static string Describe(int pid)
    {
        string[] args;
        try
        {
            args = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (IOException)
        {
            return "?";
        }

        if (args.Length == 0)
        {
            return "?";
        }

        static string Short(string arg) => Path.GetFileName(arg) is var name && name.EndsWith(".csproj", StringComparison.Ordinal) ? name[..^7] : Path.GetFileName(arg);
        var program = Short(args[0]);
        return program switch
        {
            "dotnet" when args.Length > 1 && args[1] == "run" => "dotnet run " + Short(args.SkipWhile(a => a != "--project").Skip(1).FirstOrDefault() ?? "?"),
            "dotnet" or "node" when args.Length > 1 => program + " " + Short(args.Skip(1).FirstOrDefault(a => !a.StartsWith('-')) ?? args[1]),
            "dcp" when args.Length > 1 => "dcp " + args[1],
            _ => program,
        };
    }

    // Field 22 of /proc/[pid]/stat (index 19 after the command name).
    private static string? StartTime(int pid) => StatFields(pid)?[19];

    // utime + stime + cutime + cstime: a process's own CPU and that of its children that have ended (the build's).
    private static double ProcStatsOrZero(int pid) =>
        StatFields(pid) is { } fields ? fields[11..15].Sum(f => long.Parse(f, CultureInfo.InvariantCulture)) / 100.0 : 0;

    // The proxies of a stopped AppHost may close their ports a moment after it exits.
    private static async Task<int> PortsBusyAsync()
    {
        for (var waited = 0; ; waited++)
        {
            var busy = FixedPorts.FirstOrDefault(IsListening);
            if (busy == 0 || waited == 30)
            {
                return busy;
            }

            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }

    private static bool IsListening(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    [GeneratedRegex(@"Resource (?<name>[\w-]+)/\S+ changed state: (?:\S+ -> )?(?<state>\w+)")]
    private static partial Regex StateLine();

    [GeneratedRegex(@"Resource '(?<name>[\w-]+)' is ready\.")]
    private static partial Regex ReadyLine();
}
