using GptAspire.Tokenization;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using GptAspire.OpenAIEmulator.Models;

namespace GptAspire.OpenAIEmulator.Services;

/// <summary>One function call of a reply: its argument text as streamed, a token per fragment.</summary>
public sealed record PlannedToolCall(string Id, string Name, IReadOnlyList<TokenPiece> Fragments)
{
    public string Arguments => string.Concat(Fragments.Select(fragment => fragment.Text));

    /// <summary>What the call costs in completion tokens: its name (sent whole in its first chunk) and its arguments.</summary>
    public int NameTokens { get; init; }

    public int CompletionTokens => NameTokens + Fragments.Sum(fragment => fragment.TokenCount);
}

/// <summary>What the model does with its turn when tools are involved: call some, or answer from their results.</summary>
public sealed record ToolTurn(IReadOnlyList<PlannedToolCall> Calls, string? Reply)
{
    /// <summary>No tool is involved: the ordinary reply.</summary>
    public static ToolTurn None { get; } = new([], null);
}

/// <summary>
/// Decides, as deterministically as the reply text, whether a turn calls tools and with which arguments:
/// <list type="bullet">
/// <item>After tool results (the conversation ends with <c>tool</c> messages): a short answer that uses them
/// (<see cref="ToolResultReply"/>), unless <c>[emulator:tool-rounds=N]</c> asks for N rounds of calls first.</item>
/// <item>With <c>tools</c> offered and <c>tool_choice</c> not <c>none</c>: the calls of the
/// <c>[emulator:tool=NAME {arguments}]</c> directives, exactly as written; else those the question asks for
/// (<see cref="ToolIntents"/>) among the tools offered; <c>tool_choice</c> naming a tool, or <c>required</c>,
/// makes a call even when the question asks for none (with <c>{}</c>).</item>
/// </list>
/// A call's id is <c>call_</c> and 24 letters and digits drawn from the conversation (with its directives), the
/// temperature and the seed, as the reply text is: the same conversation at temperature 0 gets the same ids.
/// </summary>
public sealed class ToolCallPlanner(ChatTokenizer tokenizer)
{
    private const string IdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    private const int IdLength = 24;

    // What OpenAI adds around each function definition when it renders them into the prompt, about.
    private const int TokensPerToolCall = 4;

    public ToolTurn Decide(ChatCompletionRequest request, IReadOnlyList<ChatMessage> conversation, Scenario scenario)
    {
        var offered = request.Tools?.Select(tool => tool.Function?.Name).OfType<string>().ToList() ?? [];
        var choice = ToolChoice.Of(request.ToolChoice);
        var seed = SeedFor(conversation, request.Temperature, request.Seed);
        var lastUser = LastIndexOf(conversation, "user");
        var question = lastUser >= 0 ? Scenario.Strip(conversation[lastUser].Text()) : "";
        var rounds = conversation.Skip(lastUser + 1).Count(message => message.Role == "assistant" && message.ToolCalls is { Count: > 0 });
        var canCall = offered.Count > 0 && choice.Mode != ToolChoice.None;

        if (conversation.Count > 0 && conversation[^1].Role == "tool")
        {
            // Called again only while rounds are asked for: a model that got what it asked for answers.
            var again = canCall && rounds < scenario.ToolRounds ? Calls(question, offered, choice, request.ParallelToolCalls, scenario, seed) : [];
            return again.Count > 0 ? new ToolTurn(again, null) : new ToolTurn([], ToolResultReply.Compose(conversation, seed));
        }

        return canCall ? new ToolTurn(Calls(question, offered, choice, request.ParallelToolCalls, scenario, seed), null) : ToolTurn.None;
    }

    /// <summary>
    /// The tokens the tools add to a prompt, beside what <see cref="ChatTokenizer.CountPrompt"/> counts of the
    /// messages' text: the definitions (name, description, parameter schema) and the calls of assistant messages.
    /// </summary>
    public int PromptTokens(ChatCompletionRequest request)
    {
        var tokens = tokenizer.CountTools((request.Tools ?? []).Select(tool => tool.Function).Select(function =>
            new ChatTokenTool(function?.Name ?? "", function?.Description, function?.Parameters?.GetRawText())));

        foreach (var call in (request.Messages ?? []).SelectMany(message => message.ToolCalls ?? []))
        {
            tokens += TokensPerToolCall + tokenizer.Count(call.Function?.Name ?? "") + tokenizer.Count(call.Function?.Arguments ?? "");
        }

        return tokens;
    }

    /// <summary>The calls cut to <paramref name="maxTokens"/> completion tokens, as a model stopped by its limit leaves them.</summary>
    public static IReadOnlyList<PlannedToolCall> Truncate(IReadOnlyList<PlannedToolCall> calls, int maxTokens)
    {
        var cut = new List<PlannedToolCall>();
        var left = maxTokens;
        foreach (var call in calls)
        {
            if (left <= 0)
            {
                break;
            }

            left -= call.NameTokens;
            var fragments = new List<TokenPiece>();
            foreach (var fragment in call.Fragments)
            {
                if (left < fragment.TokenCount)
                {
                    left = 0;
                    break;
                }

                fragments.Add(fragment);
                left -= fragment.TokenCount;
            }

            cut.Add(call with { Fragments = fragments });
        }

        return cut;
    }

    private List<PlannedToolCall> Calls(string question, List<string> offered, ToolChoice choice, bool? parallel, Scenario scenario, ulong seed)
    {
        IReadOnlyList<ForcedToolCall> calls = scenario.ToolCalls.Count > 0 ? scenario.ToolCalls : ToolIntents.Match(question, offered);
        if (scenario.ToolCalls.Count == 0)
        {
            if (choice.Function is { } named)
            {
                calls = calls.Where(call => call.Name == named).ToList() is { Count: > 0 } asked ? asked : [new ForcedToolCall(named, "{}")];
            }
            else if (choice.Mode == ToolChoice.Required && calls.Count == 0)
            {
                calls = [new ForcedToolCall(offered[0], "{}")];
            }

            if (parallel == false)
            {
                calls = calls.Take(1).ToList();
            }
        }

        var random = new DeterministicRandom(seed);
        return
        [
            .. calls.Select(call => new PlannedToolCall(
                $"call_{new string([.. Enumerable.Range(0, IdLength).Select(_ => IdAlphabet[random.Next(IdAlphabet.Length)])])}",
                call.Name,
                [.. tokenizer.Pieces(tokenizer.Encode(call.Arguments))])
            {
                NameTokens = tokenizer.Count(call.Name),
            }),
        ];
    }

    // As ReplyComposer seeds the reply text (see it for the rules), over the conversation with its directives, so
    // that two forced calls that differ only in their arguments get different ids.
    private static ulong SeedFor(IReadOnlyList<ChatMessage> conversation, double? temperature, long? seed)
    {
        var fingerprint = ConversationFingerprint.Of(conversation) ^ CallsFingerprint(conversation);
        if (temperature is not > 0)
        {
            return fingerprint;
        }

        var salt = seed is { } fixedSeed ? unchecked((ulong)fixedSeed) : BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
        return new DeterministicRandom(fingerprint ^ salt).NextUInt64();
    }

    // ConversationFingerprint reads messages' text; the calls of a round are what tells the rounds' requests apart.
    private static ulong CallsFingerprint(IReadOnlyList<ChatMessage> conversation)
    {
        var calls = string.Join('\u001e', conversation.SelectMany(message => message.ToolCalls ?? [])
            .Select(call => $"{call.Id}\u001f{call.Function?.Name}\u001f{call.Function?.Arguments}"));
        return BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes(calls)));
    }

    private static int LastIndexOf(IReadOnlyList<ChatMessage> messages, string role)
    {
        for (var i = messages.Count - 1; i >= 0; i--)
        {
            if (messages[i].Role == role)
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>A request's <c>tool_choice</c>, read: <c>none</c>, <c>auto</c> (the default), <c>required</c>, or one function by name.</summary>
public readonly record struct ToolChoice(string Mode, string? Function)
{
    public const string None = "none";
    public const string Auto = "auto";
    public const string Required = "required";

    /// <summary>The choice in <paramref name="value"/>; validated beforehand by <see cref="ToolRequestValidator"/>.</summary>
    public static ToolChoice Of(JsonElement? value) => value switch
    {
        { ValueKind: JsonValueKind.String } text => new ToolChoice(text.GetString()!, null),
        { ValueKind: JsonValueKind.Object } named when named.TryGetProperty("function", out var function)
            && function.ValueKind == JsonValueKind.Object
            && function.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String
            => new ToolChoice(Required, name.GetString()),
        _ => new ToolChoice(Auto, null),
    };
}
