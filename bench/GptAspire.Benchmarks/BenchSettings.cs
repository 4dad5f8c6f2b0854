namespace GptAspire.Benchmarks;

/// <summary>How much each measurement does: a full run (about 10 minutes) or <c>--quick</c> (under a minute).</summary>
public sealed record BenchSettings
{
    public required string Mode { get; init; }

    /// <summary>Sequential single-stream requests for time to first token (after a few unrecorded ones).</summary>
    public required int FirstTokenSamples { get; init; }

    public required IReadOnlyList<int> Ladder { get; init; }

    /// <summary>Answer tokens per ladder stream: at 50 tokens/s, 250 tokens keep a stream open 5 s.</summary>
    public required int TokensPerStream { get; init; }

    /// <summary>Extra time a ladder level may take beyond its ramp and its streams' ideal length; then it is cut.</summary>
    public required TimeSpan LevelGrace { get; init; }

    public required int IdleStreams { get; init; }

    /// <summary>How long the idle streams stay open after their memory is read: time to take a heap dump.</summary>
    public TimeSpan IdleHold { get; init; }

    /// <summary>A pause for the servers to settle: before and after opening the idle streams, between ladder levels.</summary>
    public required TimeSpan Settle { get; init; }

    public static BenchSettings Full { get; } = new()
    {
        Mode = "full",
        FirstTokenSamples = 100,
        Ladder = [100, 250, 500, 1000, 2000, 4000],
        TokensPerStream = 250,
        LevelGrace = TimeSpan.FromSeconds(10),
        IdleStreams = 500,
        Settle = TimeSpan.FromSeconds(1.5),
    };

    public static BenchSettings Quick { get; } = new()
    {
        Mode = "quick",
        FirstTokenSamples = 10,
        Ladder = [20, 100],
        TokensPerStream = 50,
        LevelGrace = TimeSpan.FromSeconds(4),
        IdleStreams = 50,
        Settle = TimeSpan.FromSeconds(0.5),
    };

    // The emulator answers at 50 tokens/s by default (Emulator:TokenDelayMs = 20).
    public const double TokenDelayMs = 20;

    // A level is "held" when its p99 gap stays under this and nothing is lost; the ladder stops climbing
    // for a peer once a level is far past it, to keep the run short.
    public const double HeldP99GapMs = 40;
    public const double EmulatorGoalP99GapMs = 25;
    public const double GiveUpP99GapMs = 250;
    public const double GiveUpFailedShare = 0.05;
}

/// <summary>Where the bench runs and where it writes.</summary>
public sealed record BenchContext(string RepoRoot, string LogDirectory, int? ServerCore, int? ClientCore);
