using System.ClientModel;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace GptAspire.Api.Services.Upstream;

/// <summary>
/// Keeps the upstream body out of the OpenAI SDK's error messages. The SDK writes the body of a failed call into
/// <see cref="ClientResultException.Message"/>, and the gen_ai span (Microsoft.Extensions.AI's OpenTelemetry client)
/// exports that message as its status; OpenAI's 401 body shows part of the key, others may echo the prompt. This
/// client sits between the OpenTelemetry client and the SDK and throws the same failure, with the same response
/// (status, headers and body for <see cref="UpstreamErrors"/>), under a message that names only the status and the
/// upstream request id.
/// </summary>
public sealed class RedactingChatClient(IChatClient innerClient) : DelegatingChatClient(innerClient)
{
    public override async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        try
        {
            return await base.GetResponseAsync(messages, options, cancellationToken);
        }
        catch (ClientResultException e) when (e.Status > 0)
        {
            throw Redact(e);
        }
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var updates = base.GetStreamingResponseAsync(messages, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            try
            {
                if (!await updates.MoveNextAsync())
                {
                    yield break;
                }
            }
            catch (ClientResultException e) when (e.Status > 0)
            {
                throw Redact(e);
            }

            yield return updates.Current;
        }
    }

    // No inner exception: it would carry the original message to whoever logs the exception.
    internal static ClientResultException Redact(ClientResultException exception)
    {
        var failure = UpstreamErrors.Describe(exception);
        return new ClientResultException(
            $"HTTP {failure.Status} from the AI service (upstream request {failure.UpstreamRequestId ?? "unknown"}).",
            exception.GetRawResponse());
    }
}
