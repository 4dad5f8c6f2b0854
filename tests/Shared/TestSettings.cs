namespace GptAspire.Tests;

/// <summary>Settings every API under test gets unless a test sets its own.</summary>
public static class TestSettings
{
    /// <summary>
    /// Every test is the same loopback client, so the per-client limits would be a budget for the whole suite:
    /// out of reach, unless a test that proves a limit sets it. Keys as in configuration (<c>Chat:RateLimits:...</c>).
    /// </summary>
    public static IReadOnlyDictionary<string, string> LimitsOutOfReach { get; } = new Dictionary<string, string>
    {
        ["Chat:RateLimits:BurstLimit"] = "100000",
        ["Chat:RateLimits:RequestsPerPeriod"] = "100000",
        ["Chat:RateLimits:ConcurrentStreams"] = "1000",
        ["Chat:RateLimits:ConcurrentGenerations"] = "1000",
    };

    /// <summary><see cref="LimitsOutOfReach"/> as environment variables (<c>Chat__RateLimits__...</c>), for a process.</summary>
    public static IEnumerable<(string Name, string Value)> LimitsOutOfReachEnvironment =>
        LimitsOutOfReach.Select(s => (s.Key.Replace(":", "__", StringComparison.Ordinal), s.Value));
}
