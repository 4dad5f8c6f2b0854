using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace GptAspire.Benchmarks;

/// <summary>The run's figures as a console table, a JSON results file and an SVG chart.</summary>
public static class Report
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string Table(RunResult run)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"GptAspire streaming benchmark ({run.Mode}), {run.Date}, {run.DurationSeconds:0} s");
        text.AppendLine(CultureInfo.InvariantCulture, $"Machine: {run.Machine.Cpu}, {run.Machine.Cores} cores, {run.Machine.Memory}; {run.Machine.Os}; load average at start {run.Machine.LoadAverageAtStart}");
        text.AppendLine(CultureInfo.InvariantCulture, $"Pinning: {run.Pinning}");
        text.AppendLine(CultureInfo.InvariantCulture, $"Telemetry: {run.Telemetry}");
        text.AppendLine();

        var cpuRange = $"≤{CpuLevels(run)} streams";
        text.AppendLine(CultureInfo.InvariantCulture, $"| peer | first token p50 / p99 ms | added over emulator | CPU ms / 1k tokens, server ({cpuRange}) | same, emulator | streams held (p99 gap < {BenchSettings.HeldP99GapMs} ms, nothing lost) | KiB per idle stream |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var peer in run.Peers)
        {
            if (peer.Missing is not null || peer.Error is not null)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"| {peer.Name} | {peer.Missing ?? "failed: " + peer.Error} | | | | | |");
                continue;
            }

            var server = peer.Name == "emulator" ? "emulator" : peer.Name;
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {peer.Name} | {F(peer.FirstToken?.P50Ms)} / {F(peer.FirstToken?.P99Ms)} | {Added(peer.FirstToken)} | {CpuRange(run, peer, server)} | {(peer.Name == "emulator" ? "-" : CpuRange(run, peer, "emulator"))} | {Held(peer, BenchSettings.HeldP99GapMs)} | {F(peer.IdleMemory?.KibPerStream.GetValueOrDefault(server))} |");
        }

        if (run.Peers.FirstOrDefault(peer => peer.Name == "emulator") is { Ladder.Count: > 0 } emulator)
        {
            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture, $"Emulator alone: streams paced at 50 tokens/s with p99 gap < {BenchSettings.EmulatorGoalP99GapMs} ms and nothing lost: {Held(emulator, BenchSettings.EmulatorGoalP99GapMs)}.");
        }

        var api = run.Peers.FirstOrDefault(peer => peer.Name == "api" && peer.FirstToken is not null);
        if (run.Peers.FirstOrDefault(peer => peer.Name == "web" && peer.FirstToken is not null) is { } web && api is not null)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"Web proxy: +{F(web.FirstToken!.P50Ms - api.FirstToken!.P50Ms)} / +{F(web.FirstToken.P99Ms - api.FirstToken.P99Ms)} ms first token p50 / p99 over the API; its own CPU {CpuRange(run, web, "web")} ms per 1k tokens.");
        }

        foreach (var peer in run.Peers.Where(peer => peer.Ladder.Count > 0))
        {
            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture, $"{peer.Name}: {peer.Description} ({peer.ExpectedTokensPerStream} tokens per stream at 50 tokens/s)");
            text.AppendLine(CultureInfo.InvariantCulture, $"| streams | gap p50 ms | gap p99 ms | gap max ms | first token p99 ms | failed | tokens lost | CPU ms / 1k tokens | load client CPU / 1k (core share) | s |");
            text.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|");
            foreach (var level in peer.Ladder)
            {
                var cpu = string.Join(", ", level.CpuMsPer1kTokens.Select(pair => $"{pair.Key} {F(pair.Value)}"));
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"| {level.Streams} | {F(level.P50GapMs)} | {F(level.P99GapMs)} | {F(level.MaxGapMs)} | {F(level.FirstTokenP99Ms)} | {level.Failed}{(level.Cut ? " (cut)" : "")} | {level.TokensLost} | {cpu} | {F(level.ClientCpuMsPer1kTokens)} ({level.ClientCoreShare:0.00}) | {F(level.Seconds)} |");
            }
        }

        return text.ToString();
    }

    // The CPU figure is taken where every peer still keeps up, as the reference measurement did (100-250).
    private static int CpuLevels(RunResult run) => run.Settings.Ladder.Where(level => level <= 250).DefaultIfEmpty(run.Settings.Ladder[0]).Max();

    private static string CpuRange(RunResult run, PeerResult peer, string process)
    {
        var values = peer.Ladder
            .Where(level => level.Streams <= CpuLevels(run) && level.CpuMsPer1kTokens.ContainsKey(process))
            .Select(level => level.CpuMsPer1kTokens[process])
            .ToList();
        return values.Count == 0 ? "-" : values.Min() == values.Max() ? F(values[0]) : $"{F(values.Min())}-{F(values.Max())}";
    }

    private static string Held(PeerResult peer, double p99GapMs)
    {
        var held = peer.Ladder.Where(level => level.Held(p99GapMs)).Select(level => level.Streams).DefaultIfEmpty(0).Max();
        var firstMissed = peer.Ladder.Where(level => !level.Held(p99GapMs)).Select(level => level.Streams).DefaultIfEmpty(0).Min();
        return held == 0 ? (firstMissed == 0 ? "-" : $"< {firstMissed}")
            : firstMissed == 0 ? $"≥ {held}"
            : $"{held} (not {firstMissed})";
    }

    private static string Added(FirstTokenResult? firstToken) =>
        firstToken?.AddedP50Ms is { } p50 ? $"{Signed(p50)} / {Signed(firstToken.AddedP99Ms!.Value)}" : "-";

    private static string Signed(double value) => value >= 0 ? "+" + F(value) : F(value);

    private static string F(double? value) => value is { } v && double.IsFinite(v) ? v.ToString("0.0", CultureInfo.InvariantCulture) : "-";

    public static void WriteJson(RunResult run, string path) => File.WriteAllText(path, JsonSerializer.Serialize(run, Json) + "\n");

    /// <summary>Inter-token gap (p50 dashed, p99 solid) against concurrency, one colour per peer, log scale across.</summary>
    public static void WriteChart(RunResult run, string path)
    {
        const int width = 760, height = 420, left = 60, right = 170, top = 40, bottom = 50;
        const double maxGap = 200;
        string[] colours = ["#444444", "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];
        var levels = run.Settings.Ladder;
        double minX = Math.Log10(levels[0]), maxX = Math.Log10(levels[^1]);
        if (maxX <= minX)
        {
            maxX = minX + 1;
        }

        double X(int streams) => left + (Math.Log10(streams) - minX) / (maxX - minX) * (width - left - right);
        double Y(double gap) => top + (1 - Math.Min(gap, maxGap) / maxGap) * (height - top - bottom);
        string N(double value) => value.ToString("0.#", CultureInfo.InvariantCulture);

        var svg = new StringBuilder();
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<rect width="{width}" height="{height}" fill="white"/>""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{left}" y="22" font-size="14">Inter-token gap at 50 tokens/s per stream ({run.Date}, {run.Mode})</text>""");
        foreach (var gap in new[] { 0, 20, 40, 100, 150, 200 })
        {
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<line x1="{left}" x2="{width - right}" y1="{N(Y(gap))}" y2="{N(Y(gap))}" stroke="#ddd"/><text x="{left - 8}" y="{N(Y(gap) + 4)}" text-anchor="end">{gap}</text>""");
        }

        foreach (var streams in levels)
        {
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<line x1="{N(X(streams))}" x2="{N(X(streams))}" y1="{top}" y2="{height - bottom}" stroke="#eee"/><text x="{N(X(streams))}" y="{height - bottom + 16}" text-anchor="middle">{streams}</text>""");
        }

        svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{(left + width - right) / 2}" y="{height - 12}" text-anchor="middle">concurrent streams (log scale)</text>""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="16" y="{(top + height - bottom) / 2}" transform="rotate(-90 16 {(top + height - bottom) / 2})" text-anchor="middle">gap ms (p99 solid, p50 dashed; capped at {maxGap})</text>""");

        var measured = run.Peers.Where(peer => peer.Ladder.Count > 0).ToList();
        for (var i = 0; i < measured.Count; i++)
        {
            var peer = measured[i];
            var colour = colours[i % colours.Length];
            string Points(Func<LevelResult, double> gap) =>
                string.Join(" ", peer.Ladder.Where(level => double.IsFinite(gap(level))).Select(level => $"{N(X(level.Streams))},{N(Y(gap(level)))}"));
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<polyline fill="none" stroke="{colour}" stroke-width="2" points="{Points(level => level.P99GapMs)}"/>""");
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<polyline fill="none" stroke="{colour}" stroke-width="1.5" stroke-dasharray="5 4" points="{Points(level => level.P50GapMs)}"/>""");
            foreach (var level in peer.Ladder.Where(level => level.Failed > 0))
            {
                svg.AppendLine(CultureInfo.InvariantCulture, $"""<circle cx="{N(X(level.Streams))}" cy="{N(Y(level.P99GapMs))}" r="4" fill="none" stroke="{colour}"><title>{peer.Name}: {level.Failed} of {level.Streams} streams failed</title></circle>""");
            }

            var legendY = top + 10 + i * 20;
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<line x1="{width - right + 15}" x2="{width - right + 40}" y1="{legendY}" y2="{legendY}" stroke="{colour}" stroke-width="2"/><text x="{width - right + 46}" y="{legendY + 4}">{peer.Name}</text>""");
        }

        svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{width - right + 15}" y="{top + 20 + measured.Count * 20}" font-size="11">o = streams failed</text>""");
        svg.AppendLine("</svg>");
        File.WriteAllText(path, svg.ToString());
    }
}
