using System.Diagnostics;

namespace GptAspire.Tests;

/// <summary>
/// A Debian redis-server of a test's own, on a free loopback port, with nothing saved to disk. It can be killed and
/// started again on the same port, as an outage would.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private Process? _process;

    private RedisServer(int port) => Port = port;

    public int Port { get; }

    /// <summary>For StackExchange.Redis: fails fast while the server is down and reconnects when it is back.</summary>
    public string ConnectionString => $"127.0.0.1:{Port},abortConnect=false,connectTimeout=1000,syncTimeout=2000,asyncTimeout=2000";

    public static async Task<RedisServer> StartAsync()
    {
        var server = new RedisServer(Ports.Free());
        await server.RestartAsync();
        return server;
    }

    /// <summary>Starts the server (again) on its port.</summary>
    public async Task RestartAsync()
    {
        try
        {
            _process = Process.Start(new ProcessStartInfo("redis-server", ["--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
            });
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("These tests need redis-server: apt-get install redis-server", e);
        }

        _ = _process!.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        var process = _process;
        await Ports.WaitForListenerAsync(Port, () => process.HasExited, "redis-server");
    }

    /// <summary>True while the server process runs.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Kills the server at once (SIGKILL): an outage, not a shutdown.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync() => await KillAsync();
}
