using System.Net;
using System.Net.Sockets;

namespace GptAspire.Tests;

/// <summary>
/// Loopback ports for the processes a test starts itself. A port found free may be taken by another process
/// before the test's server binds it (other suites run at the same time), so a start that finds its port taken
/// is tried again on another.
/// </summary>
public static class Ports
{
    /// <summary>A port nobody listened on a moment ago (also: a port to find closed).</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Runs <paramref name="start"/> on a free port; when it throws <see cref="PortTakenException"/>, again on
    /// another, up to <paramref name="attempts"/> times.
    /// </summary>
    public static async Task<T> StartOnFreePortAsync<T>(Func<int, Task<T>> start, int attempts = 5)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await start(Free());
            }
            catch (PortTakenException) when (attempt < attempts)
            {
            }
        }
    }

    /// <summary>Whether a server's output says it could not bind its port (Node's EADDRINUSE, redis-server's message).</summary>
    public static bool SaysPortTaken(string output) =>
        output.Contains("EADDRINUSE", StringComparison.Ordinal) || output.Contains("Address already in use", StringComparison.OrdinalIgnoreCase);

    /// <summary>Waits until something accepts connections on <paramref name="port"/>, or <paramref name="exited"/> says the server is gone.</summary>
    public static async Task WaitForListenerAsync(int port, Func<bool> exited, string what, TimeSpan? within = null)
    {
        await Eventually.UntilAsync(async () =>
        {
            if (exited())
            {
                throw new InvalidOperationException($"{what} exited before it listened on port {port}.");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }, $"{what} listening on port {port}", within ?? Bounds.Condition, every: TimeSpan.FromMilliseconds(100));
    }
}

/// <summary>The server a test started could not bind the port it was given: try another.</summary>
public sealed class PortTakenException(int port, string output) : Exception($"Port {port} was taken:\n{output}");
