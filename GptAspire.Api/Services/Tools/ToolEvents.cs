using System.Text.Json;
using GptAspire.Api.Models;
using GptAspire.Api.Services.Streams;
using Microsoft.Extensions.AI;

namespace GptAspire.Api.Services.Tools;

/// <summary>
/// Turns an answer's tool contents, as the function-invoking client streams them, into <c>tool_call</c> and
/// <c>tool_result</c> events, and counts the rounds: a run of calls after text or results starts a new one, and the
/// first call past <c>Chat:Tools:MaxRounds</c> sets <see cref="RoundsExceeded"/> instead of making an event.
/// </summary>
public sealed class ToolEvents(int roundsBefore, int maxRounds)
{
    private readonly Dictionary<string, string> _names = new(StringComparer.Ordinal);
    private bool _inCalls;

    public int Rounds { get; private set; } = roundsBefore;

    public bool RoundsExceeded { get; private set; }

    /// <summary>The event for a call or result content; null for one that makes none.</summary>
    public ChatStreamEvent? Next(AIContent content, ChatStreamFrameWriter frames)
    {
        switch (content)
        {
            case FunctionCallContent { InformationalOnly: false } call:
                if (!_inCalls)
                {
                    _inCalls = true;
                    if (++Rounds > maxRounds)
                    {
                        RoundsExceeded = true;
                        return null;
                    }
                }

                var name = _names[call.CallId] = Shorten(call.Name);
                var arguments = call.Exception is null && call.Arguments is not null
                    ? JsonSerializer.SerializeToElement(call.Arguments, ToolJson.Options)
                    : (JsonElement?)null;
                return frames.Event(ChatEventNames.ToolCall, new ToolCallEvent(call.CallId, name, arguments));

            case FunctionResultContent result when ToolOutcome.Of(result) is { } outcome:
                _inCalls = false;
                return frames.Event(ChatEventNames.ToolResult, ResultEvent(_names.GetValueOrDefault(result.CallId, ""), result, outcome));

            default:
                return null;
        }
    }

    /// <summary>
    /// A name from outside (a tool's, a time zone's) as the stream and its errors show it: OpenAI's tool names are at most
    /// 64 characters; a longer one is cut.
    /// </summary>
    public static string Shorten(string name) => name.Length <= 64 ? name : name[..64] + "…";

    public static ToolResultEvent ResultEvent(string name, FunctionResultContent content, ToolOutcome outcome) =>
        new(content.CallId, name, outcome.Error is null ? outcome.Result : null, outcome.Error, outcome.DurationMs);
}
