using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace GptAspire.Api.Services;

/// <summary>
/// Lets go of each streamed update's raw SDK object (the OpenAI <c>StreamingChatCompletionUpdate</c> and its JSON)
/// once Microsoft.Extensions.AI has converted it. The OpenTelemetry chat client above this one keeps every update
/// of an answer until the answer ends, to describe it on its span; without this, that is a few KiB per token for
/// every open stream. Nothing in this API reads <see cref="ChatResponseUpdate.RawRepresentation"/>.
/// </summary>
public sealed class CompactUpdatesChatClient(IChatClient innerClient) : DelegatingChatClient(innerClient)
{
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var update in base.GetStreamingResponseAsync(messages, options, cancellationToken))
        {
            update.RawRepresentation = null;
            foreach (var content in update.Contents)
            {
                content.RawRepresentation = null;
            }

            yield return update;
        }
    }
}
