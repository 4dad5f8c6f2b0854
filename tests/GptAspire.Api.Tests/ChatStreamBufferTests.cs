using System.Text;
using System.Text.Json;
using GptAspire.Api.Models;
using GptAspire.Api.Services.Streams;

namespace GptAspire.Api.Tests;

public class ChatStreamBufferTests
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver() };

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_reader_from_any_id_gets_exactly_the_frames_after_it_across_segment_boundaries()
    {
        // Tokens of every size, so that frames fill the growing segments unevenly and one is larger than any segment.
        var stream = new ChatStreamBuffer("answer", maxEvents: 10_000, maxBytes: 10_000_000);
        var writer = new ChatStreamFrameWriter(Json);
        var frames = new List<byte[]>();
        var random = new Random(12);
        for (var i = 0; i < 400; i++)
        {
            var text = i == 200 ? new string('x', 40_000) : new string((char)('a' + i % 26), random.Next(1, 300));
            var item = writer.Token(text);
            frames.Add(item.Frame.ToArray());
            Assert.Equal(AppendResult.Appended, stream.Append(item));
        }

        var finish = writer.Event(ChatEventNames.Finish, new FinishEvent("stop"));
        frames.Add(finish.Frame.ToArray());
        stream.Append(finish);

        foreach (var afterId in new long[] { -1, 0, 1, 57, 199, 200, 201, 398, 399, 400, 401, 5_000 })
        {
            using var reader = stream.AttachReader(afterId);
            var expected = frames.Skip((int)Math.Max(0, afterId + 1)).SelectMany(frame => frame).ToArray();
            var read = await ReadToEndAsync(reader);

            Assert.Equal(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(read));
            if (afterId < 400)
            {
                Assert.Same(finish, reader.Last);
            }
        }
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_live_reader_gets_each_new_event_once_and_the_last_event_ends_it()
    {
        var stream = new ChatStreamBuffer("answer", maxEvents: 100, maxBytes: 100_000);
        var writer = new ChatStreamFrameWriter(Json);
        using var reader = stream.AttachReader(afterId: -1);
        var pieces = new List<ReadOnlyMemory<byte>>();

        stream.Append(writer.Token("Hello"));
        Assert.Equal(ReadOutcome.Events, await reader.ReadAsync(pieces));
        var pending = reader.ReadAsync(pieces);
        Assert.False(pending.IsCompleted);

        stream.Append(writer.Token(" world"));
        Assert.Equal(ReadOutcome.Events, await pending);
        Assert.Null(reader.Last);
        stream.Append(writer.Event(ChatEventNames.Error, new ErrorEvent("upstream_error", "Try again."), "upstream_error"));
        Assert.Equal(ReadOutcome.Events, await reader.ReadAsync(pieces));

        var text = Encoding.UTF8.GetString(pieces.SelectMany(piece => piece.ToArray()).ToArray());
        Assert.Equal(
            "event: token\ndata: {\"text\":\"Hello\"}\nid: 0\n\n"
            + "event: token\ndata: {\"text\":\" world\"}\nid: 1\n\n"
            + "event: error\ndata: {\"code\":\"upstream_error\",\"message\":\"Try again.\"}\nid: 2\n\n",
            text);
        Assert.Equal("upstream_error", reader.Last?.ErrorCode);
        Assert.Equal(ReadOutcome.End, await reader.ReadAsync(pieces));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_shared_stream_shows_readers_an_event_only_once_it_is_released_and_the_last_event_only_then()
    {
        var stream = new ChatStreamBuffer("answer", maxEvents: 100, maxBytes: 100_000);
        stream.ReleaseOnAppend(false);
        var writer = new ChatStreamFrameWriter(Json);
        using var reader = stream.AttachReader(-1);
        var pieces = new List<ReadOnlyMemory<byte>>();

        stream.Append(writer.Token("a"));
        stream.Append(writer.Token("b"));
        var pending = reader.ReadAsync(pieces);
        Assert.False(pending.IsCompleted);

        stream.Release(1);
        Assert.Equal(ReadOutcome.Events, await pending);
        Assert.Equal(["a"], Texts(pieces));

        stream.Append(writer.Event(ChatEventNames.Usage, new UsageEvent(1, 2, 3, 4)), null);
        stream.Append(writer.Event(ChatEventNames.Finish, new FinishEvent("stop")));
        Assert.True(stream.IsCompleted);
        pieces.Clear();
        pending = reader.ReadAsync(pieces);
        Assert.False(pending.IsCompleted);
        Assert.Null(reader.Last);

        // The store is unreachable: everything appended is shown at once.
        stream.ReleaseOnAppend(true);
        Assert.Equal(ReadOutcome.Events, await pending);
        Assert.Equal("finish", reader.Last?.Name);
        Assert.Equal(ReadOutcome.End, await reader.ReadAsync(pieces));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_relinquished_stream_ends_its_readers_after_the_released_events_without_a_last_event()
    {
        var stream = new ChatStreamBuffer("answer", maxEvents: 100, maxBytes: 100_000);
        stream.ReleaseOnAppend(false);
        var writer = new ChatStreamFrameWriter(Json);
        using var reader = stream.AttachReader(-1);
        var pieces = new List<ReadOnlyMemory<byte>>();
        stream.Append(writer.Token("kept"));
        stream.Append(writer.Token("never shown here"));
        stream.Release(1);

        stream.Relinquish();
        Assert.Equal(ReadOutcome.Events, await reader.ReadAsync(pieces));
        Assert.Equal(["kept"], Texts(pieces));
        Assert.Equal(ReadOutcome.End, await reader.ReadAsync(pieces));
        Assert.Null(reader.Last);
    }

    [Fact]
    public void A_mirror_taken_over_becomes_a_generation_that_can_be_aborted()
    {
        var mirror = ChatStreamBuffer.Mirror("answer", principal: null, maxEvents: 100, maxBytes: 100_000);
        Assert.True(mirror.IsMirror);
        Assert.False(mirror.TryAbort(GenerationAbortReason.Stopped));

        mirror.Claim(epoch: 3);
        Assert.False(mirror.IsMirror);
        Assert.Equal(3, mirror.Epoch);
        Assert.True(mirror.TryAbort(GenerationAbortReason.Stopped));
        Assert.True(mirror.GenerationAborted.IsCancellationRequested);
    }

    private static string[] Texts(List<ReadOnlyMemory<byte>> pieces) =>
        [.. Encoding.UTF8.GetString(pieces.SelectMany(piece => piece.ToArray()).ToArray())
            .Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(frame => JsonDocument.Parse(ChatStreamEvent.Data(Encoding.UTF8.GetBytes(frame + "\n")).ToArray()).RootElement.GetProperty("text").GetString()!)];

    private static async Task<byte[]> ReadToEndAsync(ChatStreamReader reader)
    {
        var pieces = new List<ReadOnlyMemory<byte>>();
        var read = new MemoryStream();
        while (await reader.ReadAsync(pieces) == ReadOutcome.Events)
        {
            foreach (var piece in pieces)
            {
                read.Write(piece.Span);
            }

            pieces.Clear();
        }

        return read.ToArray();
    }
}
