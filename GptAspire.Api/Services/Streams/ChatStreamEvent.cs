using GptAspire.Api.Models;

namespace GptAspire.Api.Services.Streams;

/// <summary>
/// One event of a generation as it goes on the wire: its id (0, 1, 2, ... per stream), its name and its whole
/// SSE frame (<c>event:</c>, <c>data:</c>, <c>id:</c> and the blank line). The frame is encoded once, when the
/// event is made, and every reader on every replica sends the same bytes.
/// </summary>
/// <param name="Id">The event id.</param>
/// <param name="Name">One of <see cref="ChatEventNames"/>.</param>
/// <param name="Frame">The UTF-8 SSE frame.</param>
/// <param name="ErrorCode">The <c>code</c> of an <c>error</c> event, for telemetry; null otherwise.</param>
public sealed record ChatStreamEvent(long Id, string Name, ReadOnlyMemory<byte> Frame, string? ErrorCode = null)
{
    /// <summary>True for the event that ends every stream: <c>finish</c> or <c>error</c>.</summary>
    public bool IsTerminal => Name is ChatEventNames.Finish or ChatEventNames.Error;
}
