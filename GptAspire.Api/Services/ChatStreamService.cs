using System.Diagnostics;
using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using GptAspire.Api.Models;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace GptAspire.Api.Services;

/// <summary>
/// Streams one chat answer from the <see cref="IChatClient"/> as the API's named events:
/// <c>start</c>, <c>token</c>*, <c>usage</c>, <c>finish</c>, or <c>error</c> last on failure.
/// All OpenAI-specific handling of the API lives here and in <see cref="UpstreamErrors"/>.
/// </summary>
public sealed partial class ChatStreamService(
    IChatClient chatClient,
    ChatModelInfo model,
    PromptTokenCounter tokenCounter,
    ChatMetrics metrics,
    IOptions<ChatStreamOptions> options,
    ILogger<ChatStreamService> logger)
{
    /// <summary>Prompt tokens of the request's conversation, counted locally.</summary>
    public int CountPromptTokens(ChatRequest request) =>
        tokenCounter.CountPrompt(request.Messages!.Select(m => (m.Role!, m.Content!)));

    /// <summary>The events of one answer. Cancel <paramref name="cancellationToken"/> to cancel the upstream call.</summary>
    public async IAsyncEnumerable<SseItem<object>> StreamAsync(
        ChatRequest request,
        int promptTokens,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var requestId = Guid.NewGuid().ToString("n");
        var traceId = Activity.Current?.TraceId.ToHexString() ?? ActivityTraceId.CreateRandom().ToHexString();
        var nextId = 0;
        SseItem<object> Event(string name, object data) =>
            new(data, name) { EventId = (nextId++).ToString(CultureInfo.InvariantCulture) };

        yield return Event(ChatEventNames.Start, new StartEvent(
            requestId, model.Model, traceId, promptTokens, model.ContextWindow, model.ContextWindow - promptTokens));

        using var measurement = metrics.Start(model.Model);
        var messages = request.Messages!.Select(m => new ChatMessage(new ChatRole(m.Role!), m.Content)).ToList();
        var chatOptions = new ChatOptions
        {
            MaxOutputTokens = request.MaxTokens,
            Temperature = (float?)request.Temperature,
        };

        // One token source cancels upstream both when the caller goes away and when upstream stays silent.
        using var upstream = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var idleTimeout = options.Value.UpstreamIdleTimeout;
        var answer = new StringBuilder();
        string? finishReason = null;
        UsageDetails? usage = null;
        ErrorEvent? error = null;

        var updates = chatClient.GetStreamingResponseAsync(messages, chatOptions, upstream.Token).GetAsyncEnumerator(upstream.Token);
        try
        {
            while (true)
            {
                upstream.CancelAfter(idleTimeout);
                try
                {
                    if (!await updates.MoveNextAsync())
                    {
                        break;
                    }

                    // The clock is for upstream only: a slow client reading the token is not an upstream timeout.
                    upstream.CancelAfter(Timeout.InfiniteTimeSpan);
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    error = upstream.IsCancellationRequested ? UpstreamErrors.Timeout() : UpstreamErrors.Map(e);
                    LogUpstreamFailure(logger, requestId, error.Code, e);
                    break;
                }

                var update = updates.Current;
                if (update.FinishReason is { } reason)
                {
                    finishReason = reason.Value;
                }

                foreach (var content in update.Contents)
                {
                    if (content is UsageContent usageContent)
                    {
                        usage = usageContent.Details;
                    }
                }

                var text = update.Text;
                if (!string.IsNullOrEmpty(text))
                {
                    measurement.Token();
                    answer.Append(text);
                    yield return Event(ChatEventNames.Token, new TokenEvent(text));
                }
            }
        }
        finally
        {
            await updates.DisposeAsync();
        }

        if (error is null && finishReason is null)
        {
            error = UpstreamErrors.EndedEarly();
        }

        if (error is not null)
        {
            measurement.End(error.Code, 0);
            yield return Event(ChatEventNames.Error, error);
            yield break;
        }

        var prompt = (int?)usage?.InputTokenCount ?? promptTokens;
        var completion = (int?)usage?.OutputTokenCount ?? tokenCounter.Count(answer.ToString());
        var total = (int?)usage?.TotalTokenCount ?? prompt + completion;
        measurement.End(finishReason!, completion);
        LogStreamFinished(logger, requestId, finishReason!, completion);

        yield return Event(ChatEventNames.Usage, new UsageEvent(prompt, completion, total, Math.Max(0, model.ContextWindow - total)));
        yield return Event(ChatEventNames.Finish, new FinishEvent(finishReason!));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chat stream {RequestId} failed upstream: {ErrorCode}")]
    private static partial void LogUpstreamFailure(ILogger logger, string requestId, string errorCode, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chat stream {RequestId} finished: {FinishReason}, {CompletionTokens} completion tokens")]
    private static partial void LogStreamFinished(ILogger logger, string requestId, string finishReason, int completionTokens);
}
