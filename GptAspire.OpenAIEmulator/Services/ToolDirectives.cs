namespace GptAspire.OpenAIEmulator.Services;

/// <summary>A call forced by <c>[emulator:tool=NAME {arguments}]</c>: the name and argument text exactly as written.</summary>
public sealed record ForcedToolCall(string Name, string Arguments);

/// <summary>
/// Finds the <c>[emulator:tool=NAME {arguments}]</c> directives of a message. Their arguments may be any text,
/// invalid JSON included (so that callers can test their handling of bad arguments), which the
/// <see cref="Scenario"/> pattern cannot take: the arguments run to the <c>]</c> that closes the directive,
/// with brackets and strings balanced as JSON's are. Without arguments a call gets <c>{}</c>.
/// </summary>
public static class ToolDirectives
{
    private const string Prefix = "[emulator:tool=";
    private const string DirectiveStart = "[emulator:";

    public static IReadOnlyList<ForcedToolCall> Parse(string? text)
    {
        var calls = new List<ForcedToolCall>();
        foreach (var (_, _, call) in Find(text))
        {
            calls.Add(call);
        }

        return calls;
    }

    /// <summary>The text without its tool directives.</summary>
    public static string Strip(string text)
    {
        var found = Find(text).ToList();
        if (found.Count == 0)
        {
            return text;
        }

        var rest = new System.Text.StringBuilder(text.Length);
        var at = 0;
        foreach (var (start, end, _) in found)
        {
            rest.Append(text, at, start - at);
            at = end + 1;
        }

        return rest.Append(text, at, text.Length - at).ToString();
    }

    private static IEnumerable<(int Start, int End, ForcedToolCall Call)> Find(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            yield break;
        }

        var from = 0;
        while (from < text.Length && text.IndexOf(Prefix, from, StringComparison.OrdinalIgnoreCase) is var start and >= 0)
        {
            var nameStart = start + Prefix.Length;
            var nameEnd = nameStart;
            while (nameEnd < text.Length && !char.IsWhiteSpace(text[nameEnd]) && text[nameEnd] != ']')
            {
                nameEnd++;
            }

            var argumentsStart = nameEnd;
            while (argumentsStart < text.Length && char.IsWhiteSpace(text[argumentsStart]))
            {
                argumentsStart++;
            }

            var end = argumentsStart < text.Length && text[argumentsStart] == ']' ? argumentsStart : ClosingBracket(text, argumentsStart);
            if (nameEnd == nameStart || end < 0)
            {
                from = nameStart;
                continue;
            }

            var arguments = text[argumentsStart..end].TrimEnd();
            yield return (start, end, new ForcedToolCall(text[nameStart..nameEnd], arguments.Length == 0 ? "{}" : arguments));
            from = end + 1;
        }
    }

    // The first ']' that closes no '[' of the arguments and lies outside their strings; for arguments whose
    // strings never close, the same ignoring strings; for brackets that never balance, the last ']'. Only up to
    // the next directive, which no arguments contain: so deliberately broken JSON still ends where it was meant to.
    private static int ClosingBracket(string text, int from)
    {
        var next = text.IndexOf(DirectiveStart, from, StringComparison.OrdinalIgnoreCase);
        var limit = next < 0 ? text.Length : next;
        var end = Scan(text, from, limit, strings: true);
        if (end < 0)
        {
            end = Scan(text, from, limit, strings: false);
        }

        if (end < 0 && limit > from)
        {
            end = text.LastIndexOf(']', limit - 1, limit - from);
        }

        return end;
    }

    private static int Scan(string text, int from, int limit, bool strings)
    {
        var open = new Stack<char>();
        var inString = false;
        for (var i = from; i < limit; i++)
        {
            var c = text[i];
            if (inString)
            {
                if (c == '\\')
                {
                    i++;
                }
                else if (c == '"')
                {
                    inString = false;
                }

                continue;
            }

            switch (c)
            {
                case '"' when strings:
                    inString = true;
                    break;
                case '{' or '[':
                    open.Push(c);
                    break;
                case '}' when open.TryPeek(out var top) && top == '{':
                    open.Pop();
                    break;
                case ']' when open.TryPeek(out var top) && top == '[':
                    open.Pop();
                    break;
                case ']':
                    return i;
            }
        }

        return -1;
    }
}
