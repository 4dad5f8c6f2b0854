using System.Diagnostics;
using System.Text;
using System.Text.Json;
using GptAspire.Api.Models;
using GptAspire.Api.Services.ClientLimits;
using GptAspire.Api.Services.Streams;
using GptAspire.Api.Services.Tools;
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
/// Runs chat answers from the <see cref="IChatClient"/> as the API's named events: <c>start</c>, then the answer's
/// <c>token</c>s, <c>tool_call</c>s and <c>tool_result</c>s in the order they happen, <c>usage</c>, <c>finish</c>, or
/// <c>error</c> last on failure. The tools run in the client's pipeline (<see cref="ToolInvokingChatClient"/>). A generation runs on its own, not on the request
/// that started it, and writes its events to the <see cref="ChatStreamStore"/>, where any connection can read
/// them. It also continues the answers this replica takes over from another one. All OpenAI-specific handling of
/// the API lives here and in <see cref="UpstreamErrors"/>.
/// </summary>
public sealed partial class ChatStreamService(
    IChatClient chatClient,
    ChatModelInfo model,
    PromptTokenCounter tokenCounter,
    ChatLimits limits,
    IClientGenerationLimiter generations,
    ChatMetrics metrics,
    ChatStreamStore store,
    ChatTools tools,
    ToolRunner toolRunner,
    IOptions<ChatToolsOptions> toolOptions,
    IOptions<JsonOptions> json,
    ILogger<ChatStreamService> logger) : IChatGenerationRunner
{
    private static readonly ActivitySource Source = new(typeof(ChatStreamService).Assembly.GetName().Name!);

    private readonly JsonSerializerOptions _json = json.Value.SerializerOptions;

    /// <summary>
    /// Checks the token budget and the client's running generations (<paramref name="client"/>: see
    /// <see cref="ClientIdentity.PartitionKey"/>), then starts the generation in the background. Only
    /// <paramref name="principal"/> may read and stop it (null: anyone with its id).
    /// </summary>
    public async Task<ChatStart> StartAsync(ChatRequest request, string client, string? principal, CancellationToken cancellationToken)
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
        var stored = new StoredGeneration(
            [.. request.Messages!.Select(m => new StoredMessage(m.Role!, m.Content!))],
            request.MaxTokens!.Value, request.Temperature, promptTokens, Activity.Current?.Id, principal,
            // Each answer samples with its own seed, kept with it: a replica that takes it over continues with the
            // same one (OpenAI's best-effort determinism; the emulator's exact one), and Regenerate gets a new one.
            Seed: Random.Shared.NextInt64(1, long.MaxValue));
        ChatStreamBuffer? stream;
        try
        {
            stream = await store.TryCreateAsync(requestId, stored, cancellationToken);
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
            (int)store.Options.HeartbeatInterval.TotalSeconds, request.MaxTokens);
        store.Append(stream, frames.Event(ChatEventNames.Start, start));

        // The generation keeps the request's trace (Activity.Current flows) but not its cancellation.
        var messages = stored.Messages.Select(m => new ChatMessage(new ChatRole(m.Role), m.Content)).ToList();
        var call = new Call(messages, stored.MaxTokens, stored.Temperature, stored.Seed, promptTokens, Before: null, Unanswered: []);
        _ = Task.Run(async () =>
        {
            using (lease)
            {
                await RunAsync(stream, frames, call);
            }
        }, CancellationToken.None);
        return new ChatStart.Started(reader);
    }

    /// <summary>
    /// Continues an answer this replica took over: the model is asked again with the partial answer as the
    /// assistant's message and the rest of the token cap, and its text goes on from the stream's next id. A
    /// stopped answer ends <c>finish stopped</c> and one nobody attended ends <c>abandoned</c>, without a call.
    /// </summary>
    public void Continue(ChatStreamBuffer stream, Takeover takeover) => _ = Task.Run(async () =>
    {
        // A new trace, linked to the one that started the answer (that request ended long ago).
        Activity.Current = null;
        ActivityContext.TryParse(takeover.Generation.TraceParent, null, out var origin);
        using var activity = Source.StartActivity(
            "chat continue", ActivityKind.Internal, parentContext: default,
            links: origin == default ? null : [new ActivityLink(origin)]);
        activity?.SetTag("gptaspire.stream.id", stream.RequestId);
        activity?.SetTag("gptaspire.stream.from_event", stream.NextId);
        activity?.SetTag("gptaspire.stream.handed_over", takeover.HandedOver);

        var frames = new ChatStreamFrameWriter(_json, stream.NextId);
        var generation = takeover.Generation;
        var soFar = AnswerSoFar.Read(stream, _json);
        var produced = soFar.Text.Length == 0 ? 0 : tokenCounter.Count(soFar.Text);
        var messages = generation.Messages.Select(m => new ChatMessage(new ChatRole(m.Role), m.Content)).ToList();
        messages.AddRange(soFar.Messages);

        var call = new Call(
            messages, generation.MaxTokens - produced, generation.Temperature, generation.Seed, generation.PromptTokens + produced,
            new Before(soFar.TrailingText, generation.PromptTokens, produced, soFar.Rounds), soFar.Unanswered);
        if (takeover.StopRequested)
        {
            stream.TryAbort(GenerationAbortReason.Stopped);
        }
        else if (!takeover.HandedOver && takeover.Unattended >= store.Options.AbandonAfter)
        {
            stream.TryAbort(GenerationAbortReason.Abandoned);
        }

        await RunAsync(stream, frames, call);
    }, CancellationToken.None);

    private async Task RunAsync(ChatStreamBuffer stream, ChatStreamFrameWriter frames, Call call)
    {
        try
        {
            await GenerateAsync(stream, frames, call);
        }
        catch (Exception e) when (!stream.IsCompleted && !stream.IsRelinquished)
        {
            // A bug must not leave readers waiting forever: they get a last event, operators the stack.
            LogGenerationFailed(logger, stream.RequestId, e);
            var error = GenerationEndings.Internal();
            store.Complete(stream, new ChatStreamFrameWriter(_json, stream.NextId).Event(ChatEventNames.Error, error, error.Code));
        }
    }

    private async Task GenerateAsync(ChatStreamBuffer stream, ChatStreamFrameWriter frames, Call call)
    {
        using var measurement = metrics.Start(model.Model, continues: call.Before is not null);
        var chatOptions = new ChatOptions
        {
            MaxOutputTokens = Math.Max(1, call.MaxTokens),
            Temperature = (float?)call.Temperature,
            Seed = call.Seed,
            Tools = tools.Functions.Count > 0 ? [.. tools.Functions] : null,
        };

        var cancellation = stream.GenerationAborted;
        var seam = call.Before is { Text.Length: > 0 } before ? new ContinuationSeam(before.Text) : null;
        var answer = new StringBuilder();
        var toolEvents = new ToolEvents(call.Before?.Rounds ?? 0, toolOptions.Value.MaxRounds);
        string? finishReason = null;
        UsageDetails? usage = null;
        var answeredAtUsage = 0;
        ErrorEvent? error = null;
        var tooLarge = false;

        try
        {
            // Calls that were running when the replica before this one stopped: run here, once, before the model goes on.
            if (call.Unanswered.Count > 0 && !cancellation.IsCancellationRequested)
            {
                tooLarge = !await RunUnansweredAsync(stream, frames, call, cancellation);
            }

            // A stream already full asks for nothing more.
            if (!tooLarge && call.MaxTokens <= 0)
            {
                // A taken-over answer that already used its whole cap.
                finishReason = FinishReasons.Length;
            }
            else if (!tooLarge && !cancellation.IsCancellationRequested)
            {
                await foreach (var update in chatClient.GetStreamingResponseAsync(call.Messages, chatOptions, cancellation).WithCancellation(cancellation))
                {
                    if (update.FinishReason is { } reason)
                    {
                        finishReason = reason.Value;
                    }

                    foreach (var content in update.Contents)
                    {
                        switch (content)
                        {
                            case UsageContent usageContent:
                                // Every call to the model (one per round of tools) reports its own usage: the answer's is the sum.
                                (usage ??= new UsageDetails()).Add(usageContent.Details);
                                answeredAtUsage = answer.Length;
                                break;
                            case FunctionCallContent or FunctionResultContent when toolEvents.Next(content, frames) is { } toolEvent:
                                if (store.Append(stream, toolEvent) == AppendResult.LimitReached)
                                {
                                    frames.Rewind();
                                    tooLarge = true;
                                }
                                else if (content is FunctionResultContent)
                                {
                                    // The cap is the whole answer's: the next round may write what the rounds so far left.
                                    // (The function-invoking client passes these options on to the next round.)
                                    chatOptions.MaxOutputTokens = (int)Math.Max(1, call.MaxTokens - (usage?.OutputTokenCount ?? 0));
                                }

                                break;
                        }

                        if (tooLarge || toolEvents.RoundsExceeded)
                        {
                            break;
                        }
                    }

                    if (tooLarge || toolEvents.RoundsExceeded)
                    {
                        // Leaving the loop disposes the client's enumerator: the calls of the extra round never run.
                        break;
                    }

                    var text = update.Text;
                    if (seam is not null && !string.IsNullOrEmpty(text))
                    {
                        text = seam.Next(text);
                    }

                    if (string.IsNullOrEmpty(text))
                    {
                        // A chunk without text (role, finish, usage) still shows upstream is alive; a token's append does too.
                        stream.Touch();
                    }
                    else if (!AppendToken(stream, frames, measurement, answer, text))
                    {
                        tooLarge = true;
                        break;
                    }
                }

                if (!tooLarge && seam?.Flush() is { Length: > 0 } held && !AppendToken(stream, frames, measurement, answer, held))
                {
                    tooLarge = true;
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
        if (GenerationEndings.EndsElsewhere(abort))
        {
            if (abort == GenerationAbortReason.TakenOver || await store.HandOverAsync(stream))
            {
                measurement.HandedOn();
                return;
            }

            abort = GenerationAbortReason.ShuttingDown;
        }

        if (tooLarge)
        {
            error = GenerationEndings.StreamTooLarge();
        }
        else if (toolEvents.RoundsExceeded && abort == GenerationAbortReason.None)
        {
            error = GenerationEndings.ToolRoundsExceeded(toolOptions.Value.MaxRounds);
        }
        else if (error is null && GenerationEndings.ErrorFor(abort) is { } ending)
        {
            error = ending;
            if (abort is GenerationAbortReason.UpstreamIdle or GenerationAbortReason.TooLong)
            {
                LogUpstreamFailure(logger, stream.RequestId, error.Code, null, null, null);
            }
        }
        else if (error is null && abort == GenerationAbortReason.Stopped)
        {
            finishReason = FinishReasons.Stopped;
            // The rounds of tools that ended before the stop reported their usage; the cut call reports none, so its
            // text is counted here (and its prompt, unknown, is left out).
            if (usage is not null && answer.Length > answeredAtUsage)
            {
                usage.OutputTokenCount += tokenCounter.Count(answer.ToString(answeredAtUsage, answer.Length - answeredAtUsage));
            }
        }
        else if (error is null && finishReason is null)
        {
            error = UpstreamErrors.EndedEarly();
            LogUpstreamFailure(logger, stream.RequestId, error.Code, null, null, null);
        }

        if (error is not null)
        {
            measurement.Failed(error.Code);
            store.Complete(stream, frames.Event(ChatEventNames.Error, error, error.Code));
            return;
        }

        // After a takeover, usage is the sum of both calls: what the first one read and wrote, then the second.
        // (A takeover that made no second call, stopped or out of tokens, adds nothing for it.)
        var called = call.MaxTokens > 0 && abort == GenerationAbortReason.None || usage is not null;
        var prompt = (call.Before?.PromptTokens ?? 0) + (called || call.Before is null ? (int?)usage?.InputTokenCount ?? call.PromptTokens : 0);
        var completion = (call.Before?.CompletionTokens ?? 0) + ((int?)usage?.OutputTokenCount ?? tokenCounter.Count(answer.ToString()));
        var total = prompt + completion;
        measurement.Finished(finishReason!);
        LogStreamFinished(logger, stream.RequestId, finishReason!, completion);

        var usageEvent = frames.Event(ChatEventNames.Usage, new UsageEvent(prompt, completion, total, Math.Max(0, model.ContextWindow - total)));
        store.Complete(stream, frames.Event(ChatEventNames.Finish, new FinishEvent(finishReason!)), usageEvent);
    }

    // False when the stream refused the token (its event or byte limit).
    private bool AppendToken(ChatStreamBuffer stream, ChatStreamFrameWriter frames, ChatMetrics.StreamMeasurement measurement, StringBuilder answer, string text)
    {
        measurement.Token();
        answer.Append(text);
        if (store.Append(stream, frames.Token(text)) == AppendResult.LimitReached)
        {
            frames.Rewind();
            return false;
        }

        return true;
    }

    // Runs the calls a takeover found without results, appends their tool_result events and gives the model their
    // results after the calls. False when the stream refused an event (its limit).
    private async Task<bool> RunUnansweredAsync(ChatStreamBuffer stream, ChatStreamFrameWriter frames, Call call, CancellationToken cancellation)
    {
        var runs = call.Unanswered.Select(async pending =>
        {
            using var activity = Source.StartActivity($"execute_tool {pending.Name}");
            activity?.SetTag("gen_ai.operation.name", "execute_tool");
            activity?.SetTag("gen_ai.tool.name", pending.Name);
            activity?.SetTag("gen_ai.tool.call.id", pending.CallId);
            return await toolRunner.RunAsync(tools.Find(pending.Name), pending, new AIFunctionArguments(pending.Arguments), cancellation);
        });
        var outcomes = await Task.WhenAll(runs);

        if (call.Messages[^1].Role != ChatRole.Tool)
        {
            call.Messages.Add(new ChatMessage(ChatRole.Tool, []));
        }

        var results = call.Messages[^1];

        for (var i = 0; i < outcomes.Length; i++)
        {
            var pending = call.Unanswered[i];
            var content = outcomes[i].ToContent(pending.CallId);
            results.Contents.Add(content);
            if (store.Append(stream, frames.Event(ChatEventNames.ToolResult, ToolEvents.ResultEvent(pending.Name, content, outcomes[i]))) == AppendResult.LimitReached)
            {
                frames.Rewind();
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// One call to the model: the messages, the rest of the token cap, what came before a takeover and the calls it
    /// left without results.
    /// </summary>
    private sealed record Call(
        List<ChatMessage> Messages, int MaxTokens, double? Temperature, long Seed, int PromptTokens, Before? Before,
        IReadOnlyList<FunctionCallContent> Unanswered);

    /// <summary>The answer so far when a takeover continues it (its text after the last tool event), what the first call cost.</summary>
    private sealed record Before(string Text, int PromptTokens, int CompletionTokens, int Rounds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chat stream {RequestId} failed upstream: {ErrorCode} (status {UpstreamStatus}, upstream request {UpstreamRequestId}, {FailureKind})")]
    private static partial void LogUpstreamFailure(ILogger logger, string requestId, string errorCode, int? upstreamStatus, string? upstreamRequestId, string? failureKind);

    [LoggerMessage(Level = LogLevel.Error, Message = "Chat stream {RequestId} failed inside the API")]
    private static partial void LogGenerationFailed(ILogger logger, string requestId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chat stream {RequestId} finished: {FinishReason}, {CompletionTokens} completion tokens")]
    private static partial void LogStreamFinished(ILogger logger, string requestId, string finishReason, int completionTokens);
}
