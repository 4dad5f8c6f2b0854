namespace GptAspire.Api.Services.Chat;

/// <summary>
/// Where a continued answer meets the part that was streamed before a takeover. A model asked to continue its own
/// partial answer sometimes starts by repeating its last words; the seam holds back the continuation's first
/// characters and drops the longest start of them that the partial answer already ends with. Repeats shorter than
/// <see cref="MinOverlap"/> characters are kept: so short a match is as likely to be new text ("the", a space).
/// </summary>
public sealed class ContinuationSeam(string before)
{
    /// <summary>The shortest repeat that is trimmed.</summary>
    public const int MinOverlap = 16;

    // How much of the continuation is held back before deciding: enough for a repeated phrase.
    private const int Window = 48;

    private readonly string _tail = before.Length > 4 * Window ? before[^(4 * Window)..] : before;
    private string? _pending = "";

    /// <summary>The text to send for <paramref name="text"/>: empty while the seam is undecided.</summary>
    public string Next(string text)
    {
        if (_pending is null)
        {
            return text;
        }

        _pending += text;
        return _pending.Length < Window ? "" : Decide();
    }

    /// <summary>What is still held back, once the continuation has ended.</summary>
    public string Flush() => _pending is null ? "" : Decide();

    private string Decide()
    {
        var pending = _pending!;
        _pending = null;
        for (var length = Math.Min(pending.Length, _tail.Length); length >= MinOverlap; length--)
        {
            if (_tail.EndsWith(pending.AsSpan(0, length), StringComparison.Ordinal))
            {
                return pending[length..];
            }
        }

        return pending;
    }
}
