// Makes the README's screenshot of a chat's trace in the Aspire dashboard, from the real app:
//   dotnet run eng/readme-screenshots.cs
// It starts the AppHost (dashboard on :15888, chat page on :5173), waits for its "Chat page:" line, sends a
// chat from Chromium, opens that chat's trace in the dashboard, saves docs/images/trace.png and stops the
// AppHost. Needs Chromium (CHROMIUM_PATH, else /usr/bin/chromium) and the dev ports free.
#:package Microsoft.Playwright
#:property PublishAot=false
#:property JsonSerializerIsReflectionEnabledByDefault=true

using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

var root = Directory.GetCurrentDirectory();
while (!File.Exists(Path.Combine(root, "GptAspire.sln")))
{
    root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("Run this from inside the repository.");
}

var output = Path.Combine(root, "docs", "images", "trace.png");
var start = new ProcessStartInfo("dotnet", ["run", "--project", Path.Combine(root, "GptAspire.AppHost"), "--launch-profile", "http"])
{
    RedirectStandardOutput = true,
    RedirectStandardError = true,
    WorkingDirectory = root,
};
using var appHost = Process.Start(start)!;
var login = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
var chatPage = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
appHost.OutputDataReceived += (_, e) =>
{
    if (e.Data is { } line && Regex.Match(line, @"https?://localhost:15888/login\?t=\w+") is { Success: true } match)
    {
        login.TrySetResult(match.Value);
    }

    // The AppHost prints this once the page is ready (healthy).
    if (e.Data is { } ready && Regex.Match(ready, @"Chat page: (?<url>https?://\S+)") is { Success: true } chat)
    {
        chatPage.TrySetResult(chat.Groups["url"].Value.TrimEnd('/'));
    }
};
appHost.ErrorDataReceived += (_, e) => { if (e.Data is { } line) Console.Error.WriteLine(line); };
appHost.BeginOutputReadLine();
appHost.BeginErrorReadLine();

try
{
    Console.WriteLine("Starting the AppHost...");
    var loginUrl = await login.Task.WaitAsync(TimeSpan.FromMinutes(4));
    var chatUrl = await chatPage.Task.WaitAsync(TimeSpan.FromMinutes(4));

    using var playwright = await Playwright.CreateAsync();
    await using var browser = await playwright.Chromium.LaunchAsync(new()
    {
        ExecutablePath = Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium",
        Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1400, Height = 860 }, ColorScheme = ColorScheme.Dark });

    // The page starts each chat's trace; its traceparent names the trace to show.
    string? traceparent = null;
    page.Request += (_, request) =>
    {
        if (request.Url.EndsWith("/api/chat/stream", StringComparison.Ordinal))
        {
            traceparent = request.Headers.GetValueOrDefault("traceparent");
        }
    };

    Console.WriteLine("Sending a chat from the page...");
    await page.GotoAsync($"{chatUrl}/");
    await page.GetByTestId("composer-input").FillAsync("How do named SSE events help a chat page?");
    await page.Keyboard.PressAsync("Enter");
    await Assertions.Expect(page.GetByTestId("message-status").Last).ToHaveTextAsync("done", new() { Timeout = 60_000 });
    var traceId = traceparent?.Split('-')[1] ?? throw new InvalidOperationException("The page sent no traceparent.");

    Console.WriteLine($"Opening trace {traceId} in the dashboard...");
    await page.GotoAsync(loginUrl);
    await page.WaitForURLAsync(url => !url.Contains("/login"), new() { Timeout = 30_000 });
    // Services export in batches: give them a few seconds, then reload until the API's gen_ai span shows.
    for (var attempt = 0; ; attempt++)
    {
        await Task.Delay(TimeSpan.FromSeconds(3));
        await page.GotoAsync($"http://localhost:15888/traces/detail/{traceId}");
        try
        {
            await page.GetByText("chat gpt-4o-mini").First.WaitForAsync(new() { Timeout = 10_000 });
            break;
        }
        catch (TimeoutException) when (attempt < 5)
        {
        }
    }

    // The notice about this machine's development certificate says nothing about the app: leave it out.
    await page.EvaluateAsync(@"() => [...document.querySelectorAll('div')]
        .find(d => d.textContent.includes('No trusted development certificate') && d.getBoundingClientRect().height < 80)
        ?.remove()");
    await Task.Delay(TimeSpan.FromSeconds(1));
    await page.ScreenshotAsync(new() { Path = output });
    Console.WriteLine($"Saved {Path.GetRelativePath(root, output)}");
}
finally
{
    // SIGTERM lets the AppHost stop its resources; kill the tree only if it does not.
    Process.Start("kill", ["-TERM", appHost.Id.ToString()])?.WaitForExit();
    if (!appHost.WaitForExit(TimeSpan.FromSeconds(30)))
    {
        appHost.Kill(entireProcessTree: true);
    }
}
