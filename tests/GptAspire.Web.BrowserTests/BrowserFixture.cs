[assembly: AssemblyFixture(typeof(GptAspire.Web.BrowserTests.BrowserFixture))]

// The tests measure what a person sees over time (text growing, a countdown): one at a time keeps
// the timing honest on a 2-core machine.
[assembly: CollectionBehavior(CollectionBehavior.CollectionPerAssembly)]

namespace GptAspire.Web.BrowserTests;

/// <summary>
/// One Chromium for the whole assembly, driven by Playwright. Playwright cannot download its own
/// browsers here: it launches the system Chromium (<c>CHROMIUM_PATH</c>, else <c>/usr/bin/chromium</c>).
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string DefaultChromiumPath = "/usr/bin/chromium";

    public IPlaywright Playwright { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var path = Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } configured ? configured : DefaultChromiumPath;
        if (!File.Exists(path))
        {
            // A failure, never a skip: a machine without a browser has not run these tests.
            throw new InvalidOperationException(
                $"The browser tests need Chromium, and there is none at '{path}'. Install it (Debian/Ubuntu: " +
                "apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium or Chrome executable.");
        }

        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = path,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
            ],
            Timeout = 60_000,
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        Playwright?.Dispose();
    }
}
