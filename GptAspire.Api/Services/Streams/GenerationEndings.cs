using GptAspire.Api.Models;
using GptAspire.Api.Services.Upstream;

namespace GptAspire.Api.Services.Streams;

/// <summary>
/// How a generation ends when it does not end with the model's own finish: the one place that turns a reason
/// (<see cref="GenerationAbortReason"/>, a limit, a failure) into the last event readers get.
/// </summary>
public static class GenerationEndings
{
    /// <summary>
    /// The <c>error</c> a generation aborted for <paramref name="reason"/> ends with; null when it ends otherwise:
    /// <see cref="GenerationAbortReason.Stopped"/> ends <c>finish stopped</c>, and a generation handed over or taken
    /// over writes no last event here (the replica that continues it does).
    /// </summary>
    public static ErrorEvent? ErrorFor(GenerationAbortReason reason) => reason switch
    {
        GenerationAbortReason.Abandoned => Abandoned(),
        GenerationAbortReason.ShuttingDown => ShuttingDown(),
        GenerationAbortReason.TooLong => AnswerTooLong(),
        GenerationAbortReason.UpstreamIdle => UpstreamErrors.Timeout(),
        _ => null,
    };

    /// <summary>True when the last event of a generation aborted for <paramref name="reason"/> is written by another replica.</summary>
    public static bool EndsElsewhere(GenerationAbortReason reason) =>
        reason is GenerationAbortReason.HandedOver or GenerationAbortReason.TakenOver;

    public static ErrorEvent Abandoned() =>
        new(ChatErrorCodes.Abandoned, "The answer was cancelled because nobody was reading it.");

    public static ErrorEvent ShuttingDown() =>
        new(ChatErrorCodes.ServerShuttingDown, "The server is restarting. Try again in a moment.", 5);

    public static ErrorEvent AnswerTooLong() =>
        new(ChatErrorCodes.AnswerTooLong, "The answer took too long and was cut off.");

    public static ErrorEvent StreamTooLarge() =>
        new(ChatErrorCodes.StreamTooLarge, "The answer was too long to keep and was cut off.");

    public static ErrorEvent ToolRoundsExceeded(int maxRounds) =>
        new(ChatErrorCodes.ToolRoundsExceeded, $"The model kept calling tools after {maxRounds} {(maxRounds == 1 ? "round" : "rounds")}, so the answer was ended. Ask again, more simply.");

    public static ErrorEvent Internal() =>
        new(ChatErrorCodes.InternalError, "The server failed while writing this answer. Try again.");

    public static ErrorEvent ServerUnavailable() =>
        new(ChatErrorCodes.ServerUnavailable, "The server that was writing this answer stopped. Try again.");
}
