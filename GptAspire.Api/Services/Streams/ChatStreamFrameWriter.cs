using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using GptAspire.Api.Models;

namespace GptAspire.Api.Services.Streams;

/// <summary>
/// Encodes a generation's events as SSE frames, in the layout of <see cref="System.Net.ServerSentEvents.SseFormatter"/>
/// (<c>event: NAME</c>, <c>data: JSON</c>, <c>id: N</c>, blank line). One writer per generation: it reuses its
/// buffers, so a token costs one JSON write and the frame's own array.
/// </summary>
public sealed class ChatStreamFrameWriter(JsonSerializerOptions json, long firstId = 0)
{
    private static readonly byte[] EventPrefix = "event: "u8.ToArray();
    private static readonly byte[] DataPrefix = "\ndata: "u8.ToArray();
    private static readonly byte[] IdPrefix = "\nid: "u8.ToArray();
    private static readonly byte[] End = "\n\n"u8.ToArray();

    private readonly ArrayBufferWriter<byte> _buffer = new(256);
    private readonly JsonTypeInfo<TokenEvent> _tokenType = (JsonTypeInfo<TokenEvent>)json.GetTypeInfo(typeof(TokenEvent));
    private Utf8JsonWriter? _jsonWriter;
    private long _nextId = firstId;

    /// <summary>The id the next event gets.</summary>
    public long NextId => _nextId;

    /// <summary>Takes back the id of the last event made, when the stream refused it.</summary>
    public void Rewind() => _nextId--;

    public ChatStreamEvent Token(string text) => Encode(ChatEventNames.Token, new TokenEvent(text), _tokenType);

    public ChatStreamEvent Event<T>(string name, T data, string? errorCode = null) =>
        Encode(name, data, (JsonTypeInfo<T>)json.GetTypeInfo(typeof(T)), errorCode);

    /// <summary>
    /// An event with no <c>id:</c> line (the client keeps its <c>Last-Event-ID</c>), for one reader alone; it takes no
    /// id of the stream's.
    /// </summary>
    public ChatStreamEvent EventWithoutId<T>(string name, T data, string? errorCode = null) =>
        Encode(name, data, (JsonTypeInfo<T>)json.GetTypeInfo(typeof(T)), errorCode, withId: false);

    private ChatStreamEvent Encode<T>(string name, T data, JsonTypeInfo<T> type, string? errorCode = null, bool withId = true)
    {
        var id = withId ? _nextId++ : -1;
        _buffer.ResetWrittenCount();
        _buffer.Write(EventPrefix);
        Encoding.UTF8.GetBytes(name, _buffer);
        _buffer.Write(DataPrefix);

        if (_jsonWriter is null)
        {
            _jsonWriter = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Encoder = json.Encoder, SkipValidation = true });
        }
        else
        {
            _jsonWriter.Reset(_buffer);
        }

        JsonSerializer.Serialize(_jsonWriter, data, type);
        _jsonWriter.Flush();

        if (withId)
        {
            _buffer.Write(IdPrefix);
            var digits = _buffer.GetSpan(20);
            Utf8Formatter.TryFormat(id, digits, out var written);
            _buffer.Advance(written);
        }

        _buffer.Write(End);

        return new ChatStreamEvent(id, name, _buffer.WrittenSpan.ToArray(), errorCode);
    }
}
