using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace GptAspire.Api.Services.Tools;

/// <summary>
/// Microsoft.Extensions.AI's function-invoking client, with the API's rules for a call: every call ends as a
/// <see cref="ToolOutcome"/> (run by <see cref="ToolRunner"/>), which the model reads as its result message and the
/// stream shows as a <c>tool_result</c> event. The loop of rounds is the library's; the API ends an answer that asks
/// for more than <c>Chat:Tools:MaxRounds</c> rounds itself, so the library's own cap is set one round above. What the
/// library keeps of a round while it streams is folded by <see cref="RoundTextFoldingChatClient"/>.
/// </summary>
public sealed class ToolInvokingChatClient : FunctionInvokingChatClient
{
    private readonly ToolRunner _runner;

    public ToolInvokingChatClient(IChatClient innerClient, ToolRunner runner, IOptions<ChatToolsOptions> options, ILoggerFactory? loggerFactory)
        : base(new RoundTextFoldingChatClient(innerClient), loggerFactory)
    {
        _runner = runner;
        MaximumIterationsPerRequest = options.Value.MaxRounds + 1;
        // Failures are results here, never exceptions; the cap only guards against a tool written otherwise.
        MaximumConsecutiveErrorsPerRequest = options.Value.MaxRounds + 1;
        AllowConcurrentInvocation = true;
    }

    protected override async ValueTask<object?> InvokeFunctionAsync(FunctionInvocationContext context, CancellationToken cancellationToken) =>
        await _runner.RunAsync(context.Function, context.CallContent, context.Arguments, cancellationToken);

    protected override IList<ChatMessage> CreateResponseMessages(ReadOnlySpan<FunctionInvocationResult> results)
    {
        var contents = new List<AIContent>(results.Length);
        foreach (var result in results)
        {
            var outcome = result.Result as ToolOutcome ?? ToolOutcome.Failed(
                result.Status == FunctionInvocationStatus.NotFound ? $"There is no tool named '{ToolEvents.Shorten(result.CallContent.Name)}'." : "The tool failed.", 0);
            contents.Add(outcome.ToContent(result.CallContent.CallId));
        }

        return [new ChatMessage(ChatRole.Tool, contents)];
    }
}
