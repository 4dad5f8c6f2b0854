namespace GptAspire.Tests;

/// <summary>
/// How long a test may wait before a hang counts as a failure. Generous on purpose: the bounds exist to turn a
/// stream that never ends into a named failure, not to measure speed (that is the bench's job), and CI shares
/// two cores with other suites.
/// </summary>
public static class Bounds
{
    /// <summary>xunit's per-test timeout (ms) on every async test: the backstop when a wait has no bound of its own.</summary>
    public const int TestMs = 240_000;

    /// <summary>How long one SSE response may take from its headers to its end before the reader gives up.</summary>
    public static readonly TimeSpan Stream = TimeSpan.FromSeconds(60);

    /// <summary>How long a test polls for a condition (a log line, a span, a count) before it fails.</summary>
    public static readonly TimeSpan Condition = TimeSpan.FromSeconds(20);
}

/// <summary>Polls for a condition with a deadline, instead of sleeping and hoping it holds.</summary>
public static class Eventually
{
    /// <summary>Polls <paramref name="find"/> until it returns something; fails naming <paramref name="what"/>.</summary>
    public static Task<T> FindAsync<T>(Func<T?> find, string what, TimeSpan? within = null, CancellationToken cancellationToken = default) =>
        FindAsync<T>(() => Task.FromResult(find()), what, within, cancellationToken);

    /// <summary>How long to wait between two looks: short, since most conditions are checked in memory.</summary>
    public static TimeSpan Interval { get; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Polls <paramref name="find"/> until it returns something; fails naming <paramref name="what"/>.</summary>
    public static async Task<T> FindAsync<T>(
        Func<Task<T?>> find, string what, TimeSpan? within = null, CancellationToken cancellationToken = default, TimeSpan? every = null)
    {
        var bound = within ?? Bounds.Condition;
        var token = cancellationToken.CanBeCanceled ? cancellationToken : Xunit.TestContext.Current.CancellationToken;
        var deadline = DateTime.UtcNow + bound;
        while (true)
        {
            if (await find() is { } found)
            {
                return found;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"Found no {what} within {bound}.");
            }

            await Task.Delay(every ?? Interval, token);
        }
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails naming <paramref name="what"/>.</summary>
    public static Task UntilAsync(Func<bool> condition, string what, TimeSpan? within = null, CancellationToken cancellationToken = default) =>
        FindAsync<object>(() => condition() ? true : null, what, within, cancellationToken);

    /// <summary>Polls <paramref name="condition"/> until it holds; fails naming <paramref name="what"/>.</summary>
    public static Task UntilAsync(
        Func<Task<bool>> condition, string what, TimeSpan? within = null, CancellationToken cancellationToken = default, TimeSpan? every = null) =>
        FindAsync<object>(async () => await condition() ? true : null, what, within, cancellationToken, every);
}
