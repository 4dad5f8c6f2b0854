using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace GptAspire.Tokenization;

/// <summary>One message of a chat, as far as its token count goes.</summary>
/// <param name="Role"><c>system</c>, <c>user</c>, <c>assistant</c>, ...</param>
/// <param name="Content">The text of the message.</param>
/// <param name="Name">The optional participant name of OpenAI's chat format.</param>
public readonly record struct ChatTokenMessage(string Role, string Content, string? Name = null);

/// <summary>
/// Counts tokens as OpenAI bills them, in time linear in the text whatever the text is.
/// </summary>
/// <remarks>
/// A tiktoken tokenizer first splits text into pieces (a word, a run of punctuation, of spaces, up to three
/// digits) and then merges each piece's bytes pair by pair, which takes time quadratic in the piece's length.
/// A piece is as long as the run that makes it: one megabyte of a single letter is one piece, and counting it
/// exactly keeps a core busy for minutes. Here pieces longer than <see cref="ChunkLength"/> characters are
/// counted <see cref="ChunkLength"/> characters at a time. Text made of ordinary words is counted exactly;
/// a longer run may be counted a token or so per chunk differently from OpenAI (under 1% in the tests).
/// Creating a tokenizer takes hundreds of milliseconds: make one counter per app.
/// </remarks>
public sealed class ChatTokenCounter(Tokenizer tokenizer)
{
    /// <summary>The longest run of characters merged as one piece; longer pieces are counted in chunks this long.</summary>
    public const int ChunkLength = 128;

    // OpenAI's chat format wraps each message in a few tokens (one more with a name) and primes the reply with three more.
    private const int TokensPerMessage = 3;
    private const int TokensPerName = 1;
    private const int ReplyPriming = 3;

    /// <summary>The tokenizer of <paramref name="model"/>, or o200k_base (GPT-4o's) when the name is unknown.</summary>
    public static ChatTokenCounter ForModel(string model)
    {
        try
        {
            return new ChatTokenCounter(TiktokenTokenizer.CreateForModel(model));
        }
        catch (NotSupportedException)
        {
            return new ChatTokenCounter(TiktokenTokenizer.CreateForModel("gpt-4o"));
        }
    }

    /// <summary>The underlying tokenizer, for encoding and decoding.</summary>
    public Tokenizer Tokenizer => tokenizer;

    /// <summary>
    /// The tokens of <paramref name="text"/>. Counting stops as soon as the count passes
    /// <paramref name="stopAfter"/>: the result is then larger than it, and no more work is spent on the rest.
    /// </summary>
    public int Count(string? text, int stopAfter = int.MaxValue)
    {
        if (string.IsNullOrEmpty(text))
        {
            return 0;
        }

        var tokens = 0;
        ReadOnlySpan<char> previousChunk = default;
        var previousChunkTokens = 0;
        IEnumerable<(int Offset, int Length)> pieces = tokenizer.PreTokenizer?.PreTokenize(text) ?? [(0, text.Length)];
        foreach (var (offset, length) in pieces)
        {
            var piece = text.AsSpan(offset, length);
            while (!piece.IsEmpty)
            {
                var take = Math.Min(ChunkLength, piece.Length);
                if (take < piece.Length && char.IsHighSurrogate(piece[take - 1]))
                {
                    take--; // never cut a character in half
                }

                // A run of one character (or of any pattern whose period divides the chunk) repeats its chunks:
                // comparing costs far less than merging again.
                var chunk = piece[..take];
                if (!chunk.SequenceEqual(previousChunk))
                {
                    previousChunkTokens = tokenizer.CountTokens(chunk, considerPreTokenization: false);
                    previousChunk = chunk;
                }

                tokens += previousChunkTokens;
                if (tokens > stopAfter)
                {
                    return tokens;
                }

                piece = piece[take..];
            }
        }

        return tokens;
    }

    /// <summary>
    /// The prompt tokens of a conversation, as OpenAI's <c>usage.prompt_tokens</c> counts them: 3 per message,
    /// its role and content, its name plus 1, and 3 that prime the reply. Counting stops as soon as the count
    /// passes <paramref name="stopAfter"/>.
    /// </summary>
    public int CountPrompt(IEnumerable<ChatTokenMessage> messages, int stopAfter = int.MaxValue)
    {
        var tokens = ReplyPriming;
        foreach (var message in messages)
        {
            tokens += TokensPerMessage + Count(message.Role, Remaining(stopAfter, tokens));
            tokens += Count(message.Content, Remaining(stopAfter, tokens));
            if (!string.IsNullOrEmpty(message.Name))
            {
                tokens += TokensPerName + Count(message.Name, Remaining(stopAfter, tokens));
            }

            if (tokens > stopAfter)
            {
                return tokens;
            }
        }

        return tokens;
    }

    /// <summary>
    /// The tokens that tool definitions add to a prompt. OpenAI does not publish its count, and it does not depend on
    /// how the schema's JSON is laid out (the SDKs send it indented or not); this one is shared by the API's local
    /// count and the emulator's usage, so the two agree: 8 a tool, its name and description, and for each parameter
    /// 3, its name, type, description and allowed values.
    /// </summary>
    public int CountTools(IEnumerable<ChatTokenTool> tools)
    {
        var tokens = 0;
        foreach (var tool in tools)
        {
            tokens += TokensPerTool + Count(tool.Name) + Count(tool.Description) + CountParameters(tool.ParametersJson);
        }

        return tokens;
    }

    private int CountParameters(string? schema)
    {
        if (string.IsNullOrWhiteSpace(schema))
        {
            return 0;
        }

        try
        {
            using var document = JsonDocument.Parse(schema);
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("properties", out var properties)
                || properties.ValueKind != JsonValueKind.Object)
            {
                return 0;
            }

            var tokens = 0;
            foreach (var property in properties.EnumerateObject())
            {
                tokens += TokensPerParameter + Count(property.Name);
                if (property.Value.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                foreach (var field in property.Value.EnumerateObject())
                {
                    tokens += field.Name switch
                    {
                        "type" or "description" when field.Value.ValueKind == JsonValueKind.String => Count(field.Value.GetString()),
                        "enum" when field.Value.ValueKind == JsonValueKind.Array => field.Value.EnumerateArray().Sum(value => Count(value.ToString())),
                        _ => 0,
                    };
                }
            }

            return tokens;
        }
        catch (JsonException)
        {
            return Count(schema);
        }
    }

    private const int TokensPerTool = 8;
    private const int TokensPerParameter = 3;

    private static int Remaining(int stopAfter, int counted) => Math.Max(0, stopAfter - counted);
}

/// <summary>A tool definition as a prompt carries it: its name, description and parameter schema (JSON text).</summary>
public readonly record struct ChatTokenTool(string Name, string? Description, string? ParametersJson);
