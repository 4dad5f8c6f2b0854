using System.Text.Json;
using System.Text.RegularExpressions;
using GptAspire.OpenAIEmulator.Models;

namespace GptAspire.OpenAIEmulator.Services;

/// <summary>
/// Refuses what OpenAI refuses about tools, with its messages: malformed <c>tools</c>, a <c>tool_choice</c> that is
/// not one of its forms or names a tool not offered, either without <c>tools</c>, a <c>tool</c> message that answers
/// no call of the assistant message before it, and an assistant's calls left without answers.
/// </summary>
public static partial class ToolRequestValidator
{
    public static IResult? Validate(ChatCompletionRequest request)
    {
        var tools = request.Tools;
        if (tools is { Count: 0 })
        {
            return EmulatorErrors.EmptyArray("tools");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (tools?.Count ?? 0); i++)
        {
            var tool = tools![i];
            if (tool.Type != "function")
            {
                return tool.Type is null
                    ? EmulatorErrors.MissingParameter($"tools[{i}].type")
                    : EmulatorErrors.InvalidValue($"tools[{i}].type", $"Invalid value: '{tool.Type}'. Supported values are: 'function' and 'custom'.");
            }

            if (tool.Function?.Name is not { } name)
            {
                return EmulatorErrors.MissingParameter($"tools[{i}].function.name");
            }

            if (!FunctionName().IsMatch(name))
            {
                return EmulatorErrors.InvalidValue($"tools[{i}].function.name", $"Invalid 'tools[{i}].function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{{1,64}}$'.");
            }

            names.Add(name);
        }

        if (request.ToolChoice is { ValueKind: not JsonValueKind.Null } choice && ToolChoiceError(choice, tools is not null, names) is { } invalidChoice)
        {
            return invalidChoice;
        }

        if (request.ParallelToolCalls is not null && tools is null)
        {
            return EmulatorErrors.InvalidValue("parallel_tool_calls", "Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is only allowed when 'tools' are specified.", code: null);
        }

        return MessagesError(request.Messages!);
    }

    private static IResult? ToolChoiceError(JsonElement choice, bool hasTools, HashSet<string> names)
    {
        if (!hasTools)
        {
            return EmulatorErrors.InvalidValue("tool_choice", "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", code: null);
        }

        if (choice.ValueKind == JsonValueKind.String)
        {
            return choice.GetString() is ToolChoice.None or ToolChoice.Auto or ToolChoice.Required
                ? null
                : EmulatorErrors.InvalidValue("tool_choice", $"Invalid value: '{choice.GetString()}'. Supported values are: 'none', 'auto', and 'required'.");
        }

        if (ToolChoice.Of(choice).Function is not { } name)
        {
            return EmulatorErrors.MissingParameter("tool_choice.function.name");
        }

        return names.Contains(name)
            ? null
            : EmulatorErrors.InvalidValue("tool_choice", $"Invalid value for 'tool_choice': function '{name}' is not among the functions in 'tools'.");
    }

    private static IResult? MessagesError(List<ChatMessage> messages)
    {
        // The calls of the latest assistant message with calls, until each is answered.
        var open = new List<string>();
        var openAt = -1;
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            if (message.Role == "tool")
            {
                if (message.ToolCallId is not { } id)
                {
                    return EmulatorErrors.MissingParameter($"messages[{i}].tool_call_id");
                }

                if (openAt < 0 || !open.Remove(id))
                {
                    return EmulatorErrors.InvalidValue($"messages.[{i}].role", "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", code: null);
                }

                continue;
            }

            if (open.Count > 0)
            {
                return Unanswered(openAt, open);
            }

            openAt = -1;
            if (message is { Role: "assistant", ToolCalls: { Count: > 0 } calls })
            {
                for (var c = 0; c < calls.Count; c++)
                {
                    if (calls[c].Id is not { } callId)
                    {
                        return EmulatorErrors.MissingParameter($"messages[{i}].tool_calls[{c}].id");
                    }

                    if (calls[c].Function?.Name is null)
                    {
                        return EmulatorErrors.MissingParameter($"messages[{i}].tool_calls[{c}].function.name");
                    }

                    open.Add(callId);
                }

                openAt = i;
            }
        }

        return open.Count > 0 ? Unanswered(openAt, open) : null;
    }

    private static IResult Unanswered(int at, List<string> ids) => EmulatorErrors.InvalidValue(
        $"messages.[{at}].role",
        $"An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {string.Join(", ", ids)}",
        code: null);

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,64}$")]
    private static partial Regex FunctionName();
}
