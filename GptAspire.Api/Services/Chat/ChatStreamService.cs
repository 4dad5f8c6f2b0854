using System.Diagnostics;
using System.Text;
using System.Text.Json;
using GptAspire.Api.Models;
using GptAspire.Api.Services.ClientLimits;
using GptAspire.Api.Services.Streams;
using GptAspire.Api.Services.Upstream;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace GptAspire.Api.Services.Chat;

/// <summary>What <see cref="ChatStreamService.StartAsync"/> gave.</summary>
public abstract record ChatStart
{
    /// <summary>The generation runs: read it from the start.</summary>
    public sealed record Started(ChatStreamReader Reader) : ChatStart;

    /// <summary>The conversation does not fit the token budget: 400 naming the fields.</summary>
    public sealed record Invalid(Dictionary<string, string[]> Errors) : ChatStart;

    /// <summary>The API runs as many generations as it may: 503 with <c>Retry-After</c>.</summary>
    public sealed record Full(TimeSpan RetryAfter) : ChatStart;

    /// <summary>The client has as many generations running as it may: 429 with <c>Retry-After</c>.</summary>
    public sealed record TooMany : ChatStart;
}

/// <summary>
/// Runs chat answers from the <see cref="IChatClient"/> as the API's named events: <c>start</c>, <c>token</c>*,
/// <c>usage</c>, <c>finish</c>, or <c>error</c> last on failure. A generation runs on its own, not on the request
/// that started it, and writes its events to the <see cref="ChatStreamStore"/>, where any connection can read
/// them. All OpenAI-specific handling of the API lives here and in <see cref="UpstreamErrors"/>.
/// </summary>
public sealed partial class ChatStreamService(
    IChatClient chatClient,
    ChatModelInfo model,
    PromptTokenCounter tokenCounter,
    ChatLimits limits,
    IClientGenerationLimiter generations,
    ChatMetrics metrics,
    ChatStreamStore store,
    IOptions<ChatStreamOptions> options,
    IOptions<JsonOptions> json,
    ILogger<ChatStreamService> logger)
{
    private readonly JsonSerializerOptions _json = json.Value.SerializerOptions;

    /// <summary>
    /// Checks the token budget and the client's running generations (<paramref name="client"/>: see
    /// <see cref="ClientIdentity.PartitionKey"/>), then starts the generation in the background.
    /// </summary>
    public async Task<ChatStart> StartAsync(ChatRequest request, string client, CancellationToken cancellationToken)
    {
        var errors = limits.ValidatePrompt(request, out var promptTokens);
        if (errors.Count > 0)
        {
            return new ChatStart.Invalid(errors);
        }

        request = request with { MaxTokens = limits.EffectiveMaxTokens(request, promptTokens) };

        // Held until the generation ends, however long it outlives this request.
        var lease = await generations.TryAcquireAsync(client, cancellationToken);
        if (!lease.IsAcquired)
        {
            lease.Dispose();
            return new ChatStart.TooMany();
        }

        var requestId = Guid.NewGuid().ToString("n");
        ChatStreamBuffer? stream;
        try
        {
            stream = await store.TryCreateAsync(requestId, cancellationToken);
        }
        catch
        {
            lease.Dispose();
            throw;
        }

        if (stream is null)
        {
            lease.Dispose();
            return new ChatStart.Full(store.Options.RetryAfterWhenFull);
        }

        // The reader is attached before the generation starts, so that it sees every event and the stream is
        // never without a reader in its first moments.
        var reader = stream.AttachReader(afterId: -1);
        var frames = new ChatStreamFrameWriter(_json);
        var traceId = Activity.Current?.TraceId.ToHexString() ?? ActivityTraceId.CreateRandom().ToHexString();
        var start = new StartEvent(
            requestId, model.Model, traceId, promptTokens, model.ContextWindow, model.ContextWindow - promptTokens,
            (int)options.Value.HeartbeatInterval.TotalSeconds, request.MaxTokens);
        store.Append(stream, frames.Event(ChatEventNames.Start, start));

        // The generation keeps the request's trace (Activity.Current flows) but not its cancellation.
        _ = Task.Run(async () =>
        {
            using (lease)
            {
                try
                {
                    await GenerateAsync(request, promptTokens, stream, frames);
                }
                catch (Exception e) when (!stream.IsCompleted)
                {
                    // A bug must not leave readers waiting forever: they get a last event, operators the stack.
                    LogGenerationFailed(logger, stream.RequestId, e);
                    var error = UpstreamErrors.Internal();
                    await store.CompleteAsync(stream, new ChatStreamFrameWriter(_json, stream.NextId).Event(ChatEventNames.Error, error, error.Code));
                }
            }
        }, CancellationToken.None);
        return new ChatStart.Started(reader);
    }

    private async Task GenerateAsync(ChatRequest request, int promptTokens, ChatStreamBuffer stream, ChatStreamFrameWriter frames)
    {
        using var measurement = metrics.Start(model.Model);
        var messages = request.Messages!.Select(m => new ChatMessage(new ChatRole(m.Role!), m.Content)).ToList();
        var chatOptions = new ChatOptions
        {
            MaxOutputTokens = request.MaxTokens,
            Temperature = (float?)request.Temperature,
        };

        var cancellation = stream.GenerationAborted;
        var answer = new StringBuilder();
        string? finishReason = null;
        UsageDetails? usage = null;
        ErrorEvent? error = null;
        var tooLarge = false;

        try
        {
            await foreach (var update in chatClient.GetStreamingResponseAsync(messages, chatOptions, cancellation).WithCancellation(cancellation))
            {
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
                if (string.IsNullOrEmpty(text))
                {
                    // A chunk without text (role, finish, usage) still shows upstream is alive; a token's append does too.
                    stream.Touch();
                }
                else
                {
                    measurement.Token();
                    answer.Append(text);
                    if (store.Append(stream, frames.Token(text)) == AppendResult.LimitReached)
                    {
                        frames.Rewind();
                        tooLarge = true;
                        break;
                    }
                }
            }
        }
        catch (Exception) when (stream.AbortReason != GenerationAbortReason.None)
        {
            // Ended on purpose; the reason decides the last event below.
        }
        catch (Exception e)
        {
            error = UpstreamErrors.Map(e);
            var failure = UpstreamErrors.Describe(e);
            LogUpstreamFailure(logger, stream.RequestId, error.Code, failure.Status, failure.UpstreamRequestId, failure.Kind);
        }

        var abort = stream.AbortReason;
        if (tooLarge)
        {
            error = UpstreamErrors.StreamTooLarge();
        }
        else if (error is null && abort != GenerationAbortReason.None && abort != GenerationAbortReason.Stopped)
        {
            error = abort switch
            {
                GenerationAbortReason.Abandoned => UpstreamErrors.Abandoned(),
                GenerationAbortReason.ShuttingDown => UpstreamErrors.ShuttingDown(),
                GenerationAbortReason.TooLong => UpstreamErrors.AnswerTooLong(),
                _ => UpstreamErrors.Timeout(),
            };
            if (abort is GenerationAbortReason.UpstreamIdle or GenerationAbortReason.TooLong)
            {
                LogUpstreamFailure(logger, stream.RequestId, error.Code, null, null, null);
            }
        }
        else if (error is null && abort == GenerationAbortReason.Stopped)
        {
            finishReason = FinishReasons.Stopped;
            usage = null;
        }
        else if (error is null && finishReason is null)
        {
            error = UpstreamErrors.EndedEarly();
            LogUpstreamFailure(logger, stream.RequestId, error.Code, null, null, null);
        }

        if (error is not null)
        {
            measurement.End(error.Code, 0);
            await store.CompleteAsync(stream, frames.Event(ChatEventNames.Error, error, error.Code));
            return;
        }

        var prompt = (int?)usage?.InputTokenCount ?? promptTokens;
        var completion = (int?)usage?.OutputTokenCount ?? tokenCounter.Count(answer.ToString());
        var total = (int?)usage?.TotalTokenCount ?? prompt + completion;
        measurement.End(finishReason!, completion);
        LogStreamFinished(logger, stream.RequestId, finishReason!, completion);

        store.Append(stream, frames.Event(ChatEventNames.Usage, new UsageEvent(prompt, completion, total, Math.Max(0, model.ContextWindow - total))));
        await store.CompleteAsync(stream, frames.Event(ChatEventNames.Finish, new FinishEvent(finishReason!)));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chat stream {RequestId} failed upstream: {ErrorCode} (status {UpstreamStatus}, upstream request {UpstreamRequestId}, {FailureKind})")]
    private static partial void LogUpstreamFailure(ILogger logger, string requestId, string errorCode, int? upstreamStatus, string? upstreamRequestId, string? failureKind);

    [LoggerMessage(Level = LogLevel.Error, Message = "Chat stream {RequestId} failed inside the API")]
    private static partial void LogGenerationFailed(ILogger logger, string requestId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chat stream {RequestId} finished: {FinishReason}, {CompletionTokens} completion tokens")]
    private static partial void LogStreamFinished(ILogger logger, string requestId, string finishReason, int completionTokens);
}
