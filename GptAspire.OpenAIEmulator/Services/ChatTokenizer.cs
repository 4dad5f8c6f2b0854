using GptAspire.OpenAIEmulator.Models;
using GptAspire.Tokenization;

namespace GptAspire.OpenAIEmulator.Services;

/// <summary>One streamed piece of the reply: usually one token, more when a token ends inside a UTF-8 sequence.</summary>
public readonly record struct TokenPiece(string Text, int TokenCount);

/// <summary>
/// The gpt-4o tokenizer (o200k_base), so that token counts and per-token streaming match the real
/// service; prompts are counted by the same <see cref="ChatTokenCounter"/> as the API's, in bounded time.
/// Loading it takes about 400 ms, so it is a singleton.
/// </summary>
public sealed class ChatTokenizer
{
    // A token that ends inside a multi-byte character decodes to U+FFFD on its own.
    private const char ReplacementCharacter = '\uFFFD';
    private const int MaxTokensPerPiece = 8;

    private readonly ChatTokenCounter _counter = ChatTokenCounter.ForModel("gpt-4o");

    public int Count(string text) => _counter.Count(text);

    public IReadOnlyList<int> Encode(string text) => _counter.Tokenizer.EncodeToIds(text);

    public string Decode(IEnumerable<int> ids) => _counter.Tokenizer.Decode(ids);

    /// <summary>Counts a prompt as OpenAI bills it (see <see cref="ChatTokenCounter.CountPrompt"/>).</summary>
    public int CountTools(IEnumerable<ChatTokenTool> tools) => _counter.CountTools(tools);

    public int CountPrompt(IEnumerable<ChatMessage> messages) =>
        _counter.CountPrompt(messages.Select(m => new ChatTokenMessage(m.Role ?? "", m.Text(), m.Name)));

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
