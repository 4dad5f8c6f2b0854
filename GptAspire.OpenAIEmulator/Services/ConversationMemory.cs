using System.Collections.Concurrent;

namespace GptAspire.OpenAIEmulator.Services;

/// <summary>Conversations seen before, for <c>[emulator:rate-limit-once]</c>.</summary>
public sealed class ConversationMemory
{
    // Enough for any test run; forgetting everything past it only means one more 429.
    private const int Capacity = 10_000;

    private readonly ConcurrentDictionary<ulong, byte> _seen = new();

    /// <summary>True the first time <paramref name="fingerprint"/> is seen.</summary>
    public bool FirstSighting(ulong fingerprint)
    {
        if (_seen.Count >= Capacity)
        {
            _seen.Clear();
        }

        return _seen.TryAdd(fingerprint, 0);
    }
}
