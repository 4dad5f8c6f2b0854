using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace GptAspire.Benchmarks;

/// <summary>
/// A server the bench started: pinned to a core with taskset, its output in a log file, and its CPU time
/// and resident memory read from /proc, which is what the figures are made of.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;

    private ServerProcess(string name, Process process, StreamWriter log, Uri url)
    {
        Name = name;
        _process = process;
        _log = log;
        Url = url;
    }

    public string Name { get; }

    public Uri Url { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public static ServerProcess Start(
        string name, string fileName, IEnumerable<string> arguments, string workingDirectory,
        IDictionary<string, string> environment, Uri url, string logDirectory, int? core, string? logName = null)
    {
        var info = new ProcessStartInfo
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // taskset execs the server, so the pid is the server's own and every thread it starts stays on the core.
        if (core is { } pinned)
        {
            info.FileName = "taskset";
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(pinned.ToString());
            info.ArgumentList.Add(fileName);
        }
        else
        {
            info.FileName = fileName;
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        // The servers must not pick up telemetry or URLs from the shell that runs the bench.
        foreach (var key in info.Environment.Keys.Where(key => key.StartsWith("OTEL_", StringComparison.Ordinal) || key.StartsWith("ASPNETCORE_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(key);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        Directory.CreateDirectory(logDirectory);
        var log = new StreamWriter(Path.Combine(logDirectory, $"{logName ?? name}.log")) { AutoFlush = true };
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ServerProcess(name, process, log, url);
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            log.WriteLine(line);
        }
    }

    /// <summary>Waits until <paramref name="path"/> answers 200, or fails with the server's exit.</summary>
    public async Task WaitReadyAsync(HttpClient http, string path, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode} before it was ready (see its log).");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(Url, path));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"{Name} was not ready at {new Uri(Url, path)} after {timeout.TotalSeconds:0} s (see its log).");
    }

    /// <summary>User + system CPU time of the whole process, from /proc/[pid]/stat.</summary>
    public TimeSpan CpuTime() => ProcStats.CpuTime(Pid);

    /// <summary>Resident set size, from /proc/[pid]/status.</summary>
    public long RssBytes() => ProcStats.RssBytes(Pid);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>CPU time and memory of a process as the kernel counts them.</summary>
public static class ProcStats
{
    // USER_HZ: the unit of utime and stime in /proc/[pid]/stat; 100 on every Linux the bench targets.
    private const double TicksPerSecond = 100;

    public static TimeSpan CpuTime(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11]) + long.Parse(fields[12]);
        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }

    public static long RssBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0]) * 1024;
            }
        }

        return 0;
    }
}
