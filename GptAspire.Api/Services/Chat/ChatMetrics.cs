using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using GptAspire.Api.Models;
using GptAspire.Api.Services.Upstream;

namespace GptAspire.Api.Services.Chat;

/// <summary>
/// The API's own answer metrics (meter <c>GptAspire.Chat</c>): the time to the first token as the user waits for it,
/// answers in progress, and how answers end, by the GenAI conventions' attributes. The model calls' own metrics
/// (<c>gen_ai.client.*</c>: duration, time to first chunk, time per output chunk, token usage) come from
/// <see cref="Upstream.StreamingTelemetryChatClient"/> and Microsoft.Extensions.AI, one set per call to the model.
/// </summary>
public sealed class ChatMetrics
{
    public const string MeterName = "GptAspire.Chat";


    // One array per finish reason: metric points are told apart by their attributes' values, and an array is equal
    // only to itself.
    private static readonly ConcurrentDictionary<string, string[]> FinishReasonArrays = new(StringComparer.Ordinal);

    private readonly Histogram<double> _timeToFirstToken;
    private readonly UpDownCounter<long> _activeStreams;
    private readonly Counter<long> _streams;

    public ChatMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _timeToFirstToken = meter.CreateHistogram<double>("gptaspire.chat.time_to_first_token", "s",
            "Time from the start of an answer to its first text token, as the user waits for it: across rounds of tool calls, "
            + "where gen_ai.client.operation.time_to_first_chunk measures one call to the model to its first chunk of any kind.",
            // The gen_ai client metrics' boundaries, so that the user's wait and the model call's compare bucket for bucket.
            advice: new() { HistogramBucketBoundaries = StreamingTelemetryChatClient.SecondsBuckets });
        _activeStreams = meter.CreateUpDownCounter<long>("gptaspire.chat.active_streams", "{stream}", "Chat streams being generated on this replica.");
        _streams = meter.CreateCounter<long>("gptaspire.chat.streams", "{stream}",
            "Chat streams ended: by gen_ai.response.finish_reasons when the answer finished, by error.type (the error event's code) when it failed.");
    }

    /// <summary>
    /// Starts measuring one generation; dispose the result when it ends. A generation that <paramref name="continues"/>
    /// another replica's records no time to first token: the user's wait began elsewhere.
    /// </summary>
    public StreamMeasurement Start(string model, bool continues = false) => new(this, model, continues);

    /// <summary>The measurements of one generation.</summary>
    public sealed class StreamMeasurement : IDisposable
    {
        private readonly ChatMetrics _metrics;
        private readonly TagList _model;
        private readonly long _started = Stopwatch.GetTimestamp();
        private bool _firstTokenSeen;
        private string[]? _finishReasons;
        private string? _errorType = ChatErrorCodes.InternalError;

        internal StreamMeasurement(ChatMetrics metrics, string model, bool continues)
        {
            _metrics = metrics;
            _firstTokenSeen = continues;
            _model = new TagList { { "gen_ai.request.model", model } };
            _metrics._activeStreams.Add(1, _model);
        }

        public void Token()
        {
            if (!_firstTokenSeen)
            {
                _firstTokenSeen = true;
                _metrics._timeToFirstToken.Record(Stopwatch.GetElapsedTime(_started).TotalSeconds, _model);
            }
        }

        /// <summary>The answer finished (<c>finish</c>) for <paramref name="finishReason"/>.</summary>
        public void Finished(string finishReason)
        {
            _finishReasons = FinishReasonArrays.GetOrAdd(finishReason, static reason => [reason]);
            _errorType = null;
        }

        /// <summary>The answer failed (<c>error</c>) with <paramref name="code"/>.</summary>
        public void Failed(string code)
        {
            _finishReasons = null;
            _errorType = code;
        }

        /// <summary>Another replica goes on with the answer: it counts how the answer ends, this one does not.</summary>
        public void HandedOn()
        {
            _finishReasons = null;
            _errorType = null;
        }

        public void Dispose()
        {
            _metrics._activeStreams.Add(-1, _model);
            var tags = _model;
            if (_finishReasons is not null)
            {
                tags.Add("gen_ai.response.finish_reasons", _finishReasons);
            }
            else if (_errorType is not null)
            {
                tags.Add("error.type", _errorType);
            }
            else
            {
                return;
            }

            _metrics._streams.Add(1, tags);
        }
    }
}
