using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace GptAspire.OpenAIEmulator.Services;

/// <summary>
/// The GenAI conventions' model server metrics (meter <c>GptAspire.OpenAIEmulator</c>): <c>gen_ai.server.request.duration</c>
/// for every chat completions call, <c>gen_ai.server.time_to_first_token</c> and <c>gen_ai.server.time_per_output_token</c>
/// for streamed replies that finished. Each call records once at its end, never per token: the emulator is in every
/// benchmark figure.
/// </summary>
public sealed class EmulatorMetrics
{
    public const string MeterName = "GptAspire.OpenAIEmulator";

    private const string Chat = "chat";

    // The conventions' bucket boundaries for each instrument.
    private static readonly double[] RequestDurationBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
    private static readonly double[] TimeToFirstTokenBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];
    private static readonly double[] TimePerOutputTokenBuckets = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5];

    private readonly Histogram<double> _requestDuration;
    private readonly Histogram<double> _timeToFirstToken;
    private readonly Histogram<double> _timePerOutputToken;

    public EmulatorMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _requestDuration = meter.CreateHistogram<double>("gen_ai.server.request.duration", "s",
            "Generative AI server request duration such as time-to-last byte or last output token",
            advice: new() { HistogramBucketBoundaries = RequestDurationBuckets });
        _timeToFirstToken = meter.CreateHistogram<double>("gen_ai.server.time_to_first_token", "s",
            "Time to generate first token for successful responses",
            advice: new() { HistogramBucketBoundaries = TimeToFirstTokenBuckets });
        _timePerOutputToken = meter.CreateHistogram<double>("gen_ai.server.time_per_output_token", "s",
            "Time per output token generated after the first token for successful responses",
            advice: new() { HistogramBucketBoundaries = TimePerOutputTokenBuckets });
    }

    /// <summary>
    /// One chat completions call ended after <paramref name="startTimestamp"/>; <paramref name="errorType"/> is null when
    /// it succeeded. <paramref name="model"/> is null for a call refused before its body was read.
    /// </summary>
    public void RequestEnded(ChatRoute route, string? model, long startTimestamp, string? errorType)
    {
        if (!_requestDuration.Enabled)
        {
            return;
        }

        var tags = Tags(route, model);
        if (errorType is not null)
        {
            tags.Add("error.type", errorType);
        }

        _requestDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, tags);
    }

    /// <summary>
    /// A streamed reply of <paramref name="outputTokens"/> tokens finished: its first token was due at
    /// <paramref name="firstTokenTimestamp"/>, its last was written at <paramref name="lastTokenTimestamp"/>. Time per
    /// output token is the reply's mean after the first.
    /// </summary>
    public void StreamFinished(ChatRoute route, string model, long startTimestamp, long firstTokenTimestamp, long lastTokenTimestamp, int outputTokens)
    {
        if (!_timeToFirstToken.Enabled && !_timePerOutputToken.Enabled)
        {
            return;
        }

        var tags = Tags(route, model);
        _timeToFirstToken.Record(Stopwatch.GetElapsedTime(startTimestamp, firstTokenTimestamp).TotalSeconds, tags);
        if (outputTokens > 1)
        {
            _timePerOutputToken.Record(Stopwatch.GetElapsedTime(firstTokenTimestamp, lastTokenTimestamp).TotalSeconds / (outputTokens - 1), tags);
        }
    }

    private static TagList Tags(ChatRoute route, string? model)
    {
        var tags = new TagList
        {
            { "gen_ai.operation.name", Chat },
            { "gen_ai.provider.name", route.ProviderName() },
        };
        if (model is not null)
        {
            // The emulator answers as the model it was asked for.
            tags.Add("gen_ai.request.model", model);
            tags.Add("gen_ai.response.model", model);
        }

        return tags;
    }
}
