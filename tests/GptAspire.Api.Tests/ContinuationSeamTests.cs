using GptAspire.Api.Services.Chat;

namespace GptAspire.Api.Tests;

public class ContinuationSeamTests
{
    private static string Through(ContinuationSeam seam, params string[] pieces) =>
        string.Concat(pieces.Select(seam.Next)) + seam.Flush();

    [Fact]
    public void A_continuation_that_repeats_the_end_of_the_partial_answer_loses_the_repeat()
    {
        var seam = new ContinuationSeam("Rivers carry water to the sea, and along the way they shape the land");
        Assert.Equal(" around them over thousands of years.", Through(seam, "they shape ", "the land", " around them", " over thousands of years."));
    }

    [Fact]
    public void A_continuation_that_goes_straight_on_is_sent_unchanged_even_when_it_starts_with_a_short_match()
    {
        var seam = new ContinuationSeam("Open the file and read the");
        // "the" ends the partial answer and starts the continuation: too short to be taken for a repeat.
        Assert.Equal(" the first line, then the rest of the file in one pass.", Through(seam, " the first", " line, then the rest", " of the file in one pass."));
    }

    [Fact]
    public void A_short_continuation_is_released_when_it_ends()
    {
        var seam = new ContinuationSeam("```csharp\nvar x = 1;");
        Assert.Equal("\n```", Through(seam, "\n", "```"));
    }

    [Fact]
    public void After_the_seam_is_decided_text_passes_at_once()
    {
        var seam = new ContinuationSeam("Partial answer");
        Assert.Equal("", seam.Next("a"));
        Assert.Equal("a" + new string('b', 60), seam.Next(new string('b', 60)));
        Assert.Equal("c", seam.Next("c"));
    }
}
