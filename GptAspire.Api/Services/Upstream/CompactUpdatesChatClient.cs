using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace GptAspire.Api.Services.Upstream;

/// <summary>
/// Keeps what an answer leaves in memory per token small where a client above this one keeps every update of an
/// answer until it ends: Microsoft.Extensions.AI's OpenTelemetry client when message contents are recorded
/// (<see cref="StreamingTelemetryChatClient"/> hands those calls to it), the one case the API adds this client for (the
/// function-invoking client's list is folded by <see cref="Tools.RoundTextFoldingChatClient"/>). An update as converted from the
/// OpenAI SDK holds its raw SDK object (the <c>StreamingChatCompletionUpdate</c> and its JSON) and its own copies
/// of the response id, message id and model name. This client passes each token on as a new update with one
/// <see cref="TextContent"/> and the answer's first copies of those strings, and lets go of the raw objects of
/// every other update. Nothing in this API reads <see cref="ChatResponseUpdate.RawRepresentation"/>.
/// </summary>
public sealed class CompactUpdatesChatClient(IChatClient innerClient) : DelegatingChatClient(innerClient)
{
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? responseId = null, messageId = null, modelId = null;
        await foreach (var update in base.GetStreamingResponseAsync(messages, options, cancellationToken))
        {
            responseId = Shared(responseId, update.ResponseId);
            messageId = Shared(messageId, update.MessageId);
            modelId = Shared(modelId, update.ModelId);
            if (update is { FinishReason: null, AdditionalProperties: null, Contents: [TextContent { AdditionalProperties: null, Annotations: null } text] })
            {
                yield return new ChatResponseUpdate(update.Role, [new TextContent(text.Text)])
                {
                    ResponseId = responseId,
                    MessageId = messageId,
                    ModelId = modelId,
                    CreatedAt = update.CreatedAt,
                    ConversationId = update.ConversationId,
                };
                continue;
            }

            update.RawRepresentation = null;
            foreach (var content in update.Contents)
            {
                content.RawRepresentation = null;
            }

            yield return update;
        }
    }

    // The copy kept so far of a value that every chunk repeats, unless this chunk brings a different one.
    private static string? Shared(string? kept, string? value) => value is null || value == kept ? kept : value;
}
