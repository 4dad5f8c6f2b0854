using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace GptAspire.Api.Services.Chat;

/// <summary>
/// The API's own stream metrics (meter <c>GptAspire.Chat</c>): time to first token, tokens per second,
/// active streams and how streams end. The gen_ai client metrics come from Microsoft.Extensions.AI.
/// </summary>
public sealed class ChatMetrics
{
    public const string MeterName = "GptAspire.Chat";

    private readonly Histogram<double> _timeToFirstToken;
    private readonly Histogram<double> _tokensPerSecond;
    private readonly UpDownCounter<long> _activeStreams;
    private readonly Counter<long> _streams;

    public ChatMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _timeToFirstToken = meter.CreateHistogram<double>("gptaspire.chat.time_to_first_token", "s", "Time from the request to the first token.");
        _tokensPerSecond = meter.CreateHistogram<double>("gptaspire.chat.tokens_per_second", "{token}/s", "Completion tokens per second after the first token.");
        _activeStreams = meter.CreateUpDownCounter<long>("gptaspire.chat.active_streams", "{stream}", "Chat streams in progress.");
        _streams = meter.CreateCounter<long>("gptaspire.chat.streams", "{stream}", "Chat streams ended, by outcome (finish reason, error code or cancelled).");
    }

    /// <summary>Starts measuring one stream; dispose the result when the stream ends.</summary>
    public StreamMeasurement Start(string model) => new(this, model);

    /// <summary>The measurements of one stream.</summary>
    public sealed class StreamMeasurement : IDisposable
    {
        private readonly ChatMetrics _metrics;
        private readonly TagList _model;
        private readonly long _started = Stopwatch.GetTimestamp();
        private long _firstToken;
        private string _outcome = "cancelled";

        internal StreamMeasurement(ChatMetrics metrics, string model)
        {
            _metrics = metrics;
            _model = new TagList { { "gen_ai.request.model", model } };
            _metrics._activeStreams.Add(1, _model);
        }

        public void Token()
        {
            if (_firstToken == 0)
            {
                _firstToken = Stopwatch.GetTimestamp();
                _metrics._timeToFirstToken.Record(Stopwatch.GetElapsedTime(_started, _firstToken).TotalSeconds, _model);
            }
        }

        /// <summary>Records how the stream ended: a finish reason or an error code.</summary>
        public void End(string outcome, int completionTokens)
        {
            _outcome = outcome;
            var streaming = _firstToken == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(_firstToken);
            if (completionTokens > 1 && streaming > TimeSpan.Zero)
            {
                _metrics._tokensPerSecond.Record((completionTokens - 1) / streaming.TotalSeconds, _model);
            }
        }

        public void Dispose()
        {
            _metrics._activeStreams.Add(-1, _model);
            var tags = _model;
            tags.Add("outcome", _outcome);
            _metrics._streams.Add(1, tags);
        }
    }
}
