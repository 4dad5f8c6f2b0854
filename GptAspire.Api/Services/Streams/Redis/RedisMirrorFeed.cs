using System.Globalization;
using StackExchange.Redis;

namespace GptAspire.Api.Services.Streams.Redis;

/// <summary>
/// Feeds one mirror (one per answer on this replica, however many readers it has) with the events of a generation
/// that runs on another replica: the entries in Redis once, then the frames each append publishes, in order. A
/// missed publication shows as a gap and is read from Redis; a gap that Redis cannot fill either is reported, not
/// looped on.
/// </summary>
internal sealed class RedisMirrorFeed(RedisChatStreamBackplane backplane, ChatStreamBuffer mirror, string owner)
{
    private const int PageSize = 512;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private ChannelMessageQueue? _queue;
    private volatile bool _closed;

    public ChatStreamBuffer Mirror => mirror;

    /// <summary>The replica that generates the answer, as last known.</summary>
    public string Owner { get; set; } = owner;

    /// <summary>The owner handed the answer over, or has no lease: try to take it over now.</summary>
    public bool ClaimRequested { get; set; }

    /// <summary><see cref="Environment.TickCount64"/> when a gap that Redis could not fill was first met; 0 when none.</summary>
    public long GapSince { get; private set; }

    public bool IsClosed => _closed;

    /// <summary><see cref="Environment.TickCount64"/> when a takeover found the answer missing from Redis; 0 when not.</summary>
    public long MissingSince { get; set; }

    /// <summary><see cref="Environment.TickCount64"/> of the last catch-up of a quiet mirror.</summary>
    public long CaughtUpAt { get; set; }

    /// <summary>Subscribes, then copies the entries so far: publications that arrive meanwhile wait their turn.</summary>
    public async Task StartAsync()
    {
        _queue = await backplane.Subscriber.SubscribeAsync(RedisStreamKeys.Events(mirror.RequestId));
        _queue.OnMessage(OnMessageAsync);
        await CatchUpAsync();
    }

    private async Task OnMessageAsync(ChannelMessage message)
    {
        var payload = (byte[]?)message.Message ?? [];
        if (payload.AsSpan().SequenceEqual("handoff"u8))
        {
            ClaimRequested = true;
            backplane.ClaimSoon(this);
            return;
        }

        await _gate.WaitAsync();
        try
        {
            if (!Apply(payload))
            {
                await CatchUpCoreAsync();
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // The clock's catch-up tries again.
            GapSince = GapSince == 0 ? Environment.TickCount64 : GapSince;
        }
        finally
        {
            _gate.Release();
        }
    }

    // The frames of one append: "{id} {length}\n{frame}" each. False when one is missing before them.
    private bool Apply(byte[] payload)
    {
        var memory = payload.AsMemory();
        while (!memory.IsEmpty && !_closed)
        {
            var span = memory.Span;
            var space = span.IndexOf((byte)' ');
            var newline = span.IndexOf((byte)'\n');
            if (space < 0 || newline < space
                || !long.TryParse(span[..space], NumberStyles.None, CultureInfo.InvariantCulture, out var id)
                || !int.TryParse(span[(space + 1)..newline], NumberStyles.None, CultureInfo.InvariantCulture, out var length)
                || newline + 1 + length > span.Length)
            {
                return false;
            }

            var frame = memory.Slice(newline + 1, length);
            memory = memory[(newline + 1 + length)..];
            var next = mirror.NextId;
            if (id < next)
            {
                continue;
            }

            if (id > next)
            {
                return false;
            }

            mirror.Append(ChatStreamEvent.FromFrame(id, frame));
        }

        return true;
    }

    /// <summary>Copies the entries after the mirror's last event from Redis.</summary>
    public async Task CatchUpAsync()
    {
        await _gate.WaitAsync();
        try
        {
            await CatchUpCoreAsync();
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task CatchUpCoreAsync()
    {
        while (!_closed && !mirror.IsCompleted)
        {
            var next = mirror.NextId;
            var entries = await backplane.ReadAsync(mirror.RequestId, next, PageSize);
            foreach (var entry in entries)
            {
                var entryId = (string)entry.Id!;
                var id = long.Parse(entryId.AsSpan(0, entryId.IndexOf('-')), CultureInfo.InvariantCulture);
                if (id < mirror.NextId)
                {
                    continue;
                }

                if (id > mirror.NextId)
                {
                    // Redis itself lacks events (it lost them): the owner writes them again, or the clock gives up.
                    GapSince = GapSince == 0 ? Environment.TickCount64 : GapSince;
                    return;
                }

                mirror.Append(ChatStreamEvent.FromFrame(id, (byte[])entry["f"]!));
            }

            if (entries.Length < PageSize || mirror.NextId == next)
            {
                GapSince = 0;
                return;
            }
        }
    }

    public void Close()
    {
        _closed = true;
        _queue?.Unsubscribe(CommandFlags.FireAndForget);
    }
}
