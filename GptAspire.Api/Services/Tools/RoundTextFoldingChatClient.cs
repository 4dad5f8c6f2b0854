using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.AI;

namespace GptAspire.Api.Services.Tools;

/// <summary>
/// The function-invoking client's inner client (see <see cref="ToolInvokingChatClient"/>). That client keeps every update
/// of a round until the round ends, to rebuild the assistant message when the model called tools: one update per token,
/// held for as long as the answer streams, which the collector must copy again and again. This client hands it, for the
/// tokens of a round after the first, one and the same update object with the token's text in it, and when the round
/// ends, puts the round's whole text into the first token's update and empties the shared one. The message rebuilt
/// from the kept list is the same (its text is one content, as the library joins it anyway); what it keeps per token is a
/// reference. A client above must read each update before it asks for the next one, as the streaming loop does; none
/// keeps updates but the function-invoking client itself.
/// </summary>
internal sealed class RoundTextFoldingChatClient(IChatClient innerClient) : DelegatingChatClient(innerClient)
{
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var fold = new Fold();
        try
        {
            await foreach (var update in base.GetStreamingResponseAsync(messages, options, cancellationToken))
            {
                yield return fold.Next(update);
            }
        }
        finally
        {
            fold.Close();
        }
    }

    /// <summary>A run of text updates that share their ids: the first one kept as it came, the rest one shared object.</summary>
    private sealed class Fold
    {
        private readonly AIContent[] _token = new AIContent[1];
        private ChatResponseUpdate? _first;
        private ChatResponseUpdate? _shared;
        private StringBuilder? _text;

        public ChatResponseUpdate Next(ChatResponseUpdate update)
        {
            if (update is not { Contents: [TextContent { Annotations: null, AdditionalProperties: null } token], FinishReason: null, AdditionalProperties: null })
            {
                // Anything else (a tool call, usage, the finish) is kept as it is, after the text before it.
                Close();
                return update;
            }

            if (_first is not null && !SameMessage(_first, update))
            {
                Close();
            }

            if (_first is null)
            {
                _first = update;
                _text = new StringBuilder(token.Text);
                return update;
            }

            _text!.Append(token.Text);
            _shared ??= new ChatResponseUpdate
            {
                Role = _first.Role,
                AuthorName = _first.AuthorName,
                ResponseId = _first.ResponseId,
                MessageId = _first.MessageId,
                ConversationId = _first.ConversationId,
                ModelId = _first.ModelId,
                CreatedAt = _first.CreatedAt,
                Contents = _token,
            };
            _token[0] = token;
            return _shared;
        }

        /// <summary>Ends the run: its whole text in its first update, nothing in the shared one.</summary>
        public void Close()
        {
            if (_first is not null && _shared is not null)
            {
                _first.Contents = [new TextContent(_text!.ToString())];
                _shared.Contents = [];
            }

            _first = _shared = null;
            _text = null;
            _token[0] = null!;
        }

        private static bool SameMessage(ChatResponseUpdate a, ChatResponseUpdate b) =>
            a.Role == b.Role && a.AuthorName == b.AuthorName && a.ResponseId == b.ResponseId && a.MessageId == b.MessageId
            && a.ConversationId == b.ConversationId && a.ModelId == b.ModelId && a.CreatedAt == b.CreatedAt;
    }
}
