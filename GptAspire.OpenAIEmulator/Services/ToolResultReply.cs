using System.Globalization;
using System.Text;
using System.Text.Json;
using GptAspire.OpenAIEmulator.Models;

namespace GptAspire.OpenAIEmulator.Services;

/// <summary>
/// The answer after tool results: a sentence per result of the last round of calls, in the order of the calls,
/// between an opening and a closing chosen by the seed. Results are opaque to the emulator; it quotes what it
/// recognises (<c>localTime</c> and <c>timeZone</c>, <c>value</c> and <c>expression</c>, <c>error</c>) and
/// shows anything else as returned. Quoted text is put in code spans, so a result cannot inject markup.
/// </summary>
public static class ToolResultReply
{
    private const int MaxQuotedLength = 200;

    private static readonly string[] Openings =
    [
        "Here is what the tools returned.",
        "I checked with the tools.",
        "Done: here are the results.",
    ];

    private static readonly string[] Closings =
    [
        "Let me know if you need anything else.",
        "Anything else you would like me to look up?",
        "Ask again any time for fresh figures.",
    ];

    public static string Compose(IReadOnlyList<ChatMessage> conversation, ulong seed)
    {
        var random = new DeterministicRandom(seed);
        var lastCalls = -1;
        for (var i = conversation.Count - 1; i >= 0 && lastCalls < 0; i--)
        {
            if (conversation[i].Role == "assistant" && conversation[i].ToolCalls is { Count: > 0 })
            {
                lastCalls = i;
            }
        }

        var calls = lastCalls >= 0 ? conversation[lastCalls].ToolCalls! : [];
        var sentences = conversation.Skip(lastCalls + 1)
            .Where(message => message.Role == "tool")
            .Select(result => Sentence(calls.FirstOrDefault(call => call.Id == result.ToolCallId), result.Text()))
            .ToList();

        var text = new StringBuilder(random.Pick(Openings)).Append("\n\n");
        if (sentences.Count == 1)
        {
            text.Append(sentences[0]);
        }
        else
        {
            text.AppendJoin('\n', sentences.Select(sentence => $"- {sentence}"));
        }

        return text.Append("\n\n").Append(random.Pick(Closings)).ToString();
    }

    private static string Sentence(ToolCall? call, string result)
    {
        var name = call?.Function?.Name ?? "tool";
        if (!TryParseObject(result, out var json))
        {
            return $"{Code(name)} returned {Code(result)}.";
        }

        if (json.TryGetProperty("error", out var error))
        {
            var message = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var inner) ? inner : error;
            return $"{Code(name)} failed: {Code(Scalar(message))}.";
        }

        if (json.TryGetProperty("localTime", out var localTime) && localTime.ValueKind == JsonValueKind.String)
        {
            var zone = json.TryGetProperty("timeZone", out var timeZone) ? Scalar(timeZone) : "there";
            return DateTimeOffset.TryParse(localTime.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.None, out var time)
                ? $"In {Code(zone)} it is **{time.ToString("HH:mm", CultureInfo.InvariantCulture)}** on {time.ToString("dddd d MMMM yyyy", CultureInfo.InvariantCulture)} ({Code(localTime.GetString()!)})."
                : $"In {Code(zone)} it is {Code(localTime.GetString()!)}.";
        }

        if (json.TryGetProperty("value", out var value))
        {
            var expression = json.TryGetProperty("expression", out var asked) ? Scalar(asked) : Argument(call, "expression");
            // A number cannot carry markup and reads better bare.
            var shown = value.ValueKind == JsonValueKind.Number ? value.GetRawText() : Code(Scalar(value));
            return expression is null ? $"The result is **{shown}**." : $"{Code(expression)} = **{shown}**.";
        }

        return $"{Code(name)} returned {Code(result)}.";
    }

    private static bool TryParseObject(string text, out JsonElement json)
    {
        try
        {
            json = JsonDocument.Parse(text).RootElement.Clone();
            // A function that returns JSON text reaches here serialized once more, as a JSON string.
            if (json.ValueKind == JsonValueKind.String && json.GetString() is { } inner && inner.TrimStart().StartsWith('{'))
            {
                json = JsonDocument.Parse(inner).RootElement.Clone();
            }

            return json.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            json = default;
            return false;
        }
    }

    private static string? Argument(ToolCall? call, string name) =>
        call?.Function?.Arguments is { } arguments && TryParseObject(arguments, out var json) && json.TryGetProperty(name, out var value)
            ? Scalar(value)
            : null;

    private static string Scalar(JsonElement value) => value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();

    // A code span that holds any text: no backticks or line breaks inside, and not too long to read.
    private static string Code(string text)
    {
        var flat = text.ReplaceLineEndings(" ").Replace('`', '\'').Trim();
        if (flat.Length > MaxQuotedLength)
        {
            flat = string.Concat(flat.AsSpan(0, MaxQuotedLength), "…");
        }

        return flat.Length == 0 ? "(nothing)" : $"`{flat}`";
    }
}
