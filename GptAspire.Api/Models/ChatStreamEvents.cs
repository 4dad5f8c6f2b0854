using System.Text.Json;
using System.Text.Json.Serialization;

namespace GptAspire.Api.Models;

/// <summary>
/// The names of the server-sent events of <c>POST /api/chat/stream</c>. Every stream starts with
/// <see cref="Start"/> and ends with exactly one <see cref="Finish"/> or <see cref="Error"/>.
/// </summary>
public static class ChatEventNames
{
    public const string Start = "start";
    public const string Token = "token";
    public const string ToolCall = "tool_call";
    public const string ToolResult = "tool_result";
    public const string Usage = "usage";
    public const string Finish = "finish";
    public const string Error = "error";
}

/// <summary>The <c>reason</c> values of the <c>finish</c> event, as OpenAI names them.</summary>
public static class FinishReasons
{
    public const string Stop = "stop";
    public const string Length = "length";
    public const string ContentFilter = "content_filter";

    /// <summary>Not OpenAI's: the answer was stopped with <c>POST /api/chat/stream/{requestId}/stop</c>.</summary>
    public const string Stopped = "stopped";
}

/// <summary>The <c>code</c> values of the <c>error</c> event.</summary>
public static class ChatErrorCodes
{
    public const string RateLimited = "rate_limited";
    public const string ContentFiltered = "content_filtered";
    public const string UpstreamUnavailable = "upstream_unavailable";
    public const string UpstreamTimeout = "upstream_timeout";

    /// <summary>No connection to the AI service within <c>Chat:UpstreamConnectTimeout</c>.</summary>
    public const string UpstreamConnectTimeout = "upstream_connect_timeout";
    public const string UpstreamError = "upstream_error";

    /// <summary>Nobody read the stream for <c>Chat:Streams:AbandonAfter</c>, so the answer was cancelled.</summary>
    public const string Abandoned = "abandoned";

    /// <summary>The API is shutting down; the answer can be asked for again.</summary>
    public const string ServerShuttingDown = "server_shutting_down";

    /// <summary>The answer streamed for longer than <c>Chat:Streams:MaxAnswerDuration</c>.</summary>
    public const string AnswerTooLong = "answer_too_long";

    /// <summary>The answer reached the stream's event or byte limit (<c>Chat:Streams</c>).</summary>
    public const string StreamTooLarge = "stream_too_large";

    /// <summary>The API failed while generating the answer (a bug, logged as an error).</summary>
    public const string InternalError = "internal_error";

    /// <summary>The model asked for more rounds of tool calls than <c>Chat:Tools:MaxRounds</c> allows.</summary>
    public const string ToolRoundsExceeded = "tool_rounds_exceeded";

    /// <summary>The answer cannot be continued: the shared store lost it and the replica that generated it is gone.</summary>
    public const string ServerUnavailable = "server_unavailable";
}

/// <summary>
/// Data of the <c>start</c> event: who answers, the token budget before the answer, the heartbeat interval
/// (a stream silent for twice that long is lost) and the cap on answer tokens.
/// </summary>
public sealed record StartEvent(
    string RequestId,
    string Model,
    string TraceId,
    int PromptTokens,
    int ContextWindow,
    int RemainingTokens,
    int HeartbeatSeconds,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? MaxTokens);

/// <summary>Data of a <c>token</c> event: one content delta, sent as soon as it arrives.</summary>
public sealed record TokenEvent(string Text);

/// <summary>
/// Data of a <c>tool_call</c> event: the model asked for a tool, and it starts running. Sent once the call's
/// arguments are complete; parallel calls each get their own event.
/// </summary>
/// <param name="CallId">The model's id of the call; its <c>tool_result</c> has the same.</param>
/// <param name="Name">The tool's name.</param>
/// <param name="Arguments">The arguments as a JSON object; null when the model's arguments were not a JSON object.</param>
public sealed record ToolCallEvent(string CallId, string Name, JsonElement? Arguments);

/// <summary>Data of a <c>tool_result</c> event: how a call ended, with exactly one of its result or an error.</summary>
/// <param name="Result">What the tool returned, as JSON.</param>
/// <param name="Error">Why the call failed, in words (the model reads it too).</param>
/// <param name="DurationMs">How long the call ran, in milliseconds.</param>
public sealed record ToolResultEvent(
    string CallId,
    string Name,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonElement? Result,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error,
    long DurationMs);

/// <summary>Data of the <c>usage</c> event, after the last token (the sum over every call to the model).</summary>
public sealed record UsageEvent(int PromptTokens, int CompletionTokens, int TotalTokens, int RemainingTokens);

/// <summary>Data of the <c>finish</c> event: why the model stopped.</summary>
public sealed record FinishEvent(string Reason);

/// <summary>Data of the <c>error</c> event: a code for programs and a message for people.</summary>
public sealed record ErrorEvent(
    string Code,
    string Message,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? RetryAfterSeconds = null);

/// <summary>Data of <c>GET /api/info</c>: the model, and the limits the server applies to every chat.</summary>
/// <param name="MaxPromptTokens">The longest conversation, in tokens, the server accepts.</param>
/// <param name="DefaultMaxTokens">The cap on answer tokens when a request sets no <c>maxTokens</c>.</param>
/// <param name="MaxOutputTokens">The largest <c>maxTokens</c> a request may ask for.</param>
/// <param name="MaxTemperature">The largest <c>temperature</c> a request may ask for (the smallest is 0).</param>
/// <param name="Tools">The names of the tools the model may call (empty when <c>Chat:Tools:Enabled</c> is off).</param>
public sealed record ChatInfo(
    string Model, int ContextWindow, bool UsingEmulator, int MaxPromptTokens, int DefaultMaxTokens, int MaxOutputTokens, double MaxTemperature,
    IReadOnlyList<string> Tools);
