using System.Diagnostics;

namespace GptAspire.Benchmarks;

/// <summary>The measurements, each run against one peer at a time with the same emulator and the same load.</summary>
public sealed class Measurements(LoadClient client, BenchSettings settings)
{
    // [emulator:long] is ~1,500 tokens, more than any ladder stream asks for, so max tokens sets the length.
    private const string LadderPrompt = "Benchmark: explain streaming with Server-Sent Events. [emulator:long]";
    private const string FirstTokenPrompt = "Benchmark: time to first token.";
    private const string IdlePrompt = "Benchmark: an idle stream. [emulator:slow-first-token=600000]";

    public async Task<FirstTokenResult> FirstTokenAsync(Peer peer)
    {
        var samples = new List<double>(settings.FirstTokenSamples);
        for (var i = 0; i < 5 + settings.FirstTokenSamples; i++)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var result = await client.RunAsync(peer.Request!(FirstTokenPrompt, 3, 3), recordGaps: false, timeout.Token);
            if (result.Error is not null || result.FirstTokenAt == 0)
            {
                throw new InvalidOperationException($"{peer.Name}: a single stream failed ({result.Error ?? "no token"}).");
            }

            // The first few warm up the JIT and the connections of every hop.
            if (i >= 5)
            {
                samples.Add(result.TimeToFirstTokenMs);
            }
        }

        samples.Sort();
        return new FirstTokenResult(samples.Count, Percentile(samples, 0.50), Percentile(samples, 0.99));
    }

    /// <summary>
    /// Runs as many full-length streams as the first ladder level, unrecorded: warms the peer up (the JIT's
    /// optimized code, pools, connections) so that the first level measures the peer as it runs, and counts the
    /// token events one ladder stream has, which is what "tokens lost" is counted against.
    /// </summary>
    public async Task<int> CalibrateAsync(Peer peer)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(BenchSettings.TokenDelayMs * settings.TokensPerStream * 3 + 10_000));
        var results = await Task.WhenAll(Enumerable.Range(0, settings.Ladder[0]).Select(_ => client.RunAsync(peer.Request!(LadderPrompt, settings.TokensPerStream, settings.TokensPerStream), recordGaps: false, timeout.Token)));
        var finished = results.Where(result => result.Finished && result.Error is null).ToList();
        if (finished.Count == 0)
        {
            throw new InvalidOperationException($"{peer.Name}: no warm-up stream finished ({results[0].Error}).");
        }

        return finished.Max(result => result.Tokens);
    }

    public async Task<LevelResult> LadderLevelAsync(Peer peer, int streams, int expectedTokens)
    {
        // Streams start spread over a ramp, as users would, not in one burst of connections.
        var ramp = TimeSpan.FromSeconds(Math.Clamp(streams / 1000.0, 0.2, 2.0));
        var bound = ramp + TimeSpan.FromMilliseconds(BenchSettings.TokenDelayMs * (expectedTokens + 1)) + settings.LevelGrace;
        using var cut = new CancellationTokenSource(bound);

        var cpuBefore = peer.Chain.Select(process => process.CpuTime()).ToArray();
        var clientBefore = ProcStats.CpuTime(Environment.ProcessId);
        var started = Stopwatch.GetTimestamp();

        var tasks = new Task<StreamResult>[streams];
        for (var i = 0; i < streams; i++)
        {
            var delay = ramp * i / streams;
            var request = peer.Request!(LadderPrompt, settings.TokensPerStream, expectedTokens);
            tasks[i] = Task.Run(async () =>
            {
                await Task.Delay(delay, cut.Token).ConfigureAwait(false);
                return await client.RunAsync(request, recordGaps: true, cut.Token).ConfigureAwait(false);
            });
        }

        var results = await WhenAllSettled(tasks);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var cpuAfter = peer.Chain.Select(process => process.CpuTime()).ToArray();
        var clientCpu = ProcStats.CpuTime(Environment.ProcessId) - clientBefore;

        var gaps = results.SelectMany(result => result.Gaps ?? []).ToArray();
        Array.Sort(gaps);
        var firstTokens = results.Where(result => result.FirstTokenAt != 0).Select(result => result.TimeToFirstTokenMs).Order().ToList();
        var tokens = results.Sum(result => (long)result.Tokens);
        var per1k = tokens == 0 ? double.NaN : 1000.0 / tokens;
        return new LevelResult
        {
            Streams = streams,
            Seconds = Math.Round(elapsed.TotalSeconds, 1),
            P50GapMs = Round(Percentile(gaps, 0.50)),
            P99GapMs = Round(Percentile(gaps, 0.99)),
            MaxGapMs = Round(gaps.Length == 0 ? double.NaN : gaps[^1]),
            FirstTokenP99Ms = Round(Percentile(firstTokens, 0.99)),
            Failed = results.Count(result => !result.Finished || result.Error is not null),
            TokensLost = results.Sum(result => (long)Math.Max(0, expectedTokens - result.Tokens)),
            Tokens = tokens,
            // Replicas share their name: a peer's figure is theirs added up.
            CpuMsPer1kTokens = peer.Chain
                .Select((process, i) => (process.Name, Value: (cpuAfter[i] - cpuBefore[i]).TotalMilliseconds * per1k))
                .GroupBy(pair => pair.Name)
                .ToDictionary(group => group.Key, group => Round(group.Sum(pair => pair.Value))),
            ClientCpuMsPer1kTokens = Round(clientCpu.TotalMilliseconds * per1k),
            ClientCoreShare = Math.Round(clientCpu / elapsed, 2),
            Cut = cut.IsCancellationRequested,
        };
    }

    public async Task<IdleMemoryResult> IdleMemoryAsync(Peer peer)
    {
        await Task.Delay(settings.Settle);
        await HoldAsync(peer, "before the idle streams open");
        var before = peer.Chain.Select(process => process.RssBytes()).ToArray();

        using var stop = new CancellationTokenSource();
        var opened = 0;
        var tasks = Enumerable.Range(0, settings.IdleStreams)
            .Select(_ => client.RunAsync(peer.Request!(IdlePrompt, 5, 5), recordGaps: false, stop.Token, () => Interlocked.Increment(ref opened)))
            .ToArray();
        var waited = Stopwatch.StartNew();
        // A server may hold back its response headers until the first token; its streams are open all the same.
        while (Volatile.Read(ref opened) < settings.IdleStreams && waited.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(100);
        }

        // Let allocations made while opening settle into what an idle stream holds.
        await Task.Delay(settings.Settle);
        var after = peer.Chain.Select(process => process.RssBytes()).ToArray();
        await HoldAsync(peer, "with the idle streams open");
        await stop.CancelAsync();
        await WhenAllSettled(tasks);

        var count = settings.IdleStreams - tasks.Count(task => task.IsCompleted && task.Result.Error is not ("timed out" or null));
        return new IdleMemoryResult(
            settings.IdleStreams,
            Volatile.Read(ref opened),
            peer.Chain
                .Select((process, i) => (process.Name, Value: count == 0 ? double.NaN : (after[i] - before[i]) / 1024.0 / count))
                .GroupBy(pair => pair.Name)
                .ToDictionary(group => group.Key, group => Math.Round(group.Sum(pair => pair.Value), 1)));
    }

    private async Task HoldAsync(Peer peer, string when)
    {
        if (settings.IdleHold > TimeSpan.Zero)
        {
            Console.WriteLine($"{peer.Name}: holding {settings.IdleHold.TotalSeconds:0} s {when}; processes: {string.Join(", ", peer.Chain.Select(process => $"{process.Name} {process.Pid}"))}");
            await Task.Delay(settings.IdleHold);
        }
    }

    private static async Task<StreamResult[]> WhenAllSettled(Task<StreamResult>[] tasks)
    {
        try
        {
            return await Task.WhenAll(tasks);
        }
        catch (OperationCanceledException)
        {
            // Streams cut before they started (the ramp's delay was cancelled) never sent anything.
            return [.. tasks.Select(task => task.IsCompletedSuccessfully ? task.Result : new StreamResult { Error = "not started" })];
        }
    }

    public static double Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, Math.Max(0, (int)Math.Ceiling(p * sorted.Count) - 1))];

    private static double Percentile(float[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, Math.Max(0, (int)Math.Ceiling(p * sorted.Length) - 1))];

    private static double Round(double value) => Math.Round(value, 1);
}
