using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.AI;

namespace GptAspire.Api.Services.Tools;

/// <summary>
/// The function-invoking client's inner client (see <see cref="ToolInvokingChatClient"/>). That client keeps every update
/// of a round until the round ends, to rebuild the assistant message when the model called tools: one update per token,
/// held for as long as the answer streams, which the collector must copy again and again. This client hands it, for a
/// run of text tokens, two objects of its own: a copy of the run's first update, and one shared update that carries
/// each later token in turn. When the run ends (any other update, other ids, the round's end), the run's whole text goes
/// into the copy and the shared one is emptied. The message rebuilt from the kept list is the same (its text is one
/// content, as the library joins it anyway); what it keeps per token is a reference. The updates that come from below are
/// never changed, for the clients there that keep them (the OpenTelemetry client, when contents are recorded).
/// A reader above must read each update before it asks for the next one, as the streaming loop does. After a tool call,
/// the function-invoking client holds the rest of the round back until the round ends, so from there on updates pass
/// as they are.
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

    /// <summary>A run of text updates that share their ids: the first one copied, the rest one shared object.</summary>
    private sealed class Fold
    {
        private ChatResponseUpdate? _head;
        private ChatResponseUpdate? _shared;
        private StringBuilder? _text;
        private bool _called;

        public ChatResponseUpdate Next(ChatResponseUpdate update)
        {
            if (_called || update is not { Contents: [TextContent { Annotations: null, AdditionalProperties: null } token], FinishReason: null, AdditionalProperties: null })
            {
                // Anything else (a tool call, usage, the finish) passes as it is, after the text before it.
                Close();
                _called |= update.Contents.Any(content => content is FunctionCallContent);
                return update;
            }

            if (_head is not null && !SameMessage(_head, update))
            {
                Close();
            }

            if (_head is null)
            {
                _text = new StringBuilder(token.Text);
                _head = Like(update, token);
                return _head;
            }

            _text!.Append(token.Text);
            _shared ??= Like(update, token);
            _shared.Contents[0] = token;
            return _shared;
        }

        /// <summary>Ends the run: its whole text in its first update, nothing in the shared one.</summary>
        public void Close()
        {
            if (_head is not null && _shared is not null)
            {
                _head.Contents[0] = new TextContent(_text!.ToString());
                _shared.Contents.Clear();
            }

            _head = _shared = null;
            _text = null;
        }

        private static ChatResponseUpdate Like(ChatResponseUpdate update, TextContent token) => new(update.Role, new List<AIContent>(1) { token })
        {
            AuthorName = update.AuthorName,
            ResponseId = update.ResponseId,
            MessageId = update.MessageId,
            ConversationId = update.ConversationId,
            ModelId = update.ModelId,
            CreatedAt = update.CreatedAt,
        };

        private static bool SameMessage(ChatResponseUpdate a, ChatResponseUpdate b) =>
            a.Role == b.Role && a.AuthorName == b.AuthorName && a.ResponseId == b.ResponseId && a.MessageId == b.MessageId
            && a.ConversationId == b.ConversationId && a.ModelId == b.ModelId && a.CreatedAt == b.CreatedAt;
    }
}
