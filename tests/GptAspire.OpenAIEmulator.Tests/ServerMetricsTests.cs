using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using GptAspire.OpenAIEmulator.Services;
using GptAspire.OpenAIEmulator.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace GptAspire.OpenAIEmulator.Tests;

/// <summary>
/// What an operator sees of the emulator on a dashboard: the GenAI conventions' model server metrics, with the
/// conventions' attributes, for finished replies and for refused ones.
/// </summary>
public sealed class ServerMetricsTests : IAsyncLifetime
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private readonly EmulatorFactory _emulator = new(EmulatorFactory.DefaultSettings);
    private readonly MeterListener _meters = new();
    private readonly ConcurrentQueue<Measurement> _measurements = new();

    public ValueTask InitializeAsync()
    {
        _emulator.Start();
        // Only this emulator's meters: other emulators of the test process record into meters of their own.
        var meterFactory = _emulator.Services.GetRequiredService<IMeterFactory>();
        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == meterFactory && instrument.Meter.Name == EmulatorMetrics.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _meters.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
            _measurements.Enqueue(new(instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value?.ToString()))));
        _meters.Start();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        _meters.Dispose();
        await _emulator.DisposeAsync();
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_finished_streamed_reply_records_its_duration_time_to_first_token_and_time_per_output_token()
    {
        using var client = _emulator.CreateHttpClient();
        using (var response = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body("pace me [emulator:delay=20]", stream: true, maxTokens: 11), Cancellation))
        {
            Assert.Equal(11, Chat.TokenChunks(Chat.Chunks(await Chat.EventsAsync(response))).Count);
        }

        var duration = await Eventually.FindAsync(() => Find("gen_ai.server.request.duration"), "gen_ai.server.request.duration", cancellationToken: Cancellation);
        var firstToken = Assert.Single(_measurements, m => m.Instrument == "gen_ai.server.time_to_first_token");
        var perToken = Assert.Single(_measurements, m => m.Instrument == "gen_ai.server.time_per_output_token");
        foreach (var measurement in new[] { duration, firstToken, perToken })
        {
            Assert.Equal("chat", measurement.Tags["gen_ai.operation.name"]);
            Assert.Equal("openai", measurement.Tags["gen_ai.provider.name"]);
            Assert.Equal("gpt-4o-mini", measurement.Tags["gen_ai.request.model"]);
            Assert.Equal("gpt-4o-mini", measurement.Tags["gen_ai.response.model"]);
            Assert.DoesNotContain("error.type", measurement.Tags.Keys);
        }

        // Ten tokens after the first, 20 ms apart: the mean is the pace, and the whole call lasts at least as long.
        Assert.InRange(perToken.Value, 0.018, 1);
        Assert.True(duration.Value >= firstToken.Value + 10 * 0.018, $"{duration.Value} s against {firstToken.Value} s to the first token");
    }

    [Theory(Timeout = Bounds.TestMs)]
    [InlineData("[emulator:rate-limit=3]", "429")]
    [InlineData("[emulator:server-error]", "500")]
    public async Task A_refused_call_records_its_duration_with_the_status_as_error_type_and_no_token_times(string directive, string errorType)
    {
        using var client = _emulator.CreateHttpClient();
        using (var response = await Chat.SendAsync(client, Chat.AzureV1Path, Chat.Body($"hello {directive}", stream: true), Cancellation))
        {
            Assert.Equal(errorType, ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var duration = await Eventually.FindAsync(() => Find("gen_ai.server.request.duration"), "gen_ai.server.request.duration", cancellationToken: Cancellation);
        Assert.Equal(errorType, duration.Tags["error.type"]);
        Assert.Equal("azure.ai.openai", duration.Tags["gen_ai.provider.name"]);
        Assert.Equal("gpt-4o-mini", duration.Tags["gen_ai.request.model"]);
        Assert.DoesNotContain(_measurements, m => m.Instrument != "gen_ai.server.request.duration");
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_dropped_stream_is_an_error_without_token_times()
    {
        using var client = _emulator.CreateHttpClient();
        using (var response = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body("hello [emulator:drop]", stream: true), Cancellation))
        {
            await Assert.ThrowsAnyAsync<IOException>(async () =>
            {
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(Cancellation));
                while (await reader.ReadLineAsync(Cancellation) is not null)
                {
                }
            });
        }

        var duration = await Eventually.FindAsync(() => Find("gen_ai.server.request.duration"), "gen_ai.server.request.duration", cancellationToken: Cancellation);
        Assert.Equal("dropped", duration.Tags["error.type"]);
        Assert.DoesNotContain(_measurements, m => m.Instrument != "gen_ai.server.request.duration");
    }

    private Measurement? Find(string instrument) => _measurements.FirstOrDefault(m => m.Instrument == instrument);

    private sealed record Measurement(string Instrument, double Value, Dictionary<string, string?> Tags);
}
