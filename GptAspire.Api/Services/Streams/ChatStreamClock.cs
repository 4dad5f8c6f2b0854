using Microsoft.Extensions.Options;

namespace GptAspire.Api.Services.Streams;

/// <summary>
/// One clock for every stream of the process (instead of a timer per stream or per token): heartbeats,
/// abandoned and stalled generations, expiry. It never waits on the network, so a slow or absent Redis cannot
/// delay a heartbeat. On shutdown it ends every live generation (handed over to another replica when one is
/// alive, else with <c>server_shutting_down</c>) and waits, up to the host's shutdown time, for them to end.
/// </summary>
public sealed partial class ChatStreamClock(
    ChatStreamStore store,
    IOptions<ChatStreamsOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<ChatStreamClock> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // ApplicationStopping fires before the server stops accepting and drains: the readers of every open stream
        // then get their final event (or resume elsewhere) and end, so the drain does not wait for answers that
        // would never come.
        using var stopping = lifetime.ApplicationStopping.Register(() =>
        {
            LogClosing(logger, store.LiveCount);
            store.Close();
        });

        try
        {
            await store.StartAsync();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Redis may come later: the backplane subscribes again on its own.
            LogStartFailed(logger, e.GetType().Name);
        }

        var period = TimeSpan.FromMilliseconds(Math.Clamp(options.Value.HeartbeatInterval.TotalMilliseconds / 2, 50, 1000));
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    store.Tick();
                }
                catch (Exception e)
                {
                    LogTickFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        store.Close();
        while (!store.Drained && !cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(50, CancellationToken.None);
        }

        await base.StopAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Shutting down: ending or handing over {LiveStreams} live chat streams")]
    private static partial void LogClosing(ILogger logger, int liveStreams);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The shared stream store could not be reached at start ({Failure}); retrying")]
    private static partial void LogStartFailed(ILogger logger, string failure);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The chat stream clock failed a tick")]
    private static partial void LogTickFailed(ILogger logger, Exception exception);
}
