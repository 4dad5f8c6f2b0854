using System.Net;
using System.Net.Sockets;

namespace GptAspire.Api.FunctionalTests;

/// <summary>The connection to OpenAI: an upstream that never accepts fails fast with its own code.</summary>
public class UpstreamConnectionTests(ApiFixture fixture)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_upstream_that_never_accepts_ends_in_upstream_connect_timeout()
    {
        // A loopback listener that never accepts, its backlog filled: further connection attempts hang in SYN retries.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var fillers = new List<Socket>();
        for (var i = 0; i < 4; i++)
        {
            var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
            try
            {
                filler.Connect(IPAddress.Loopback, port);
            }
            catch (SocketException)
            {
            }

            fillers.Add(filler);
        }

        var (client, server) = fixture.StartApi(new Dictionary<string, string>
        {
            ["ConnectionStrings:openai"] = $"Endpoint=http://127.0.0.1:{port}/v1;Key={ApiFixture.Key};Model=gpt-4o-mini",
            ["Chat:UpstreamConnectTimeout"] = "00:00:01",
            ["Chat:UpstreamIdleTimeout"] = "00:00:30",
        });
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var (_, events) = await ChatStream.PostAsync(client, ChatStream.Body("Anyone there?"), Timeout);

            Assert.Equal(["start", "error"], events.Select(e => e.Name));
            Assert.Equal("upstream_connect_timeout", events[^1].Data.GetProperty("code").GetString());
            Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(20));
        }
        finally
        {
            client.Dispose();
            await server.DisposeAsync();
            fillers.ForEach(f => f.Dispose());
        }
    }
}
