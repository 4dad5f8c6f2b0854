using System.Diagnostics;
using System.Net.Http.Json;

namespace GptAspire.AppHost.Tests;

/// <summary>
/// Through the real AppHost with two API replicas: the replica that generates an answer is killed (-9) mid-answer,
/// and a client that resumes through the one <c>api</c> address gets the whole answer from the other replica.
/// </summary>
[Collection(ReplicasCollection.Name)]
public class TakeoverTests(ReplicasFixture fixture)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Killing_the_replica_that_generates_an_answer_mid_answer_leaves_the_client_one_whole_answer()
    {
        using var api = fixture.Client("api");
        var body = ChatStream.Body("Survive the replica that writes me [emulator:delay=40]", maxTokens: 120);
        var (_, reference) = await ChatStream.PostAsync(api, body, Timeout);
        Assert.Equal("finish", reference[^1].Name);

        using var start = new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(body) };
        using var cut = CancellationTokenSource.CreateLinkedTokenSource(Timeout);
        using var post = await api.SendAsync(start, HttpCompletionOption.ResponseHeadersRead, cut.Token);
        var ownerId = post.Headers.GetValues("X-Stream-Replica").Single();
        var before = new List<ReceivedEvent>();
        await using (var stream = await post.Content.ReadAsStreamAsync(cut.Token))
        {
            await foreach (var item in System.Net.ServerSentEvents.SseParser.Create(stream).EnumerateAsync(cut.Token))
            {
                before.Add(new ReceivedEvent(item.EventType, item.EventId ?? "", System.Text.Json.JsonDocument.Parse(item.Data).RootElement.Clone(), TimeSpan.Zero) { RawData = item.Data });
                if (before.Count(e => e.Name == "token") >= 15)
                {
                    break;
                }
            }
        }

        await cut.CancelAsync();
        var requestId = before[0].Data.GetProperty("requestId").GetString()!;
        var owner = await InstanceAsync(ownerId);

        try
        {
            using (var kill = Process.Start("kill", ["-KILL", owner.Pid.ToString()])!)
            {
                await kill.WaitForExitAsync(Timeout);
            }

            // Resume as the page does: with the last id, through the one address, until the answer ends.
            var events = new List<ReceivedEvent>(before);
            var deadline = Stopwatch.StartNew();
            while (events[^1].Name is not ("finish" or "error") && deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
                try
                {
                    var (response, rest) = await ChatStream.ResumeAsync(api, requestId, events[^1].Id, Timeout);
                    if (response.IsSuccessStatusCode)
                    {
                        Assert.NotEqual(ownerId, response.Headers.GetValues("X-Stream-Replica").Single());
                        events.AddRange(rest);
                    }
                }
                catch (HttpRequestException)
                {
                    // The proxy tried the dead replica: ask again.
                }

                await Task.Delay(200, Timeout);
            }

            Assert.Equal(Enumerable.Range(0, events.Count).Select(i => i.ToString()), events.Select(e => e.Id));
            Assert.Equal("finish", events[^1].Name);
            Assert.Equal(1, events.Count(e => e.Name == "usage"));
            Assert.Equal(reference.Text(), events.Text());
        }
        finally
        {
            // The rest of the collection needs both replicas.
            await fixture.App.ResourceCommands.ExecuteCommandAsync(owner.ResourceId, KnownResourceCommands.StartCommand, Timeout);
            await fixture.ApiInstancesAsync(Timeout).WaitAsync(TimeSpan.FromMinutes(2), Timeout);
        }
    }

    // The API instance (its resource id and process) whose replica id is the one given: each instance's own port
    // answers with its id.
    private async Task<(string ResourceId, int Pid)> InstanceAsync(string replicaId)
    {
        foreach (var (resourceId, snapshot) in await fixture.ApiInstancesAsync(Timeout))
        {
            // The process's own settings (the snapshot shows the address every replica shares).
            var pid = Convert.ToInt32(snapshot.Properties.Single(p => p.Name == "executable.pid").Value, System.Globalization.CultureInfo.InvariantCulture);
            var variables = File.ReadAllText($"/proc/{pid}/environ").Split('\0').Where(v => v.Contains('=')).ToDictionary(v => v[..v.IndexOf('=')], v => v[(v.IndexOf('=') + 1)..]);
            var address = variables.GetValueOrDefault("ASPNETCORE_URLS")?.Split(';')[0]
                ?? $"http://localhost:{variables["HTTP_PORTS"].Split(';')[0]}";
            TestContext.Current.SendDiagnosticMessage($"instance {resourceId}: pid {pid}, {address}");
            using var direct = new HttpClient { BaseAddress = new Uri(address.Replace("*", "localhost", StringComparison.Ordinal).Replace("+", "localhost", StringComparison.Ordinal)) };
            using var info = await direct.GetAsync("/api/info", Timeout);
            if (info.Headers.GetValues("X-Stream-Replica").Single() == replicaId)
            {
                return (resourceId, pid);
            }
        }

        throw new InvalidOperationException($"No API instance has the replica id {replicaId}.");
    }
}
