using System.Text;
using System.Text.Json;
using GptAspire.Api.Models;

namespace GptAspire.Api.Services.Streams;

/// <summary>
/// One event of a generation as it goes on the wire: its id (0, 1, 2, ... per stream), its name and its whole
/// SSE frame (<c>event:</c>, <c>data:</c>, <c>id:</c> and the blank line). The frame is encoded once, when the
/// event is made, and every reader on every replica sends the same bytes.
/// </summary>
/// <param name="Id">The event id.</param>
/// <param name="Name">One of <see cref="ChatEventNames"/>.</param>
/// <param name="Frame">The UTF-8 SSE frame.</param>
/// <param name="ErrorCode">The <c>code</c> of an <c>error</c> event, for telemetry; null otherwise.</param>
public sealed record ChatStreamEvent(long Id, string Name, ReadOnlyMemory<byte> Frame, string? ErrorCode = null)
{
    private static readonly byte[] EventPrefix = "event: "u8.ToArray();
    private static readonly byte[] DataPrefix = "\ndata: "u8.ToArray();

    /// <summary>True for the event that ends every stream: <c>finish</c> or <c>error</c>.</summary>
    public bool IsTerminal => Name is ChatEventNames.Finish or ChatEventNames.Error;

    /// <summary>True for the events that close a stream (<c>usage</c>, then <c>finish</c>, or <c>error</c>): always taken.</summary>
    public bool IsClosing => IsTerminal || Name == ChatEventNames.Usage;

    /// <summary>The event a stored frame holds (from another replica): its name and, for an error, its code.</summary>
    public static ChatStreamEvent FromFrame(long id, ReadOnlyMemory<byte> frame)
    {
        var name = NameOf(frame.Span);
        string? code = null;
        if (name == ChatEventNames.Error && Data(frame.Span) is { IsEmpty: false } data)
        {
            var reader = new Utf8JsonReader(data);
            if (JsonDocument.TryParseValue(ref reader, out var document))
            {
                using (document)
                {
                    code = document.RootElement.TryGetProperty("code", out var value) ? value.GetString() : null;
                }
            }
        }

        return new ChatStreamEvent(id, name, frame, code);
    }

    /// <summary>The name in a frame's <c>event:</c> line.</summary>
    public static string NameOf(ReadOnlySpan<byte> frame)
    {
        if (!frame.StartsWith(EventPrefix))
        {
            return "";
        }

        var rest = frame[EventPrefix.Length..];
        var end = rest.IndexOf((byte)'\n');
        var name = end < 0 ? rest : rest[..end];
        return name.SequenceEqual("token"u8) ? ChatEventNames.Token : Encoding.UTF8.GetString(name);
    }

    /// <summary>The JSON of a frame's <c>data:</c> line (the API writes one per event).</summary>
    public static ReadOnlySpan<byte> Data(ReadOnlySpan<byte> frame)
    {
        var start = frame.IndexOf(DataPrefix);
        if (start < 0)
        {
            return [];
        }

        var rest = frame[(start + DataPrefix.Length)..];
        var end = rest.IndexOf((byte)'\n');
        return end < 0 ? rest : rest[..end];
    }
}
