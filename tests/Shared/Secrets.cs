namespace GptAspire.Tests;

/// <summary>Searches what a run produced for a secret, whole or in part.</summary>
public static class Secrets
{
    /// <summary>The secret and every 8-character piece of it: a log that shows part of a key has leaked it too.</summary>
    public static IEnumerable<string> Pieces(string secret) =>
        secret.Length <= 8 ? [secret] : Enumerable.Range(0, secret.Length - 7).Select(i => secret.Substring(i, 8)).Prepend(secret);

    /// <summary>Where any piece of <paramref name="secret"/> occurs in the named texts, with some context; empty when nowhere.</summary>
    public static List<string> Find(string secret, IEnumerable<(string Source, string Text)> texts)
    {
        var pieces = Pieces(secret).ToArray();
        var found = new List<string>();
        foreach (var (source, text) in texts)
        {
            foreach (var piece in pieces)
            {
                var at = text.IndexOf(piece, StringComparison.Ordinal);
                if (at >= 0)
                {
                    // The context shows where it was, with the piece itself masked so the failure does not leak it again.
                    var context = text.Substring(Math.Max(0, at - 80), Math.Min(text.Length - Math.Max(0, at - 80), 160 + piece.Length));
                    found.Add($"{source}: ...{context.Replace(piece, new string('*', piece.Length), StringComparison.Ordinal)}...");
                    break;
                }
            }
        }

        return found;
    }
}
