using System.Security.Cryptography;
using System.Text.Json.Nodes;
using GptAspire.OpenAIEmulator.Models;
using Microsoft.Extensions.Options;

namespace GptAspire.OpenAIEmulator.Services;

/// <summary>
/// Decides what a validated request gets (an error scenario, or a reply cut to its limits) and produces
/// the reply as a <c>chat.completion</c> or as a timed sequence of <c>chat.completion.chunk</c>s.
/// </summary>
public sealed class ChatCompletionService(
    ChatTokenizer tokenizer,
    ReplyComposer composer,
    ToolCallPlanner tools,
    ConversationMemory memory,
    IOptions<EmulatorOptions> options,
    StreamPacer pacer,
    EmulatorMetrics metrics,
    TimeProvider time)
{
    public const string SystemFingerprint = "fp_emulator";

    // "A few tokens" before a content filter stop, a dropped connection or a broken chunk.
    private const int TokensBeforeInterruption = 10;

    private const string IdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    public IResult Respond(ChatCompletionRequest request, string model, ChatRoute route, Scenario scenario, RequestLogEntry entry)
    {
        var messages = request.Messages ?? [];
        if (scenario.RateLimitSeconds is { } retryAfter)
        {
            return EmulatorErrors.RateLimited(model, retryAfter);
        }

        // Once per question: the rounds of tool calls that answer it (later requests, longer conversations) are not new ones.
        var question = messages.Take(messages.FindLastIndex(message => message.Role == "user") + 1).ToList();
        if (scenario.RateLimitOnceSeconds is { } onceSeconds && memory.FirstSighting(ConversationFingerprint.Of(question)))
        {
            return EmulatorErrors.RateLimited(model, onceSeconds);
        }

        if (scenario.ServerError)
        {
            return EmulatorErrors.ServerError();
        }

        if (scenario.Forbidden)
        {
            return EmulatorErrors.Forbidden();
        }

        if (scenario.ContentFilterPrompt)
        {
            return EmulatorErrors.PromptFiltered();
        }

        var plan = Plan(request, model, route, scenario);
        return request.Stream == true
            ? new ChatCompletionStreamResult(pacer, plan, entry, metrics)
            : new ChatCompletionJsonResult(this, plan, entry);
    }

    public CompletionPlan Plan(ChatCompletionRequest request, string model, ChatRoute route, Scenario scenario)
    {
        var messages = request.Messages ?? [];
        // A trailing assistant message is a partial answer to continue (an API replica that took an answer over):
        // the reply is the one the conversation before it gets (same temperature and seed), and when the partial
        // answer is a start of it, only the rest is sent. So a continued answer is exactly the uninterrupted one.
        var partial = messages.Count > 0 && messages[^1].Role == "assistant" ? messages[^1].Text() : null;
        var conversation = partial is null ? messages : messages.Take(messages.Count - 1).ToList();
        var turn = tools.Decide(request, conversation, scenario);
        if (turn.Calls.Count > 0)
        {
            return ToolCallPlan(request, model, route, scenario, turn.Calls);
        }

        var reply = turn.Reply ?? composer.Compose(conversation, request.Temperature, request.Seed, scenario);
        if (partial is not null && reply.StartsWith(partial, StringComparison.Ordinal))
        {
            reply = reply[partial.Length..];
        }

        var ids = tokenizer.Encode(reply);

        var limit = ids.Count;
        string? finishReason = "stop";
        if (scenario.ContentFilter && limit > TokensBeforeInterruption)
        {
            (limit, finishReason) = (TokensBeforeInterruption, "content_filter");
        }

        if ((request.MaxCompletionTokens ?? request.MaxTokens) is { } maxTokens && maxTokens < limit)
        {
            (limit, finishReason) = (maxTokens, "length");
        }

        if (scenario.BadChunk)
        {
            limit = Math.Min(limit, TokensBeforeInterruption);
        }

        if (scenario.Drop)
        {
            (limit, finishReason) = (Math.Min(limit, TokensBeforeInterruption), null);
        }

        var tokenDelay = TimeSpan.FromMilliseconds(scenario.TokenDelayMs ?? options.Value.TokenDelayMs);
        return new CompletionPlan
        {
            Id = $"chatcmpl-{RandomNumberGenerator.GetString(IdAlphabet, 29)}",
            Created = time.GetUtcNow().ToUnixTimeSeconds(),
            Model = model,
            Route = route,
            Pieces = [.. tokenizer.Pieces(ids.Take(limit))],
            FinishReason = finishReason,
            PromptTokens = tokenizer.CountPrompt(messages) + tools.PromptTokens(request),
            FirstTokenDelay = scenario.FirstTokenDelayMs is { } slow ? TimeSpan.FromMilliseconds(slow) : tokenDelay,
            TokenDelay = tokenDelay,
            IncludeUsage = request.StreamOptions?.IncludeUsage == true,
            BadChunk = scenario.BadChunk,
        };
    }

    // Calls are cut by the same limits as text (the content filter judges text only).
    private CompletionPlan ToolCallPlan(ChatCompletionRequest request, string model, ChatRoute route, Scenario scenario, IReadOnlyList<PlannedToolCall> calls)
    {
        string? finishReason = "tool_calls";
        if ((request.MaxCompletionTokens ?? request.MaxTokens) is { } maxTokens && maxTokens < calls.Sum(call => call.CompletionTokens))
        {
            (calls, finishReason) = (ToolCallPlanner.Truncate(calls, maxTokens), "length");
        }

        if (scenario.BadChunk || scenario.Drop)
        {
            calls = ToolCallPlanner.Truncate(calls, TokensBeforeInterruption);
            finishReason = scenario.Drop ? null : finishReason;
        }

        var tokenDelay = TimeSpan.FromMilliseconds(scenario.TokenDelayMs ?? options.Value.TokenDelayMs);
        return new CompletionPlan
        {
            Id = $"chatcmpl-{RandomNumberGenerator.GetString(IdAlphabet, 29)}",
            Created = time.GetUtcNow().ToUnixTimeSeconds(),
            Model = model,
            Route = route,
            Pieces = [],
            ToolCalls = calls,
            FinishReason = finishReason,
            PromptTokens = tokenizer.CountPrompt(request.Messages!) + tools.PromptTokens(request),
            FirstTokenDelay = scenario.FirstTokenDelayMs is { } slow ? TimeSpan.FromMilliseconds(slow) : tokenDelay,
            TokenDelay = tokenDelay,
            IncludeUsage = request.StreamOptions?.IncludeUsage == true,
            BadChunk = scenario.BadChunk,
        };
    }

    /// <summary>The whole reply after the time it takes to generate; null when the plan is to drop the connection.</summary>
    public async Task<ChatCompletion?> CompleteAsync(CompletionPlan plan, RequestLogEntry entry, CancellationToken cancellationToken)
    {
        await Task.Delay(plan.GenerationTime, time, cancellationToken);
        entry.AddCompletionTokens(plan.CompletionTokens);
        if (plan.FinishReason is not { } finishReason)
        {
            return null;
        }

        var azure = plan.Route.IsAzure();
        return new ChatCompletion
        {
            Id = plan.Id,
            Created = plan.Created,
            Model = plan.Model,
            SystemFingerprint = SystemFingerprint,
            Choices =
            [
                new ChatCompletionChoice
                {
                    Message = plan.ToolCalls.Count > 0
                        ? new AssistantMessage
                        {
                            Content = null,
                            ToolCalls = [.. plan.ToolCalls.Select(call => new ToolCall { Id = call.Id, Function = new FunctionCall { Name = call.Name, Arguments = call.Arguments } })],
                        }
                        : new AssistantMessage { Content = plan.Text },
                    FinishReason = finishReason,
                    ContentFilterResults = azure ? VerdictFor(finishReason) : null,
                },
            ],
            Usage = Usage(plan),
            PromptFilterResults = azure ? PromptFilterResults : null,
        };
    }

    // The chunks of a streamed reply, in order: (Azure: prompt filter results), the role, one per token (or per
    // call its header and one per fragment of its arguments), the finish reason, then usage if asked for. ChatCompletionStreamResult paces and writes them.

    /// <summary>Azure's first chunk, which reports on the prompt before any choice, with blank identity fields; null for OpenAI.</summary>
    public static ChatCompletionChunk? PromptFilterChunk(CompletionPlan plan) => plan.Route.IsAzure()
        ? new ChatCompletionChunk
        {
            Id = "",
            Object = "",
            Created = 0,
            Model = "",
            Choices = [],
            PromptFilterResults = PromptFilterResults,
        }
        : null;

    /// <summary>The role; for a reply that calls tools, with the first call's id and name.</summary>
    public static ChatCompletionChunk RoleChunk(CompletionPlan plan) => Chunk(plan, new ChunkChoice
    {
        Delta = plan.ToolCalls is [var first, ..] ? ChunkChoice.ToolCallsStartDelta(0, first.Id, first.Name) : ChunkChoice.RoleDelta,
        ContentFilterResults = plan.Route.IsAzure() ? ContentFilterResults.None : null,
    });

    /// <summary>A call's header or a fragment of its arguments; Azure's filter has no text to judge in them.</summary>
    public static ChatCompletionChunk ToolCallChunk(CompletionPlan plan, IReadOnlyDictionary<string, JsonNode?> delta) => Chunk(plan, new ChunkChoice
    {
        Delta = delta,
        ContentFilterResults = plan.Route.IsAzure() ? ContentFilterResults.None : null,
    });

    public static ChatCompletionChunk ContentChunk(CompletionPlan plan, string text) => Chunk(plan, new ChunkChoice
    {
        Delta = ChunkChoice.ContentDelta(text),
        ContentFilterResults = plan.Route.IsAzure() ? ContentFilterResults.Safe : null,
    });

    public static ChatCompletionChunk FinishChunk(CompletionPlan plan, string finishReason) => Chunk(plan, new ChunkChoice
    {
        Delta = ChunkChoice.EmptyDelta,
        FinishReason = finishReason,
        ContentFilterResults = plan.Route.IsAzure() ? FilterResultsFor(finishReason) : null,
    });

    public static ChatCompletionChunk UsageChunk(CompletionPlan plan) => new()
    {
        Id = plan.Id,
        Created = plan.Created,
        Model = plan.Model,
        SystemFingerprint = SystemFingerprint,
        Choices = [],
        Usage = Usage(plan),
    };

    private static ChatCompletionChunk Chunk(CompletionPlan plan, ChunkChoice choice) => new()
    {
        Id = plan.Id,
        Created = plan.Created,
        Model = plan.Model,
        SystemFingerprint = SystemFingerprint,
        Choices = [choice],
    };

    private static ChatUsage Usage(CompletionPlan plan) => new()
    {
        PromptTokens = plan.PromptTokens,
        CompletionTokens = plan.CompletionTokens,
    };

    // Azure's streamed finish chunk carries {} unless the filter is why it finished; a whole reply always has a verdict.
    private static ContentFilterResults FilterResultsFor(string finishReason) =>
        finishReason == "content_filter" ? ContentFilterResults.FilteredViolence : ContentFilterResults.None;

    private static ContentFilterResults VerdictFor(string finishReason) =>
        finishReason == "content_filter" ? ContentFilterResults.FilteredViolence : ContentFilterResults.Safe;

    private static readonly IReadOnlyList<PromptFilterResult> PromptFilterResults =
        [new PromptFilterResult(0, ContentFilterResults.SafePrompt)];
}
