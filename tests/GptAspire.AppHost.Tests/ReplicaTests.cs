using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;

namespace GptAspire.AppHost.Tests;

/// <summary>
/// <c>Api:Replicas=2</c>: the AppHost runs two API processes behind the one <c>api</c> address and a local
/// <c>redis-server</c> as <c>streams</c>, whose connection string both replicas get.
/// </summary>
[Collection(ReplicasCollection.Name)]
public class ReplicaTests(ReplicasFixture fixture)
{
    private const int Server = 2;

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Two_api_replicas_run_healthy_with_the_same_streams_connection_string()
    {
        var instances = await fixture.ApiInstancesAsync(Timeout);
        var streams = fixture.App.Services.GetRequiredService<DistributedApplicationModel>().Resources
            .OfType<IResourceWithConnectionString>().Single(r => r.Name == "streams");
        var connectionString = await streams.GetConnectionStringAsync(Timeout);

        Assert.Equal(ReplicasFixture.Replicas, instances.Count);
        Assert.All(instances.Values, snapshot =>
        {
            Assert.Equal(KnownResourceStates.Running, snapshot.State?.Text);
            var variable = Assert.Single(snapshot.EnvironmentVariables, v => v.Name == "ConnectionStrings__streams");
            Assert.Equal(connectionString, variable.Value);
        });
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_streams_Redis_answers_on_its_connection_string()
    {
        var streams = fixture.App.Services.GetRequiredService<DistributedApplicationModel>().Resources
            .OfType<IResourceWithConnectionString>().Single(r => r.Name == "streams");
        var hostAndPort = (await streams.GetConnectionStringAsync(Timeout))!.Split(':');

        using var redis = new TcpClient();
        await redis.ConnectAsync(hostAndPort[0], int.Parse(hostAndPort[1]), Timeout);
        var stream = redis.GetStream();
        var key = $"replica-test-{Guid.NewGuid():N}";
        // RESP inline commands: an entry appended to a stream, then the stream's length.
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"PING\r\nXADD {key} * event token\r\nXLEN {key}\r\nDEL {key}\r\n"), Timeout);
        var answer = new StringBuilder();
        var buffer = new byte[1024];
        while (!answer.ToString().EndsWith(":1\r\n:1\r\n", StringComparison.Ordinal)
            && await stream.ReadAsync(buffer, Timeout) is > 0 and var read)
        {
            answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        Assert.StartsWith("+PONG\r\n", answer.ToString(), StringComparison.Ordinal);
        Assert.EndsWith(":1\r\n:1\r\n", answer.ToString(), StringComparison.Ordinal);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Requests_to_api_are_served_by_both_replicas()
    {
        using var api = fixture.Client("api");
        var traceIds = new List<string>();
        var servedBy = new Dictionary<string, string>();
        // The proxy may take a moment to route to a replica that just became healthy: ask until both answered.
        await Eventually.UntilAsync(async () =>
        {
            for (var i = 0; i < 4; i++)
            {
                traceIds.Add(await ChatAsync(api));
            }

            servedBy = await ServedByAsync(traceIds);
            return servedBy.Values.Distinct().Count() == ReplicasFixture.Replicas;
        }, $"answers from all {ReplicasFixture.Replicas} replicas", TimeSpan.FromSeconds(60), Timeout);
        Assert.DoesNotContain("", servedBy.Values);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task An_answer_started_on_one_replica_is_resumed_and_stopped_on_the_other()
    {
        var api = fixture.App.GetEndpoint("api", "http");

        // Part 1: the POST on whichever replica the proxy picks; five tokens, then the connection is cut.
        using var starter = ClientOnOneConnection(api);
        List<ReceivedEvent> before;
        string first;
        using (var post = await starter.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(ChatStream.Body("Across replicas [emulator:long] [emulator:delay=50]")) },
            HttpCompletionOption.ResponseHeadersRead, Timeout))
        {
            first = post.Headers.GetValues("X-Stream-Replica").Single();
            before = await ChatStream.ReadEventsAsync(post, events => events.Count(e => e.Name == "token") == 5, Timeout);
        }

        var requestId = before[0].Data.GetProperty("requestId").GetString()!;
        var traceId = before[0].Data.GetProperty("traceId").GetString()!;

        // Part 2: resumed with Last-Event-ID on the other replica, over a connection found to reach it.
        var (reader, second) = await ClientOnAnotherReplicaAsync(api, first);
        using (reader)
        {
            using var resume = new HttpRequestMessage(HttpMethod.Get, $"/api/chat/stream/{requestId}");
            resume.Headers.Add("Last-Event-ID", before[^1].Id);
            using var response = await reader.SendAsync(resume, HttpCompletionOption.ResponseHeadersRead, Timeout);
            Assert.Equal(second, response.Headers.GetValues("X-Stream-Replica").Single());
            var rest = new BackgroundRead(response);
            await rest.Tokens(3);

            // The Stop also goes to the replica that does not generate.
            var (stopper, third) = await ClientOnAnotherReplicaAsync(api, first);
            using (stopper)
            {
                using var stop = await stopper.PostAsync($"/api/chat/stream/{requestId}/stop", content: null, Timeout);
                Assert.Equal(System.Net.HttpStatusCode.Accepted, stop.StatusCode);
                TestContext.Current.SendDiagnosticMessage(
                    $"events 0..{before[^1].Id} from replica {first}, the rest from replica {second}, stop sent to replica {third}");
            }

            var after = await rest.Done.WaitAsync(TimeSpan.FromSeconds(30), Timeout);
            var whole = before.Concat(after).ToList();
            Assert.Equal(Enumerable.Range(0, whole.Count).Select(i => i.ToString()), whole.Select(e => e.Id));
            Assert.Equal(["usage", "finish"], whole[^2..].Select(e => e.Name));
            Assert.Equal("stopped", whole[^1].Data.GetProperty("reason").GetString());
        }

        using var emulator = fixture.Client("openai");
        var recorded = await EmulatorRequests.WaitForTraceAsync(emulator, traceId, r => r.GetProperty("cancelled").GetBoolean(), TimeSpan.FromSeconds(10), Timeout);
        Assert.False(recorded.GetProperty("completed").GetBoolean());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_page_s_path_through_web_streams_and_resumes_over_the_replicas()
    {
        using var web = fixture.Client("web");
        List<ReceivedEvent> before;
        string generator;
        using (var post = await web.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(ChatStream.Body("Through the page's server [emulator:delay=20]", maxTokens: 40)) },
            HttpCompletionOption.ResponseHeadersRead, Timeout))
        {
            generator = ReplicaOf(post);
            before = await ChatStream.ReadEventsAsync(post, events => events.Count(e => e.Name == "token") >= 3, Timeout);
        }

        // Resumed through web, several at once: the page's server opens a connection to api for each, which the
        // AppHost's proxy spreads over the replicas. Each gets the same rest; some come from the other replica.
        var requestId = before[0].Data.GetProperty("requestId").GetString()!;
        var servedBy = new HashSet<string>();
        for (var round = 0; round < 5 && !servedBy.Any(r => r != generator); round++)
        {
            // More at once than the page's server keeps idle connections to api (after a replica was restarted, all
            // of those may lead to one replica): the new ones are spread.
            var resumes = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => ChatStream.ResumeAsync(web, requestId, before[^1].Id, Timeout)));
            foreach (var (response, rest) in resumes)
            {
                using (response)
                {
                    Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
                    servedBy.Add(ReplicaOf(response));
                    var whole = before.Concat(rest).ToList();
                    Assert.Equal(Enumerable.Range(0, whole.Count).Select(i => i.ToString()), whole.Select(e => e.Id));
                    Assert.Equal("finish", whole[^1].Name);
                    Assert.Equal(resumes[0].Events.Select(e => e.RawData), rest.Select(e => e.RawData));
                }
            }
        }

        TestContext.Current.SendDiagnosticMessage($"generated on replica {generator}, resumed on {string.Join(", ", servedBy)}");
        Assert.Contains(servedBy, replica => replica != generator);
    }

    private static string ReplicaOf(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-Stream-Replica", out var values) ? values.Single()
            : throw new Xunit.Sdk.XunitException("The response has no X-Stream-Replica header: the page's server did not pass it on.");

    // One connection per client (the proxy picks a replica per connection), kept alive between requests.
    private static HttpClient ClientOnOneConnection(Uri api) =>
        new(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { BaseAddress = api, Timeout = System.Threading.Timeout.InfiniteTimeSpan };

    // A client whose connection reaches a replica other than `replica`: a stop for an unknown id (404) tells which.
    private static async Task<(HttpClient Client, string Replica)> ClientOnAnotherReplicaAsync(Uri api, string replica)
    {
        for (var attempt = 0; attempt < 40; attempt++)
        {
            var client = ClientOnOneConnection(api);
            using var probe = await client.PostAsync($"/api/chat/stream/{Guid.NewGuid():n}/stop", content: null, Timeout);
            var served = probe.Headers.GetValues("X-Stream-Replica").Single();
            if (served != replica)
            {
                return (client, served);
            }

            client.Dispose();
        }

        throw new Xunit.Sdk.XunitException($"40 new connections all reached replica {replica}.");
    }

    private static async Task<string> ChatAsync(HttpClient api)
    {
        var traceId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream")
        {
            Content = JsonContent.Create(ChatStream.Body("Which replica answers? [emulator:delay=0]", maxTokens: 5)),
        };
        // The AppHost's proxy spreads connections, not requests, over the replicas: one connection each.
        request.Headers.ConnectionClose = true;
        request.Headers.Add("traceparent", $"00-{traceId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}-01");
        var events = await ChatStream.ReadAsync(await api.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Timeout), Timeout);
        Assert.Equal("finish", events[^1].Name);
        return traceId;
    }

    // Each replica exports its spans with its own service.instance.id; spans arrive in batches every 200 ms.
    private Task<Dictionary<string, string>> ServedByAsync(List<string> traceIds) => Eventually.FindAsync(() =>
    {
        var servedBy = fixture.Telemetry.Spans
            .Where(s => s.Service == "api" && s.Kind == Server && traceIds.Contains(s.TraceId))
            .GroupBy(s => s.TraceId)
            .ToDictionary(g => g.Key, g => g.First().Instance);
        return servedBy.Count == traceIds.Count ? servedBy : null;
    }, $"the api's server spans of {traceIds.Count} traces", cancellationToken: Timeout);
}
