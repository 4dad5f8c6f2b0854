using System.Diagnostics;

namespace GptAspire.MicroBenchmarks.Api;

/// <summary>
/// The CPU time per token of <see cref="UpstreamReadBenchmarks"/> and <see cref="FrameWritingBenchmarks"/>, for a
/// machine too loaded for wall-clock times: the variants run in turns, round after round in one process, and each
/// round's process CPU time (not the time it waited for a core) is divided by the tokens it streamed. Prints each
/// variant's median over the rounds:
/// <c>dotnet run -c Release --project bench/GptAspire.MicroBenchmarks -- --cpu-per-token</c>.
/// </summary>
public static class CpuPerTokenProbe
{
    private const int Rounds = 15;
    private const int AnswersPerRound = 100;
    private const int EventsPerRound = 500_000;

    public static async Task RunAsync()
    {
        var clients = new List<(string Name, Func<Task> Answer)>();
        var benchmarks = new List<UpstreamReadBenchmarks>();
        foreach (var direct in new[] { false, true })
        {
            var benchmark = new UpstreamReadBenchmarks { Tokens = 200, Direct = direct };
            benchmark.Setup();
            benchmarks.Add(benchmark);
            var name = direct ? "direct SSE read" : "OpenAI SDK + M.E.AI";
            clients.Add(($"{name}: upstream client alone", () => benchmark.UpstreamClient()));
            clients.Add(($"{name}: whole token path", () => benchmark.TokenPath()));
        }

        var writers = new List<(string Name, Action Write)>();
        foreach (var metadata in new[] { FrameWritingBenchmarks.Metadata.Reflection, FrameWritingBenchmarks.Metadata.Generated })
        {
            var benchmark = new FrameWritingBenchmarks { Json = metadata };
            benchmark.Setup();
            writers.Add(($"token event, {metadata} metadata", () => benchmark.TokenEvent()));
        }

        var perToken = new Dictionary<string, List<double>>();
        for (var round = -3; round < Rounds; round++)
        {
            foreach (var (name, answer) in clients)
            {
                var cpu = Cpu();
                for (var i = 0; i < AnswersPerRound; i++)
                {
                    await answer();
                }

                Record(name, round, (Cpu() - cpu).TotalMicroseconds / (AnswersPerRound * 200.0));
            }

            foreach (var (name, write) in writers)
            {
                var cpu = Cpu();
                for (var i = 0; i < EventsPerRound; i++)
                {
                    write();
                }

                Record(name, round, (Cpu() - cpu).TotalMicroseconds / EventsPerRound);
            }
        }

        foreach (var (name, samples) in perToken)
        {
            samples.Sort();
            Console.WriteLine($"{name}: median {samples[samples.Count / 2]:F3} µs CPU per token (min {samples[0]:F3}, max {samples[^1]:F3}, {samples.Count} rounds)");
        }

        foreach (var benchmark in benchmarks)
        {
            benchmark.Cleanup();
        }

        // The first rounds warm the JIT up (tiered compilation) and are not counted. Process CPU time moves in ticks of
        // 10 ms on Linux, hence rounds of a few hundred milliseconds.
        void Record(string name, int round, double microseconds)
        {
            if (round >= 0)
            {
                (perToken.TryGetValue(name, out var samples) ? samples : perToken[name] = []).Add(microseconds);
            }
        }
    }

    private static TimeSpan Cpu()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }
}
