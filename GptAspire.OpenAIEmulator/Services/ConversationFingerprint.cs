using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using GptAspire.OpenAIEmulator.Models;

namespace GptAspire.OpenAIEmulator.Services;

/// <summary>
/// A stable hash of a conversation. string.GetHashCode is randomised per process, and replies must be
/// the same across restarts and machines, so this hashes the UTF-8 text with SHA-256.
/// </summary>
public static class ConversationFingerprint
{
    public static ulong Of(IEnumerable<ChatMessage> messages, bool withoutDirectives = false)
    {
        var text = new StringBuilder();
        foreach (var message in messages)
        {
            var content = message.Text();
            text.Append(message.Role).Append('\u001f')
                .Append(message.Name).Append('\u001f')
                .Append(withoutDirectives ? Scenario.Strip(content) : content).Append('\u001e');
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()));
        return BinaryPrimitives.ReadUInt64LittleEndian(hash);
    }
}

/// <summary>SplitMix64: a tiny generator whose sequence, unlike System.Random's, is fixed by its definition.</summary>
public sealed class DeterministicRandom(ulong seed)
{
    private ulong _state = seed;

    public int Next(int maxExclusive) => (int)(NextUInt64() % (ulong)maxExclusive);

    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15;
        var z = _state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];

    /// <summary><paramref name="count"/> distinct items, in a seed-given order.</summary>
    public IReadOnlyList<T> PickDistinct<T>(IReadOnlyList<T> items, int count)
    {
        var pool = items.ToList();
        var picked = new List<T>(count);
        while (picked.Count < count && pool.Count > 0)
        {
            var index = Next(pool.Count);
            picked.Add(pool[index]);
            pool.RemoveAt(index);
        }

        return picked;
    }
}
