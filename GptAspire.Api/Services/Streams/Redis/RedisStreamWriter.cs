using System.Globalization;
using StackExchange.Redis;

namespace GptAspire.Api.Services.Streams.Redis;

/// <summary>
/// Writes one owned generation's events to Redis, in order, one script call at a time: the events appended while a
/// call is in flight go together in the next one. Readers on this replica see an event once Redis has it, so no
/// client's <c>Last-Event-ID</c> runs ahead of what another replica can serve. While Redis cannot be reached, readers
/// here see events at once and the writer catches up when it can (seeding the stream again if Redis lost it).
/// </summary>
internal sealed partial class RedisStreamWriter
{
    private const int MaxBatchEvents = 256;
    private const int MaxBatchBytes = 256 * 1024;
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(2);

    private readonly RedisChatStreamBackplane _backplane;
    private readonly ChatStreamBuffer _stream;
    private readonly string _request;
    private readonly AsyncSignal _signal = new();
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _durable;
    private volatile bool _stopped;

    public RedisStreamWriter(RedisChatStreamBackplane backplane, ChatStreamBuffer stream, string request, long durable)
    {
        _backplane = backplane;
        _stream = stream;
        _request = request;
        _durable = durable;
    }

    /// <summary>Ends when the last event is in Redis, or the writer gave up (fenced, or stopped for a hand-over).</summary>
    public Task Done => _done.Task;

    /// <summary>The events before this id are in Redis.</summary>
    public long Durable => Interlocked.Read(ref _durable);

    /// <summary>True when Redis refused this writer's epoch: another replica owns the answer now.</summary>
    public bool Fenced { get; private set; }

    public void Start() => _ = Task.Run(RunAsync);

    /// <summary>New events to write (called per event; costs a flag when a call is already in flight).</summary>
    public void Signal() => _signal.Set();

    /// <summary>Stops writing after the events now in Redis (the hand-over writes no more).</summary>
    public void Stop()
    {
        _stopped = true;
        _signal.Set();
    }

    private async Task RunAsync()
    {
        var frames = new List<ReadOnlyMemory<byte>>();
        var backoff = TimeSpan.FromMilliseconds(50);
        var degraded = false;
        try
        {
            while (true)
            {
                var count = _stream.NextId;
                var durable = Durable;
                if (durable >= count)
                {
                    if (_stream.IsCompleted || _stopped || _stream.IsRelinquished)
                    {
                        return;
                    }

                    await _signal.WaitAsync();
                    continue;
                }

                frames.Clear();
                _stream.CopyFrames(durable, MaxBatchEvents, MaxBatchBytes, frames);
                var ends = _stream.IsCompleted && durable + frames.Count == count;
                RedisResult[] result;
                try
                {
                    result = await _backplane.AppendAsync(_stream, durable, frames, ends);
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    if (!degraded)
                    {
                        // Local readers go on without Redis; other replicas cannot serve this answer until it is back.
                        degraded = true;
                        _stream.ReleaseOnAppend(true);
                        LogDegraded(_backplane.Logger, _stream.RequestId, e.GetType().Name);
                    }

                    await Task.Delay(backoff);
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
                    continue;
                }

                backoff = TimeSpan.FromMilliseconds(50);
                switch ((int)result[0])
                {
                    case 1:
                        var next = (long)result[1];
                        Interlocked.Exchange(ref _durable, next);
                        _stream.Release(next);
                        if (degraded && _stream.TryReleaseOnlyDurable(next))
                        {
                            degraded = false;
                            LogCaughtUp(_backplane.Logger, _stream.RequestId);
                        }

                        break;
                    case -2:
                        // Redis has fewer events than this writer wrote (it lost some): write again from there.
                        Interlocked.Exchange(ref _durable, (long)result[1]);
                        break;
                    case -3:
                        // Redis lost the stream (a restart without persistence): seed it again from this buffer.
                        try
                        {
                            await _backplane.SeedAgainAsync(_stream, _request);
                            Interlocked.Exchange(ref _durable, 0);
                            LogSeeded(_backplane.Logger, _stream.RequestId);
                        }
                        catch (Exception e) when (e is RedisException or TimeoutException)
                        {
                            await Task.Delay(backoff);
                        }

                        break;
                    default:
                        // Another replica took the answer over while this one stalled: write nothing more.
                        Fenced = true;
                        LogFenced(_backplane.Logger, _stream.RequestId, _stream.Epoch);
                        _stream.TryAbort(GenerationAbortReason.TakenOver);
                        _backplane.Fenced(_stream);
                        return;
                }
            }
        }
        catch (Exception e)
        {
            LogWriterFailed(_backplane.Logger, _stream.RequestId, e);
            _stream.ReleaseOnAppend(true);
        }
        finally
        {
            _done.TrySetResult();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chat stream {RequestId}: Redis cannot be reached ({Failure}); readers on this replica go on, the others wait")]
    private static partial void LogDegraded(ILogger logger, string requestId, string failure);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chat stream {RequestId}: Redis has every event again")]
    private static partial void LogCaughtUp(ILogger logger, string requestId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chat stream {RequestId}: Redis had lost the stream; written again from this replica")]
    private static partial void LogSeeded(ILogger logger, string requestId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chat stream {RequestId}: another replica took the answer over (epoch {Epoch} refused); this replica stops writing it")]
    private static partial void LogFenced(ILogger logger, string requestId, long epoch);

    [LoggerMessage(Level = LogLevel.Error, Message = "Chat stream {RequestId}: the writer to Redis failed")]
    private static partial void LogWriterFailed(ILogger logger, string requestId, Exception exception);

    internal static string Format(long value) => value.ToString(CultureInfo.InvariantCulture);
}
