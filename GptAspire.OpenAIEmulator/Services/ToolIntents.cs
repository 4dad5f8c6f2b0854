using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using GptAspire.OpenAIEmulator.Models;

namespace GptAspire.OpenAIEmulator.Services;

/// <summary>
/// What a question asks that one of the app's two tools does, as a model would see it: the time in a place
/// (<c>get_current_time</c>, <c>{"timeZone": IANA zone}</c>, from a small city table or a zone named as is, when
/// the question asks what time it is, or says "time" beside a place) and
/// arithmetic (<c>calculate</c>, <c>{"expression": ...}</c>, two or more numbers joined by + - * / ^ %). A question
/// can ask for several (the time in two cities, and a sum): the calls come in the order they are asked.
/// </summary>
public static partial class ToolIntents
{
    public const string TimeTool = "get_current_time";
    public const string CalculateTool = "calculate";

    private static readonly (string City, string Zone)[] Cities =
    [
        ("new york", "America/New_York"), ("los angeles", "America/Los_Angeles"), ("san francisco", "America/Los_Angeles"),
        ("seattle", "America/Los_Angeles"), ("chicago", "America/Chicago"), ("toronto", "America/Toronto"),
        ("sao paulo", "America/Sao_Paulo"), ("são paulo", "America/Sao_Paulo"), ("mexico city", "America/Mexico_City"),
        ("london", "Europe/London"), ("paris", "Europe/Paris"), ("berlin", "Europe/Berlin"), ("madrid", "Europe/Madrid"),
        ("rome", "Europe/Rome"), ("amsterdam", "Europe/Amsterdam"), ("stockholm", "Europe/Stockholm"), ("moscow", "Europe/Moscow"),
        ("dubai", "Asia/Dubai"), ("mumbai", "Asia/Kolkata"), ("delhi", "Asia/Kolkata"), ("singapore", "Asia/Singapore"),
        ("hong kong", "Asia/Hong_Kong"), ("shanghai", "Asia/Shanghai"), ("beijing", "Asia/Shanghai"), ("seoul", "Asia/Seoul"),
        ("tokyo", "Asia/Tokyo"), ("sydney", "Australia/Sydney"), ("auckland", "Pacific/Auckland"), ("utc", "UTC"),
    ];

    /// <summary>The calls <paramref name="question"/> asks for, among the tools named <paramref name="offered"/>.</summary>
    public static IReadOnlyList<ForcedToolCall> Match(string question, IReadOnlyCollection<string> offered)
    {
        var found = new List<(int At, ForcedToolCall Call)>();
        if (offered.Contains(TimeTool))
        {
            var zones = Zones(question);
            var asked = TimeQuestion().Match(question);
            if (zones.Count > 0 && (asked.Success || TimeWord().IsMatch(question)))
            {
                found.AddRange(zones.Select(zone => (zone.At, TimeCall(zone.Zone))));
            }
            else if (asked.Success)
            {
                // "What time is it?" with no place: a model asks for UTC rather than guess where the user is.
                found.Add((asked.Index, TimeCall("UTC")));
            }
        }

        if (offered.Contains(CalculateTool))
        {
            foreach (Match match in Arithmetic().Matches(question))
            {
                found.Add((match.Index, Call(CalculateTool, "expression", Balanced(match.Value.Trim()))));
            }
        }

        return [.. found.OrderBy(item => item.At).Select(item => item.Call)];
    }

    private static List<(int At, string Zone)> Zones(string question)
    {
        var zones = new List<(int At, string Zone)>();
        foreach (var (city, zone) in Cities)
        {
            var at = CityAt(question, city);
            if (at >= 0 && !zones.Any(found => found.Zone == zone))
            {
                zones.Add((at, zone));
            }
        }

        foreach (Match match in IanaZone().Matches(question))
        {
            if (!zones.Any(found => found.Zone == match.Value))
            {
                zones.Add((match.Index, match.Value));
            }
        }

        return zones;
    }

    private static int CityAt(string question, string city)
    {
        for (var at = question.IndexOf(city, StringComparison.OrdinalIgnoreCase); at >= 0; at = question.IndexOf(city, at + 1, StringComparison.OrdinalIgnoreCase))
        {
            var end = at + city.Length;
            if ((at == 0 || !char.IsLetter(question[at - 1])) && (end == question.Length || !char.IsLetter(question[end])))
            {
                return at;
            }
        }

        return -1;
    }

    // "12*(3+4)" is matched from "12" to "4)": parentheses the match cut in half are dropped.
    private static string Balanced(string expression)
    {
        while (expression.Count(c => c == '(') > expression.Count(c => c == ')') && expression.StartsWith('('))
        {
            expression = expression[1..].TrimStart();
        }

        while (expression.Count(c => c == ')') > expression.Count(c => c == '(') && expression.EndsWith(')'))
        {
            expression = expression[..^1].TrimEnd();
        }

        return expression;
    }

    private static ForcedToolCall TimeCall(string zone) => Call(TimeTool, "timeZone", zone);

    private static ForcedToolCall Call(string name, string parameter, string value) =>
        new(name, new JsonObject { [parameter] = value }.ToJsonString(EmulatorJsonContext.Wire.Options));

    [GeneratedRegex(@"\b(?:what(?:'s|\s+is)?\s+(?:the\s+)?(?:current\s+|local\s+)?time|time\s+is\s+it|current\s+time|local\s+time|time\s+now)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex TimeQuestion();

    // "Tokyo time", "the time in London": the word is enough beside a place.
    [GeneratedRegex(@"\btime\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex TimeWord();

    [GeneratedRegex(@"\b(?:[A-Z][A-Za-z_]+/[A-Z][A-Za-z_]+(?:/[A-Z][A-Za-z_]+)?|Etc/[A-Za-z0-9+-]+)\b", RegexOptions.CultureInvariant)]
    private static partial Regex IanaZone();

    // Standing alone: not inside an id or a word ("1b4e-11d2"), and not a date ("2026-12-05").
    [GeneratedRegex(@"(?<![\w.-])(?!\d{4}-\d{2}-\d{2}\b)\(*\s*-?\d+(?:\.\d+)?\s*\)*(?:\s*[-+*/^%]\s*\(*\s*-?\d+(?:\.\d+)?\s*\)*)+(?![\w.])", RegexOptions.CultureInvariant)]
    private static partial Regex Arithmetic();
}
