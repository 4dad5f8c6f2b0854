using Aspire.Hosting.ApplicationModel;
using GptAspire.Hosting;

namespace GptAspire.AppHost.Tests;

/// <summary>
/// What the AppHost's console says when the chat page's server stops: someone waiting for the <c>Chat page:</c>
/// line is told, rather than left waiting while the dashboard shows <c>web</c> ended.
/// </summary>
public class StoppedLineTests
{
    private static CustomResourceSnapshot Snapshot(string state, int? exitCode) => new()
    {
        ResourceType = "Executable",
        Properties = [],
        State = new ResourceStateSnapshot(state, null),
        ExitCode = exitCode,
    };

    [Theory]
    [InlineData("Finished", 1, "Chat page not available: web stopped (Finished, exit code 1); its console logs are in the dashboard, and it can be started again there")]
    [InlineData("Exited", 137, "Chat page not available: web stopped (Exited, exit code 137); its console logs are in the dashboard, and it can be started again there")]
    [InlineData("FailedToStart", null, "Chat page not available: web stopped (FailedToStart); its console logs are in the dashboard, and it can be started again there")]
    public void A_page_server_that_stops_is_named_with_its_exit_code(string state, int? exitCode, string expected) =>
        Assert.Equal(expected, ResourceReadyLogExtensions.StoppedLine("Chat page", "web", Snapshot(state, exitCode)));

    [Theory]
    [InlineData("Running", null)]
    [InlineData("Starting", null)]
    [InlineData("Finished", 0)]
    public void A_running_server_or_a_clean_exit_says_nothing(string state, int? exitCode) =>
        Assert.Null(ResourceReadyLogExtensions.StoppedLine("Chat page", "web", Snapshot(state, exitCode)));

    [Fact]
    public void The_line_is_not_taken_for_the_ready_line() =>
        // The ready line is "Chat page: <url>"; tools and readers look for that prefix.
        Assert.DoesNotContain("Chat page: ", ResourceReadyLogExtensions.StoppedLine("Chat page", "web", Snapshot("Finished", 1)), StringComparison.Ordinal);
}
