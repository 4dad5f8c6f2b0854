using System.Text.Json;
using GptAspire.Api.Services.Tools;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GptAspire.Api.Tests;

public class ArithmeticExpressionTests
{
    [Theory]
    [InlineData("1 + 2 * 3", "7")]
    [InlineData("(12.5 + 7) * 3", "58.5")]
    [InlineData("0.1 + 0.2", "0.3")]
    [InlineData("2 ^ 10", "1024")]
    [InlineData("2 ^ -2", "0.25")]
    [InlineData("-2 ^ 2", "-4")]
    [InlineData("2 ^ 3 ^ 2", "512")]
    [InlineData("--3", "3")]
    [InlineData("10 % 4", "2")]
    [InlineData("1,000 × 3 ÷ 4", "750")]
    [InlineData("  7  ", "7")]
    public void Computes_exactly(string expression, string expected) =>
        Assert.Equal(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), ArithmeticExpression.Evaluate(expression));

    [Theory]
    [InlineData("", "empty")]
    [InlineData("1 / 0", "divides by zero")]
    [InlineData("1 +", "Expected a number, found the end")]
    [InlineData("(1 + 2", "closing parenthesis")]
    [InlineData("2 ^ 0.5", "whole numbers")]
    [InlineData("10 ^ 1000", "too large")]
    [InlineData("System.IO.File.Delete(\"x\")", "Expected a number")]
    [InlineData("1 2", "Unexpected '2' at position 3")]
    [InlineData("1.2.3", "is not a number")]
    [InlineData("1,5 * 2", "write decimals with a point")]
    [InlineData("99999999999999999999999999999", "too large for exact decimal arithmetic")]
    [InlineData("10 ^ -30", "too small")]
    [InlineData("0.1 ^ 29", "too small")]
    [InlineData("0.5 ^ -1000", "too large")]
    [InlineData("0 ^ -1", "divides by zero")]
    public void Refuses_what_it_cannot_compute_in_words(string expression, string reason)
    {
        var error = Assert.Throws<ToolInputException>(() => ArithmeticExpression.Evaluate(expression));
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void Bounds_length_and_depth()
    {
        Assert.Contains("longer than", Assert.Throws<ToolInputException>(() => ArithmeticExpression.Evaluate(new string('1', 201))).Message);
        Assert.Contains("nests deeper", Assert.Throws<ToolInputException>(() => ArithmeticExpression.Evaluate(new string('(', 40) + "1" + new string(')', 40))).Message);
        Assert.Contains("nests deeper", Assert.Throws<ToolInputException>(() => ArithmeticExpression.Evaluate(new string('-', 150) + "1")).Message);
    }
}

public class BuiltInToolsTests
{
    private static readonly DateTimeOffset Noon = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_time_in_a_zone_is_its_local_time_with_its_offset()
    {
        var tokyo = BuiltInTools.CurrentTimeIn("Asia/Tokyo", Noon);
        Assert.Equal(new("Asia/Tokyo", "2026-12-05T21:00:00+09:00", "+09:00", "Saturday"), tokyo);
        Assert.Equal("-05:00", BuiltInTools.CurrentTimeIn("America/New_York", Noon).UtcOffset);
        Assert.Equal("+00:00", BuiltInTools.CurrentTimeIn("UTC", Noon).UtcOffset);
        Assert.Equal("-09:00", BuiltInTools.CurrentTimeIn("Etc/GMT+9", Noon).UtcOffset);
    }

    [Theory]
    [InlineData("Mars/Olympus_Mons")]
    [InlineData("")]
    [InlineData("../../etc/passwd")]
    [InlineData("America")]
    [InlineData("Europe//London")]
    [InlineData("/usr/share/zoneinfo/Asia/Tokyo")]
    public void An_unknown_zone_is_an_error_in_words(string zone)
    {
        var error = Assert.Throws<ToolInputException>(() => BuiltInTools.CurrentTimeIn(zone, Noon));
        Assert.Contains("is not a time zone name of the IANA database", error.Message);
    }
}

public class ToolRunnerTests
{
    private static ToolRunner Runner(TimeSpan? timeout = null) => new(
        Options.Create(new ChatToolsOptions { Timeout = timeout ?? TimeSpan.FromSeconds(5) }), NullLogger<ToolRunner>.Instance);

    private static Task<ToolOutcome> Run(ToolRunner runner, AIFunction? function, string name, Dictionary<string, object?>? arguments, Exception? parseError = null)
    {
        var call = new FunctionCallContent("call_1", name, arguments) { Exception = parseError };
        return runner.RunAsync(function, call, new AIFunctionArguments(arguments), CancellationToken.None);
    }

    [Fact]
    public async Task A_call_gives_the_tools_result_as_json_and_how_long_it_ran()
    {
        var outcome = await Run(Runner(), BuiltInTools.Calculate(), "calculate", new() { ["expression"] = "6 * 7" });
        Assert.Null(outcome.Error);
        Assert.Equal(42m, outcome.Result!.Value.GetProperty("value").GetDecimal());
        Assert.Equal("6 * 7", outcome.Result!.Value.GetProperty("expression").GetString());
        Assert.True(outcome.DurationMs >= 0);
    }

    [Fact]
    public async Task Every_bad_call_is_an_error_result_never_an_exception()
    {
        var runner = Runner();
        var calculate = BuiltInTools.Calculate();

        Assert.Equal("There is no tool named 'rm_rf'.", (await Run(runner, null, "rm_rf", [])).Error);
        Assert.Equal($"There is no tool named '{new string('x', 64)}…'.", (await Run(runner, null, new string('x', 5000), [])).Error);
        Assert.Equal("The arguments were not a JSON object.", (await Run(runner, calculate, "calculate", null, new JsonException("bad"))).Error);
        Assert.Equal("The arguments do not fit the tool's parameters (expression: string (required)).", (await Run(runner, calculate, "calculate", [])).Error);
        Assert.StartsWith("The arguments do not fit the tool's parameters",
            (await Run(runner, calculate, "calculate", new() { ["expression"] = JsonSerializer.SerializeToElement(new[] { 1, 2 }) })).Error);
        Assert.Equal("The expression divides by zero.", (await Run(runner, calculate, "calculate", new() { ["expression"] = "1/0" })).Error);

        var throwing = AIFunctionFactory.Create(string () => throw new InvalidOperationException("connection string=secret"), "broken");
        var failed = await Run(runner, throwing, "broken", []);
        Assert.Equal("The tool failed.", failed.Error);
    }

    [Fact]
    public async Task A_tool_past_the_timeout_ends_as_an_error_even_if_it_ignores_cancellation()
    {
        var hanging = AIFunctionFactory.Create(async () => { await Task.Delay(Timeout.Infinite, CancellationToken.None); return 1; }, "hang");
        var outcome = await Run(Runner(TimeSpan.FromMilliseconds(200)), hanging, "hang", []);
        Assert.Equal("The tool did not finish within 0.2 s.", outcome.Error);
        Assert.InRange(outcome.DurationMs, 150, 5000);
    }

    [Fact]
    public async Task A_stop_of_the_answer_cancels_the_tool()
    {
        var started = new TaskCompletionSource();
        var cancelled = new TaskCompletionSource();
        var slow = AIFunctionFactory.Create(async (CancellationToken token) =>
        {
            started.SetResult();
            try { await Task.Delay(Timeout.Infinite, token); }
            catch (OperationCanceledException) { cancelled.SetResult(); throw; }
            return 1;
        }, "slow");
        using var stop = new CancellationTokenSource();
        var run = Runner().RunAsync(slow, new FunctionCallContent("call_1", "slow"), new AIFunctionArguments(), stop.Token);
        await started.Task;
        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
    }

    [Fact]
    public void The_model_reads_a_result_as_is_and_an_error_as_an_error_object()
    {
        var ok = ToolOutcome.Succeeded(JsonSerializer.SerializeToElement(new { value = 1 }), 3).ToContent("call_1");
        Assert.Equal("""{"value":1}""", JsonSerializer.Serialize(ok.Result));
        var failed = ToolOutcome.Failed("No such zone.", 3).ToContent("call_2");
        Assert.Equal("""{"error":"No such zone."}""", JsonSerializer.Serialize(failed.Result));
        Assert.Equal("No such zone.", ToolOutcome.Of(failed)!.Error);
    }
}
