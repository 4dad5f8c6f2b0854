using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using GptAspire.OpenAIEmulator.Models;

namespace GptAspire.OpenAIEmulator.Services;

/// <summary>
/// Writes one streamed reply's <c>data:</c> events. The chunks of a reply's tokens differ only in their text,
/// so the bytes around it are serialized once per stream and each token costs a copy and the text's JSON
/// escaping, written straight into the response's buffer: no chunk object, dictionary or array per token.
/// Every other chunk goes through the serializer as it is.
/// </summary>
public sealed class ChunkWriter
{
    // Serialized in place of a token's text to find where the text goes; no token contains it.
    private const string Placeholder = "\u0000token\u0000";

    private static ReadOnlySpan<byte> DataPrefix => "data: "u8;
    private static ReadOnlySpan<byte> EventEnd => "\n\n"u8;

    private readonly JsonTypeInfo<ChatCompletionChunk> _typeInfo;
    private readonly byte[] _beforeText;
    private readonly byte[] _afterText;
    private readonly Utf8JsonWriter _text;

    public ChunkWriter(CompletionPlan plan)
    {
        var options = plan.IncludeUsage ? EmulatorJsonContext.WireWithNullUsage : EmulatorJsonContext.Wire;
        _typeInfo = options.ChatCompletionChunk;

        var template = JsonSerializer.SerializeToUtf8Bytes(ChatCompletionService.ContentChunk(plan, Placeholder), _typeInfo);
        var placeholder = JsonSerializer.SerializeToUtf8Bytes(Placeholder, options.String);
        var at = template.AsSpan().IndexOf(placeholder);
        _beforeText = [.. DataPrefix, .. template.AsSpan(0, at)];
        _afterText = [.. template.AsSpan(at + placeholder.Length), .. EventEnd];
        // The serializer's own escaping (its encoder), so a token's text is written exactly as it would be.
        _text = new Utf8JsonWriter(Stream.Null, new JsonWriterOptions { Encoder = options.Options.Encoder, SkipValidation = true });
    }

    /// <summary>The chunk of one token: <c>data: {..."delta":{"content":TEXT}...}</c>.</summary>
    public void WriteContent(IBufferWriter<byte> output, string text)
    {
        output.Write(_beforeText);
        _text.Reset(output);
        _text.WriteStringValue(text);
        _text.Flush();
        output.Write(_afterText);
    }

    /// <summary>Any other chunk (role, finish, usage, Azure's prompt filter results).</summary>
    public void WriteChunk(IBufferWriter<byte> output, ChatCompletionChunk chunk)
    {
        output.Write(DataPrefix);
        _text.Reset(output);
        JsonSerializer.Serialize(_text, chunk, _typeInfo);
        _text.Flush();
        output.Write(EventEnd);
    }

    public static void WriteDone(IBufferWriter<byte> output) => output.Write("data: [DONE]\n\n"u8);
}
