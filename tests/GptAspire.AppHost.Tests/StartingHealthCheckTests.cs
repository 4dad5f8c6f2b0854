using System.Net;
using System.Net.Sockets;
using System.Text;
using GptAspire.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GptAspire.AppHost.Tests;

/// <summary>
/// The resources' health check (emulator, API, page): a service that is still starting is seen ready as soon as
/// it answers, within the same check (Aspire's own HTTP check reports Unhealthy and asks again up to 5 s later,
/// and every WaitFor after it waits that long too), while a real answer other than 200 is reported at once.
/// </summary>
public class StartingHealthCheckTests
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_service_that_starts_listening_during_the_check_is_healthy_in_that_check()
    {
        // Bound but not listening: connections are refused, as while the process starts.
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        var server = Task.Run(async () =>
        {
            await Task.Delay(TimeSpan.FromSeconds(1.5), Timeout);
            socket.Listen();
            await AnswerAsync(socket, "200 OK");
        }, Timeout);

        using var http = new HttpClient();
        var check = new StartingHttpHealthCheck(() => new Uri($"http://127.0.0.1:{port}/health"), http);
        var result = await check.CheckHealthAsync(new HealthCheckContext(), Timeout);

        Assert.Equal(HealthStatus.Healthy, result.Status);
        await server;
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task An_answer_other_than_200_is_unhealthy_at_the_first_answer_with_its_status()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen();
        var port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        var answered = 0;
        _ = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    await AnswerAsync(socket, "503 Service Unavailable", () => Interlocked.Increment(ref answered));
                }
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException or OperationCanceledException)
            {
                // The test is over.
            }
        }, Timeout);

        using var http = new HttpClient();
        var check = new StartingHttpHealthCheck(() => new Uri($"http://127.0.0.1:{port}/health"), http);
        var result = await check.CheckHealthAsync(new HealthCheckContext(), Timeout);

        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains("503", result.Description, StringComparison.Ordinal);
        Assert.Equal(1, Volatile.Read(ref answered));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_service_that_never_answers_is_unhealthy_and_named()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)socket.LocalEndPoint!).Port;

        using var http = new HttpClient();
        var check = new StartingHttpHealthCheck(() => new Uri($"http://127.0.0.1:{port}/health"), http);
        var result = await check.CheckHealthAsync(new HealthCheckContext(), Timeout);

        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains($"127.0.0.1:{port}/health does not answer yet", result.Description, StringComparison.Ordinal);
    }

    private static async Task AnswerAsync(Socket listener, string status, Action? accepted = null)
    {
        using var connection = await listener.AcceptAsync(Timeout);
        accepted?.Invoke();
        var request = new StringBuilder();
        var buffer = new byte[4096];
        while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await connection.ReceiveAsync(buffer, Timeout);
            if (read == 0)
            {
                return;
            }

            request.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        await connection.SendAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), Timeout);
        connection.Shutdown(SocketShutdown.Both);
    }
}
