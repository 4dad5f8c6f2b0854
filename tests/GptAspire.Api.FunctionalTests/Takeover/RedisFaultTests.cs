using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Text.Json;

namespace GptAspire.Api.FunctionalTests.Takeover;

/// <summary>
/// Redis restarted (losing everything) or slowed down under live answers: the clock that sends heartbeats never
/// waits on it, no reader hangs, and every answer ends within a bound with one last event.
/// </summary>
public class RedisFaultTests(ReplicaProcesses replicas) : ReplicaProcessTest(replicas)
{
    [Fact(Timeout = Bounds.TestMs)]
    public async Task Redis_killed_and_restarted_mid_answer_the_owners_reader_gets_the_whole_answer_and_the_other_replicas_reader_ends()
    {
        var body = ChatStream.Body("Tell me about Redis restarts [emulator:delay=40]", 150);
        var reference = new ResumingReader(Cluster.Replicas);
        await reference.StartAsync(Cluster.Replicas[2], body, _ => false, Timeout);

        var owner = new ResumingReader([A]);
        await owner.StartAsync(A, body, events => events.Count(e => e.Name == "token") >= 10, Timeout);
        var elsewhere = new ResumingReader([B]);
        using (var resume = new HttpRequestMessage(HttpMethod.Get, $"/api/chat/stream/{owner.RequestId}"))
        {
            await elsewhere.StartAsync(B, new { }, events => events.Count(e => e.Name == "token") >= 12, Timeout, resume);
        }

        await Cluster.Redis.KillAsync();
        var ownerReading = owner.ReadToEndAsync(Bound, Timeout);
        await Task.Delay(3000, Timeout);
        await Cluster.Redis.RestartAsync();

        await ownerReading;
        Assert.Equal(reference.Events.Text(), owner.Events.Text());
        Assert.Equal(Enumerable.Range(0, owner.Events.Count).Select(i => i.ToString()), owner.Events.Select(e => e.Id));
        // The owner writes the answer to Redis again once it can (its retries back off up to 2 s).
        await Eventually.UntilAsync(() => A.Log.Contains("Redis had lost the stream; written again", StringComparison.Ordinal), "the owner to seed the answer again", cancellationToken: Timeout);

        // The reader on the other replica gets the whole answer too, once the owner wrote it again: its mirror reads
        // what it missed while Redis was gone, and does not give up while the owner lives.
        await elsewhere.ReadToEndAsync(Bound, Timeout);
        Assert.Equal(Enumerable.Range(0, elsewhere.Events.Count).Select(i => i.ToString()), elsewhere.Events.Select(e => e.Id));
        Assert.Equal("finish", elsewhere.Events[^1].Name);
        Assert.Equal(reference.Events.Text(), elsewhere.Events.Text());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task With_Redis_slow_heartbeats_keep_their_period_and_answers_end()
    {
        await using var proxy = new DelayingProxy(Cluster.Redis.Port, TimeSpan.FromMilliseconds(300));
        var slow = new Dictionary<string, string>
        {
            ["ConnectionStrings__streams"] = $"127.0.0.1:{proxy.Port},abortConnect=false,connectTimeout=5000,syncTimeout=10000,asyncTimeout=10000",
            // A lease longer than Redis's delay: slowness alone must not look like death.
            ["Chat__Streams__TakeoverAfter"] = "00:00:05",
        };
        await A.RestartAsync(slow);
        await B.RestartAsync(slow);
        try
        {
            // Tokens every 2.5 s: between them the reader hears nothing but heartbeats (every 1 s).
            var body = ChatStream.Body("Slow Redis, slow tokens [emulator:delay=2500]", 4);
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(body) };
            using var response = await A.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Timeout);
            await using var stream = await response.Content.ReadAsStreamAsync(Timeout);
            var clock = Stopwatch.StartNew();
            var arrivals = new List<TimeSpan>();
            var bytes = new MemoryStream();
            var buffer = new byte[4096];
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(Timeout);
            bound.CancelAfter(Bound);
            int read;
            while ((read = await stream.ReadAsync(buffer, bound.Token)) > 0)
            {
                arrivals.Add(clock.Elapsed);
                bytes.Write(buffer, 0, read);
            }

            var text = System.Text.Encoding.UTF8.GetString(bytes.ToArray());
            var gaps = arrivals.Zip(arrivals.Skip(1), (a, b) => b - a).ToList();
            TestContext.Current.SendDiagnosticMessage($"{arrivals.Count} writes over {clock.Elapsed}; longest silence {gaps.Max().TotalMilliseconds:F0} ms; pings {CountOf(text, ": ping")}");
            Assert.Contains("event: finish", text, StringComparison.Ordinal);
            Assert.True(CountOf(text, ": ping") >= 3, "heartbeats were sent between the slow tokens");
            // The heartbeat is 1 s: a clock that waited on Redis would be silent for a token's whole 2.5 s or more.
            Assert.True(gaps.Max() < TimeSpan.FromMilliseconds(2000), $"a silence of {gaps.Max().TotalMilliseconds:F0} ms");
        }
        finally
        {
            await A.RestartAsync([]);
            await B.RestartAsync([]);
        }
    }

    private static int CountOf(string text, string what)
    {
        var count = 0;
        for (var i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
