namespace GptAspire.Benchmarks;

public sealed record RunResult
{
    public required string Date { get; init; }
    public required string Mode { get; init; }
    public required string Command { get; init; }
    public required MachineInfo Machine { get; init; }
    public required string Pinning { get; init; }
    public required string Telemetry { get; init; }
    public required BenchSettings Settings { get; init; }
    public required double DurationSeconds { get; init; }
    public required IReadOnlyList<PeerResult> Peers { get; init; }
}

public sealed record MachineInfo(string Cpu, int Cores, string Memory, string Os, string Dotnet, string Node, string Python, string LoadAverageAtStart);

public sealed record PeerResult
{
    public required string Name { get; init; }
    public required string Description { get; init; }

    /// <summary>Set when the peer was not measured: what to install.</summary>
    public string? Missing { get; init; }

    /// <summary>Set when a measurement of the peer failed.</summary>
    public string? Error { get; set; }

    public FirstTokenResult? FirstToken { get; set; }
    public List<LevelResult> Ladder { get; } = [];
    public IdleMemoryResult? IdleMemory { get; set; }

    /// <summary>Token events per ladder stream, measured on one calm stream before the ladder.</summary>
    public int ExpectedTokensPerStream { get; set; }
}

/// <summary>Single-stream time to first token event; "added" is over the emulator direct.</summary>
public sealed record FirstTokenResult(int Samples, double P50Ms, double P99Ms)
{
    public double? AddedP50Ms { get; set; }
    public double? AddedP99Ms { get; set; }
}

public sealed record LevelResult
{
    public required int Streams { get; init; }
    public required double Seconds { get; init; }
    public required double P50GapMs { get; init; }
    public required double P99GapMs { get; init; }
    public required double MaxGapMs { get; init; }
    public required double FirstTokenP99Ms { get; init; }
    public required int Failed { get; init; }
    public required long TokensLost { get; init; }
    public required long Tokens { get; init; }

    /// <summary>CPU milliseconds per 1,000 tokens received, per process of the peer's chain.</summary>
    public required Dictionary<string, double> CpuMsPer1kTokens { get; init; }

    /// <summary>The load client's own CPU per 1,000 tokens, and its share of its core.</summary>
    public required double ClientCpuMsPer1kTokens { get; init; }
    public required double ClientCoreShare { get; init; }

    /// <summary>True when the level ran out of time and its open streams were cut (counted as failed).</summary>
    public required bool Cut { get; init; }

    public bool Held(double p99GapMs) => Failed == 0 && TokensLost == 0 && P99GapMs < p99GapMs;
}

/// <summary>Resident memory added per stream held open and idle (waiting for its first token), per process.</summary>
public sealed record IdleMemoryResult(int Streams, int WithHeaders, Dictionary<string, double> KibPerStream);
