using System.Net.ServerSentEvents;
using System.Text.Json;

namespace GptAspire.Tests;

/// <summary>Reads a stream on its own while the test goes on: its request id, its tokens as they come, all its events.</summary>
public sealed class BackgroundRead
{
    private readonly List<ReceivedEvent> _events = [];
    private readonly List<(int Count, TaskCompletionSource Signal)> _waits = [];

    public BackgroundRead(HttpResponseMessage response)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Done = Task.Run(async () =>
        {
            await using var stream = await response.Content.ReadAsStreamAsync();
            await foreach (var item in SseParser.Create(stream).EnumerateAsync())
            {
                var received = new ReceivedEvent(item.EventType, item.EventId ?? "", JsonDocument.Parse(item.Data).RootElement.Clone(), clock.Elapsed) { RawData = item.Data };
                lock (_events)
                {
                    _events.Add(received);
                    if (received.Name == "start")
                    {
                        RequestId.TrySetResult(received.Data.GetProperty("requestId").GetString()!);
                    }

                    var tokens = _events.Count(e => e.Name == "token");
                    foreach (var (count, signal) in _waits.Where(w => tokens >= w.Count))
                    {
                        signal.TrySetResult();
                    }
                }
            }

            lock (_events)
            {
                return _events.ToList();
            }
        });
    }

    public TaskCompletionSource<string> RequestId { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<List<ReceivedEvent>> Done { get; }

    public Task Tokens(int count)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_events)
        {
            if (_events.Count(e => e.Name == "token") >= count)
            {
                signal.TrySetResult();
            }
            else
            {
                _waits.Add((count, signal));
            }
        }

        return signal.Task;
    }
}
