using System.Globalization;
using System.Text.RegularExpressions;

namespace GptAspire.OpenAIEmulator.Services;

/// <summary>
/// What the <c>[emulator:NAME]</c> / <c>[emulator:NAME=VALUE]</c> directives of the last user message
/// ask for. The table is in the repository README; unknown names are ignored.
/// </summary>
public sealed partial record Scenario
{
    public const int DefaultRetryAfterSeconds = 2;
    public const int DefaultFirstTokenDelayMs = 3000;
    public const int DefaultLongTokens = 1500;
    public const int MaxLongTokens = 16_384;
    public const int MaxToolRounds = 1000;

    public static Scenario None { get; } = new();

    /// <summary>The directive names found, in order, for the request log.</summary>
    public IReadOnlyList<string> Names { get; init; } = [];

    public int? RateLimitSeconds { get; init; }
    /// <summary>The <c>Retry-After</c> of a first sighting under <c>rate-limit-once</c>; null when not asked for.</summary>
    public int? RateLimitOnceSeconds { get; init; }
    public bool ContentFilterPrompt { get; init; }
    public bool ContentFilter { get; init; }
    public bool ServerError { get; init; }
    public bool Forbidden { get; init; }
    public bool Drop { get; init; }
    public bool BadChunk { get; init; }
    public int? FirstTokenDelayMs { get; init; }
    /// <summary>About how many tokens a long reply has; null for an ordinary reply.</summary>
    public int? LongTokens { get; init; }
    public bool Long => LongTokens is not null;
    public int? TokenDelayMs { get; init; }
    public bool Xss { get; init; }

    /// <summary>Calls forced by <c>[emulator:tool=NAME {arguments}]</c>, in order (see <see cref="ToolDirectives"/>).</summary>
    public IReadOnlyList<ForcedToolCall> ToolCalls { get; init; } = [];

    /// <summary>How many rounds of tool calls come before the text answer (<c>[emulator:tool-rounds=N]</c>); 1 unless asked.</summary>
    public int ToolRounds { get; init; } = 1;

    public static Scenario Parse(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return None;
        }

        var scenario = None;
        var names = new List<string>();
        if (ToolDirectives.Parse(text) is { Count: > 0 } toolCalls)
        {
            scenario = scenario with { ToolCalls = toolCalls };
            names.Add("tool");
        }

        foreach (Match match in Directive().Matches(ToolDirectives.Strip(text)))
        {
            var name = match.Groups["name"].Value.ToLowerInvariant();
            var value = match.Groups["value"].Success ? match.Groups["value"].Value : null;
            var next = name switch
            {
                "rate-limit" => scenario with { RateLimitSeconds = Number(value, 0, 3600) ?? DefaultRetryAfterSeconds },
                "rate-limit-once" => scenario with { RateLimitOnceSeconds = Number(value, 0, 3600) ?? DefaultRetryAfterSeconds },
                "content-filter-prompt" => scenario with { ContentFilterPrompt = true },
                "content-filter" => scenario with { ContentFilter = true },
                "server-error" => scenario with { ServerError = true },
                "forbidden" => scenario with { Forbidden = true },
                "drop" => scenario with { Drop = true },
                "bad-chunk" => scenario with { BadChunk = true },
                "slow-first-token" => scenario with { FirstTokenDelayMs = Number(value, 0, 600_000) ?? DefaultFirstTokenDelayMs },
                "long" => scenario with { LongTokens = Number(value, 1, MaxLongTokens) ?? DefaultLongTokens },
                "delay" => scenario with { TokenDelayMs = Number(value, 0, 60_000) ?? scenario.TokenDelayMs },
                "xss" => scenario with { Xss = true },
                "tool-rounds" => scenario with { ToolRounds = Number(value, 1, MaxToolRounds) ?? scenario.ToolRounds },
                _ => null,
            };
            if (next is not null)
            {
                scenario = next;
                if (!names.Contains(name))
                {
                    names.Add(name);
                }
            }
        }

        return names.Count == 0 ? None : scenario with { Names = names };
    }

    /// <summary>The text without its directives, so they neither steer nor appear in the reply.</summary>
    public static string Strip(string text) => Directive().Replace(ToolDirectives.Strip(text), "").Trim();

    private static int? Number(string? value, int min, int max) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            ? Math.Clamp(number, min, max)
            : null;

    [GeneratedRegex(@"\[emulator:(?<name>[a-z][a-z-]*)(?:=(?<value>[^\]\s]*))?\]", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Directive();
}
