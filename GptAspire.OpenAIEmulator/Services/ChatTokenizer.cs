using GptAspire.OpenAIEmulator.Models;
using Microsoft.ML.Tokenizers;

namespace GptAspire.OpenAIEmulator.Services;

/// <summary>One streamed piece of the reply: usually one token, more when a token ends inside a UTF-8 sequence.</summary>
public readonly record struct TokenPiece(string Text, int TokenCount);

/// <summary>
/// The gpt-4o tokenizer (o200k_base), so that token counts and per-token streaming match the real
/// service. Loading it takes about 400 ms, so it is a singleton.
/// </summary>
public sealed class ChatTokenizer
{
    // A token that ends inside a multi-byte character decodes to U+FFFD on its own.
    private const char ReplacementCharacter = '\uFFFD';
    private const int MaxTokensPerPiece = 8;

    private readonly TiktokenTokenizer _tokenizer = TiktokenTokenizer.CreateForModel("gpt-4o");

    public int Count(string text) => _tokenizer.CountTokens(text);

    public IReadOnlyList<int> Encode(string text) => _tokenizer.EncodeToIds(text);

    public string Decode(IEnumerable<int> ids) => _tokenizer.Decode(ids);

    /// <summary>Counts a prompt as OpenAI bills it: 3 per message, its role, content and name (+1), and 3 to prime the reply.</summary>
    public int CountPrompt(IEnumerable<ChatMessage> messages)
    {
        var tokens = 3;
        foreach (var message in messages)
        {
            tokens += 3 + Count(message.Role ?? "") + Count(message.Text());
            if (!string.IsNullOrEmpty(message.Name))
            {
                tokens += Count(message.Name) + 1;
            }
        }

        return tokens;
    }

    /// <summary>Decodes token by token, merging a token with the next while it would end in half a character.</summary>
    public IEnumerable<TokenPiece> Pieces(IEnumerable<int> ids)
    {
        var pending = new List<int>(MaxTokensPerPiece);
        foreach (var id in ids)
        {
            pending.Add(id);
            var text = Decode(pending);
            if (text.Contains(ReplacementCharacter) && pending.Count < MaxTokensPerPiece)
            {
                continue;
            }

            yield return new TokenPiece(text, pending.Count);
            pending.Clear();
        }

        if (pending.Count > 0)
        {
            yield return new TokenPiece(Decode(pending), pending.Count);
        }
    }
}
