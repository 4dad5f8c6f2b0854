namespace GptAspire.Api.FunctionalTests.Takeover;

/// <summary>
/// Many answers over three replicas while replicas are killed (-9) and started again at random: every answer ends
/// with one last event, and no event is lost, repeated or out of order.
/// </summary>
[Collection(ReplicaProcessesCollection.Name)]
public class ReplicaFaultMixTests(ReplicaProcesses cluster) : IAsyncLifetime
{
    private const int Streams = 200;
    private const int AtOnce = 40;
    private const int Kills = 4;

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => await cluster.EnsureAllRunningAsync();

    public async ValueTask DisposeAsync() => await cluster.EnsureAllRunningAsync();

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Answers_over_three_replicas_killed_and_restarted_at_random_lose_repeat_and_reorder_nothing()
    {
        var questions = Enumerable.Range(0, 5).Select(i => ChatStream.Body($"Fault mix question {i} about tides [emulator:delay=30]", 40)).ToArray();
        var references = new List<string>();
        foreach (var question in questions)
        {
            var reference = new ResumingReader(cluster.Replicas);
            await reference.StartAsync(cluster.Replicas[2], question, _ => false, Timeout);
            references.Add(reference.Events.Text());
        }

        var random = new Random(20261205);
        using var done = CancellationTokenSource.CreateLinkedTokenSource(Timeout);
        var chaos = Task.Run(async () =>
        {
            for (var i = 0; i < Kills && !done.IsCancellationRequested; i++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(1500 + random.Next(1500)), done.Token);
                var victim = cluster.Replicas[random.Next(cluster.Replicas.Count)];
                victim.Kill();
                TestContext.Current.SendDiagnosticMessage($"killed {victim.Name}");
                await Task.Delay(TimeSpan.FromMilliseconds(500 + random.Next(1000)), done.Token);
                await victim.RestartAsync();
            }
        }, done.Token);

        var results = new (int Question, ResumingReader Reader)[Streams];
        using var gate = new SemaphoreSlim(AtOnce);
        await Task.WhenAll(Enumerable.Range(0, Streams).Select(async i =>
        {
            await gate.WaitAsync(Timeout);
            try
            {
                var question = i % questions.Length;
                ResumingReader reader;
                var attempt = 0;
                do
                {
                    // A replica killed before it answered the POST: start on another one.
                    reader = new ResumingReader(cluster.Replicas);
                    var first = cluster.Replicas[(i + attempt++) % cluster.Replicas.Count];
                    if (first.IsRunning)
                    {
                        await reader.StartAsync(first, questions[question], events => events.Count >= 2, Timeout);
                    }
                }
                while (reader.RequestId is null && attempt < 20);

                Assert.NotNull(reader.RequestId);
                await reader.ReadToEndAsync(TimeSpan.FromSeconds(90), Timeout);
                results[i] = (question, reader);
            }
            finally
            {
                gate.Release();
            }
        }));
        await done.CancelAsync();
        await chaos.ContinueWith(_ => { }, TaskScheduler.Default);

        var outcomes = results.GroupBy(r => r.Reader.Events[^1].Name == "finish" ? "finish" : r.Reader.Events[^1].Data.GetProperty("code").GetString()!)
            .ToDictionary(g => g.Key!, g => g.Count());
        var resumed = results.Count(r => r.Reader.ServedBy.Count > 1);
        TestContext.Current.SendDiagnosticMessage($"{Streams} answers: {string.Join(", ", outcomes.Select(o => $"{o.Key} {o.Value}"))}; {resumed} resumed at least once");
        // The kills hit live answers (otherwise this proves nothing about takeover).
        Assert.True(resumed > 0, "no answer had to be resumed: the kills hit no live answer");
        foreach (var (question, reader) in results)
        {
            var events = reader.Events;
            Assert.Equal(Enumerable.Range(0, events.Count).Select(n => n.ToString()), events.Select(e => e.Id));
            Assert.Equal(1, events.Count(e => e.Name is "finish" or "error"));
            Assert.Equal("finish", events[^1].Name);
            Assert.Equal(references[question], events.Text());
        }
    }
}
