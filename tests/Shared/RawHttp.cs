using System.Net;
using System.Net.Sockets;
using System.Text;

namespace GptAspire.Tests;

/// <summary>How a raw exchange ended: an answer, a close without one, a reset, or nothing within the bound.</summary>
public enum RawOutcome { Answered, Closed, Reset, TimedOut }

/// <summary>HTTP by hand over a socket, for requests no HTTP client would send (malformed, trickled, half-sent).</summary>
public static class RawHttp
{
    /// <summary>A new TCP connection to the server of <paramref name="server"/> (loopback).</summary>
    public static async Task<Socket> ConnectAsync(Uri server, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            var address = server.Host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(server.Host);
            await socket.ConnectAsync(address, server.Port, cancellationToken);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Sends <paramref name="bytes"/> over a new connection, ends the sending side, and reads the first bytes back:
    /// how it ended, and the status line when it was an HTTP/1 answer (else the first line read).
    /// </summary>
    public static async Task<(RawOutcome Outcome, string? StatusLine)> ExchangeAsync(Uri server, byte[] bytes, TimeSpan within, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(within);
        try
        {
            using var socket = await ConnectAsync(server, timeout.Token);
            await socket.SendAsync(bytes, timeout.Token);
            socket.Shutdown(SocketShutdown.Send);
            var buffer = new byte[1024];
            var read = await socket.ReceiveAsync(buffer, timeout.Token);
            return read == 0 ? (RawOutcome.Closed, null) : (RawOutcome.Answered, Encoding.Latin1.GetString(buffer, 0, read).Split("\r\n")[0]);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            return (RawOutcome.Reset, null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (RawOutcome.TimedOut, null);
        }
    }

    /// <summary>Whether <paramref name="e"/>, or an exception inside it, is a connection reset.</summary>
    public static bool IsReset(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.ConnectionAborted })
            {
                return true;
            }
        }

        return false;
    }
}
