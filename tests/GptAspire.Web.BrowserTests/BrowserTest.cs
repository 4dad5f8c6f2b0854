using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace GptAspire.Web.BrowserTests;

/// <summary>
/// One test in its own browser context (fresh storage) on the chat page, with what a person would
/// touch: the composer, the last answer, its status. Records the page's console; when the test
/// fails, saves a screenshot and that log to <c>artifacts/browser-tests/&lt;test&gt;.png/.log</c>.
/// </summary>
public abstract partial class BrowserTest(AppHostFixture app, BrowserFixture browser) : IAsyncLifetime
{
    /// <summary>The longest any single wait may take.</summary>
    protected const float Wait = 20_000;

    /// <summary>Waits for things that happen at once (a click shows a state).</summary>
    protected const float Short = 5_000;

    private readonly ConcurrentQueue<string> _console = new();
    private readonly ConcurrentQueue<string> _chatPosts = new();
    private readonly ConcurrentQueue<string> _resumes = new();
    private readonly ConcurrentQueue<string> _stops = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    protected AppHostFixture App { get; } = app;

    /// <summary>The server of the page: the AppHost's <c>web</c> (Vite's dev server) unless a test class serves another.</summary>
    protected virtual Uri PageUrl => App.WebUrl;

    protected IBrowserContext Context { get; private set; } = null!;

    protected IPage Page { get; private set; } = null!;

    /// <summary>When this test started, by the clock of this machine (the emulator's too).</summary>
    protected DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    protected static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    protected ILocator Composer => Page.GetByTestId("composer-input");

    protected ILocator UserMessages => Page.GetByTestId("message-user");

    protected ILocator AssistantMessages => Page.GetByTestId("message-assistant");

    protected ILocator LastAnswer => AssistantMessages.Last;

    /// <summary>The answer's rendered Markdown alone, without its status line.</summary>
    protected ILocator LastAnswerText => LastAnswer.Locator(".markdown");


    /// <summary>The <c>traceparent</c> of every <c>POST /api/chat/stream</c> the page sent, in order.</summary>
    protected IReadOnlyList<string> ChatPosts => [.. _chatPosts];

    /// <summary>The <c>Last-Event-ID</c> header ("" when none) of every <c>GET /api/chat/stream/{id}</c>, in order.</summary>
    protected IReadOnlyList<string> Resumes => [.. _resumes];

    /// <summary>The path of every <c>POST /api/chat/stream/{id}/stop</c> the page sent, in order.</summary>
    protected IReadOnlyList<string> Stops => [.. _stops];

    public async ValueTask InitializeAsync()
    {
        Context = await browser.Browser.NewContextAsync(new()
        {
            BaseURL = PageUrl.ToString(),
            ViewportSize = new() { Width = 1280, Height = 800 },
            Locale = "en-US",
        });
        Context.SetDefaultTimeout(Wait);
        Context.SetDefaultNavigationTimeout(60_000);
        Page = await Context.NewPageAsync();
        Page.Console += (_, message) => Log($"console.{message.Type}: {message.Text}");
        Page.PageError += (_, error) => Log($"pageerror: {error}");
        Page.RequestFailed += (_, request) => Log($"requestfailed: {request.Method} {request.Url} {request.Failure}");
        Page.Request += (_, request) =>
        {
            var path = new Uri(request.Url).AbsolutePath;
            if (request.Method == "POST" && path == "/api/chat/stream")
            {
                var traceparent = request.Headers.GetValueOrDefault("traceparent") ?? "";
                _chatPosts.Enqueue(traceparent);
                Log($"request: POST {request.Url} traceparent={traceparent}");
            }
            else if (request.Method == "GET" && path.StartsWith("/api/chat/stream/", StringComparison.Ordinal))
            {
                var lastEventId = request.Headers.GetValueOrDefault("last-event-id") ?? "";
                _resumes.Enqueue(lastEventId);
                Log($"request: GET {request.Url} last-event-id={lastEventId}");
            }
            else if (request.Method == "POST" && path.StartsWith("/api/chat/stream/", StringComparison.Ordinal) && path.EndsWith("/stop", StringComparison.Ordinal))
            {
                _stops.Enqueue(path);
                Log($"request: POST {request.Url}");
            }
        };
        Page.Response += (_, response) =>
        {
            if (new Uri(response.Url).AbsolutePath.StartsWith("/api/", StringComparison.Ordinal))
            {
                Log($"response: {response.Status} {response.Request.Method} {response.Url}");
            }
        };

        // The first visit compiles the page in Vite's dev server: it can take a few seconds.
        await Page.GotoAsync("/", new() { Timeout = 60_000 });
        await Expect(Composer).ToBeVisibleAsync(new() { Timeout = 60_000 });
    }

    public async ValueTask DisposeAsync()
    {
        if (Context is null)
        {
            return; // The browser context never opened: the failure says why.
        }

        try
        {
            // xunit sets the test's result before it disposes the test class.
            if (TestContext.Current.TestState?.Result == TestResult.Failed && Page is not null)
            {
                await SaveFailureArtifactsAsync();
            }
        }
        finally
        {
            await Context.CloseAsync();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Types a question into the composer and presses Enter, as a person would.</summary>
    protected async Task AskAsync(string question)
    {
        await Composer.FillAsync(question, new() { Timeout = Wait });
        await Composer.PressAsync("Enter", new() { Timeout = Wait });
    }

    /// <summary>Waits until the last answer has the given status (streaming, done, stopped or error).</summary>
    protected Task ExpectStatusAsync(string status, float timeout = Wait) =>
        Expect(LastAnswer).ToHaveAttributeAsync("data-status", status, new() { Timeout = timeout });

    /// <summary>The status and the length of the answer's text, read in one go from the page.</summary>
    protected async Task<(string Status, int Length)> SampleAsync()
    {
        var sample = await LastAnswer.EvaluateAsync<JsonElement>(
            """
            el => ({
              status: el.dataset.status ?? '',
              length: el.querySelector('.markdown')?.textContent?.length ?? 0
            })
            """,
            null,
            new() { Timeout = Short });
        return (sample.GetProperty("status").GetString()!, sample.GetProperty("length").GetInt32());
    }

    /// <summary>The trace id the browser started for its <paramref name="index"/>th chat request.</summary>
    protected string TraceIdOfPost(int index)
    {
        var posts = ChatPosts;
        Assert.True(posts.Count > index, $"The page sent {posts.Count} chat request(s), not {index + 1}.");
        var parts = posts[index].Split('-');
        Assert.True(parts.Length == 4, $"The chat request had no W3C traceparent header: '{posts[index]}'.");
        return parts[1];
    }

    /// <summary>The emulator's record of the OpenAI call made for a trace, once <paramref name="match"/> holds.</summary>
    protected async Task<JsonElement> UpstreamCallAsync(string traceId, Func<JsonElement, bool> match)
    {
        using var emulator = App.Client("openai");
        return await EmulatorRequests.WaitForTraceAsync(emulator, traceId, match, TimeSpan.FromSeconds(10), Cancellation);
    }

    /// <summary>Every OpenAI call the emulator saw for a trace.</summary>
    protected async Task<JsonElement[]> UpstreamCallsAsync(string traceId)
    {
        using var emulator = App.Client("openai");
        return [.. (await EmulatorRequests.ListAsync(emulator, Cancellation)).Where(r => EmulatorRequests.TraceIdOf(r) == traceId)];
    }

    protected static int Number(string text) =>
        int.Parse(Digits().Match(text).Value.Replace(",", ""), System.Globalization.CultureInfo.InvariantCulture);

    private void Log(string line) => _console.Enqueue($"{_clock.Elapsed.TotalSeconds,8:F3}s {line}");

    private async Task SaveFailureArtifactsAsync()
    {
        var directory = Path.Combine(RepositoryRoot(), "artifacts", "browser-tests");
        Directory.CreateDirectory(directory);
        var name = SafeName().Replace(TestContext.Current.Test?.TestDisplayName ?? GetType().Name, "_");
        var log = new StringBuilder()
            .AppendLine($"test: {TestContext.Current.Test?.TestDisplayName}")
            .AppendLine($"url: {Page.Url}")
            .AppendLine("--- page console, errors and chat requests ---")
            .AppendJoin(Environment.NewLine, _console).AppendLine()
            .AppendLine($"--- resource logs (last 200 of {App.ResourceLogs().Length} chars) ---")
            .AppendJoin(Environment.NewLine, App.ResourceLogs().Split('\n').TakeLast(200).Select(l => l.TrimEnd('\r')));
        await File.WriteAllTextAsync(Path.Combine(directory, name + ".log"), log.ToString());
        try
        {
            await Page.ScreenshotAsync(new() { Path = Path.Combine(directory, name + ".png"), FullPage = true, Timeout = Short });
        }
        catch (PlaywrightException e)
        {
            await File.AppendAllTextAsync(Path.Combine(directory, name + ".log"), $"{Environment.NewLine}screenshot failed: {e.Message}");
        }
    }

    /// <summary>The folder with GptAspire.sln, above the test's output folder.</summary>
    internal static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "GptAspire.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No GptAspire.sln above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex(@"[^A-Za-z0-9._-]+")]
    private static partial Regex SafeName();

    [GeneratedRegex(@"\d[\d,]*")]
    private static partial Regex Digits();
}
