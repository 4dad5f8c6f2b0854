using System.Buffers;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace GptAspire.Api.Services.Upstream;

/// <summary>
/// The gen_ai span and metrics of a streamed answer, as Microsoft.Extensions.AI's <see cref="OpenTelemetryChatClient"/>
/// writes them (same source and meter, span name, attributes and instruments), keeping a few fields per answer
/// instead of every update. Microsoft.Extensions.AI's client (11.0.0 as well) adds each update to a list until the
/// answer ends, only to read back the response id, model, finish reason and usage: an open answer holds every token
/// it has streamed, which sets the collector's pauses under many streams. Calls that need the whole answer on the span
/// (message contents, when content recording is on) and every non-streaming call go through Microsoft.Extensions.AI's
/// client unchanged.
/// </summary>
public sealed partial class StreamingTelemetryChatClient : DelegatingChatClient
{
    /// <summary>The name of Microsoft.Extensions.AI's activity source and meter, which dashboards and tests listen to.</summary>
    public const string SourceName = "Experimental.Microsoft.Extensions.AI";

    private const string Chat = "chat";

    // Microsoft.Extensions.AI's bucket boundaries: an instrument is the same metric stream only if its advice is too.
    internal static readonly double[] SecondsBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
    private static readonly int[] TokenBuckets = [1, 4, 16, 64, 256, 1_024, 4_096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864];

    private readonly OpenTelemetryChatClient _whole;
    private readonly ActivitySource _activitySource;
    private readonly Meter _meter;
    private readonly Histogram<int> _tokenUsage;
    private readonly Histogram<double> _operationDuration;
    private readonly Histogram<double> _timeToFirstChunk;
    private readonly Histogram<double> _timePerOutputChunk;
    private readonly string? _defaultModelId;
    private readonly string? _providerName;
    private readonly string? _serverAddress;
    private readonly int _serverPort;
    private readonly ILogger? _logger;

    /// <summary>Creates the client over <paramref name="innerClient"/>; <paramref name="enableSensitiveData"/> records message contents.</summary>
    public StreamingTelemetryChatClient(IChatClient innerClient, bool enableSensitiveData = false, ILogger? logger = null)
        : base(innerClient)
    {
        _whole = new OpenTelemetryChatClient(innerClient, logger, SourceName) { EnableSensitiveData = enableSensitiveData };
        _activitySource = (ActivitySource)_whole.GetService(typeof(ActivitySource))!;
        _logger = logger;

        if (innerClient.GetService<ChatClientMetadata>() is { } metadata)
        {
            _defaultModelId = metadata.DefaultModelId;
            _providerName = metadata.ProviderName;
            _serverAddress = metadata.ProviderUri?.Host;
            _serverPort = metadata.ProviderUri?.Port ?? 0;
        }

        // A second meter of the same name with instruments of the same identity: OpenTelemetry's SDK aggregates them
        // into the same metric streams as Microsoft.Extensions.AI's (used here for non-streaming calls).
        _meter = new Meter(SourceName);
        _tokenUsage = _meter.CreateHistogram<int>("gen_ai.client.token.usage", "{token}",
            "Measures number of input and output tokens used", advice: new() { HistogramBucketBoundaries = TokenBuckets });
        _operationDuration = _meter.CreateHistogram<double>("gen_ai.client.operation.duration", "s",
            "Measures the duration of a GenAI operation", advice: new() { HistogramBucketBoundaries = SecondsBuckets });
        _timeToFirstChunk = _meter.CreateHistogram<double>("gen_ai.client.operation.time_to_first_chunk", "s",
            "Measures the time to receive the first chunk in a streaming operation", advice: new() { HistogramBucketBoundaries = SecondsBuckets });
        _timePerOutputChunk = _meter.CreateHistogram<double>("gen_ai.client.operation.time_per_output_chunk", "s",
            "Measures the time per output chunk in a streaming operation", advice: new() { HistogramBucketBoundaries = SecondsBuckets });
    }

    /// <summary>Whether message contents are recorded (then streamed calls keep their whole answer for the span).</summary>
    public bool EnableSensitiveData => _whole.EnableSensitiveData;

    // The function-invoking client above finds its ActivitySource here, and whether to record tool arguments and
    // results from Microsoft.Extensions.AI's client (which this one uses for whole answers and recorded content).
    public override object? GetService(Type serviceType, object? serviceKey = null) => serviceKey is not null
        ? base.GetService(serviceType, serviceKey)
        : serviceType == typeof(ActivitySource) ? _activitySource
        : serviceType == typeof(OpenTelemetryChatClient) ? _whole
        : base.GetService(serviceType, serviceKey);

    public override Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        _whole.GetResponseAsync(messages, options, cancellationToken);

    public override IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        EnableSensitiveData
            ? _whole.GetStreamingResponseAsync(messages, options, cancellationToken)
            : StreamAsync(messages, options, cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _meter.Dispose();
            _whole.Dispose();
        }

        base.Dispose(disposing);
    }

    private async IAsyncEnumerable<ChatResponseUpdate> StreamAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var requestModelId = options?.ModelId ?? _defaultModelId;
        using var activity = StartActivity(requestModelId, options);
        var recordChunks = _timeToFirstChunk.Enabled || _timePerOutputChunk.Enabled;
        var stopwatch = _operationDuration.Enabled || recordChunks || activity is not null ? Stopwatch.StartNew() : null;

        // What Microsoft.Extensions.AI reads back from the whole answer (ToChatResponse): the last response id, model
        // and finish reason, and the usage of every chunk added up.
        var answer = new AnswerSummary();
        var chunkTags = default(TagList);
        if (recordChunks)
        {
            AddMetricTags(ref chunkTags, requestModelId, responseModelId: null);
        }

        var responseModelTagged = false;
        var lastChunk = TimeSpan.Zero;
        double? timeToFirstChunk = null;
        Exception? error = null;
        IAsyncEnumerator<ChatResponseUpdate>? updates = null;
        try
        {
            try
            {
                updates = base.GetStreamingResponseAsync(messages, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
            }
            catch (Exception e)
            {
                error = e;
                throw;
            }

            while (true)
            {
                ChatResponseUpdate update;
                try
                {
                    if (!await updates.MoveNextAsync())
                    {
                        break;
                    }

                    update = updates.Current;
                }
                catch (Exception e)
                {
                    error = e;
                    throw;
                }

                if (recordChunks)
                {
                    var now = stopwatch!.Elapsed;
                    var delta = (now - lastChunk).TotalSeconds;
                    if (!responseModelTagged && update.ModelId is { } modelId)
                    {
                        chunkTags.Add("gen_ai.response.model", modelId);
                        responseModelTagged = true;
                    }

                    if (timeToFirstChunk is null)
                    {
                        timeToFirstChunk = delta;
                        if (_timeToFirstChunk.Enabled)
                        {
                            _timeToFirstChunk.Record(delta, chunkTags);
                        }
                    }
                    else if (_timePerOutputChunk.Enabled)
                    {
                        _timePerOutputChunk.Record(delta, chunkTags);
                    }

                    lastChunk = now;
                }
                else if (activity is not null && timeToFirstChunk is null)
                {
                    timeToFirstChunk = stopwatch!.Elapsed.TotalSeconds;
                }

                answer.Add(update);
                yield return update;
                if (activity is not null)
                {
                    // As Microsoft.Extensions.AI does: the consumer's code between updates runs under the caller's
                    // activity otherwise (https://github.com/dotnet/runtime/issues/47802).
                    Activity.Current = activity;
                }
            }
        }
        finally
        {
            Record(activity, requestModelId, answer, error, stopwatch, timeToFirstChunk);
            if (updates is not null)
            {
                await updates.DisposeAsync();
            }
        }
    }

    private Activity? StartActivity(string? modelId, ChatOptions? options)
    {
        if (!_activitySource.HasListeners())
        {
            return null;
        }

        var activity = _activitySource.StartActivity(string.IsNullOrWhiteSpace(modelId) ? Chat : $"{Chat} {modelId}", ActivityKind.Client);
        if (activity is not { IsAllDataRequested: true })
        {
            return activity;
        }

        activity
            .AddTag("gen_ai.operation.name", Chat)
            .AddTag("gen_ai.request.model", modelId)
            .AddTag("gen_ai.provider.name", _providerName)
            .AddTag("gen_ai.request.stream", true);
        if (_serverAddress is not null)
        {
            activity.AddTag("server.address", _serverAddress).AddTag("server.port", _serverPort);
        }

        if (options is null)
        {
            return activity;
        }

        if (options.ConversationId is { } conversationId)
        {
            activity.AddTag("gen_ai.conversation.id", conversationId);
        }

        if (options.FrequencyPenalty is { } frequencyPenalty)
        {
            activity.AddTag("gen_ai.request.frequency_penalty", frequencyPenalty);
        }

        if (options.MaxOutputTokens is { } maxTokens)
        {
            activity.AddTag("gen_ai.request.max_tokens", maxTokens);
        }

        if (options.PresencePenalty is { } presencePenalty)
        {
            activity.AddTag("gen_ai.request.presence_penalty", presencePenalty);
        }

        if (options.Seed is { } seed)
        {
            activity.AddTag("gen_ai.request.seed", seed);
        }

        if (options.StopSequences is { Count: > 0 } stopSequences)
        {
            activity.AddTag("gen_ai.request.stop_sequences", $"[{string.Join(", ", stopSequences.Select(s => $"\"{s}\""))}]");
        }

        if (options.Temperature is { } temperature)
        {
            activity.AddTag("gen_ai.request.temperature", temperature);
        }

        if (options.TopK is { } topK)
        {
            activity.AddTag("gen_ai.request.top_k", topK);
        }

        if (options.TopP is { } topP)
        {
            activity.AddTag("gen_ai.request.top_p", topP);
        }

        switch (options.ResponseFormat)
        {
            case ChatResponseFormatText:
                activity.AddTag("gen_ai.output.type", "text");
                break;
            case ChatResponseFormatJson:
                activity.AddTag("gen_ai.output.type", "json");
                break;
        }

        if (options.Tools is { Count: > 0 } tools)
        {
            activity.AddTag("gen_ai.tool.definitions", ToolDefinitions(tools));
        }

        return activity;
    }

    // As Microsoft.Extensions.AI writes them without sensitive data: each tool's type and name, indented JSON.
    private static string ToolDefinitions(IList<AITool> tools)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartArray();
            foreach (var tool in tools)
            {
                var function = tool.GetService<AIFunctionDeclaration>();
                json.WriteStartObject();
                json.WriteString("type", function is null ? tool.Name : "function");
                json.WriteString("name", function?.Name ?? tool.Name);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private void Record(Activity? activity, string? requestModelId, AnswerSummary answer, Exception? error, Stopwatch? stopwatch, double? timeToFirstChunk)
    {
        if (_operationDuration.Enabled && stopwatch is not null)
        {
            var tags = default(TagList);
            AddMetricTags(ref tags, requestModelId, answer.ModelId);
            if (error is not null)
            {
                tags.Add("error.type", error.GetType().FullName);
            }

            _operationDuration.Record(stopwatch.Elapsed.TotalSeconds, tags);
        }

        if (_tokenUsage.Enabled && answer.Usage is { } usage)
        {
            RecordTokens(usage.InputTokenCount, "input", requestModelId, answer.ModelId);
            RecordTokens(usage.OutputTokenCount, "output", requestModelId, answer.ModelId);
        }

        if (error is not null)
        {
            activity?.AddTag("error.type", error.GetType().FullName).SetStatus(ActivityStatusCode.Error, error.Message);
            if (_logger is not null)
            {
                LogOperationException(_logger, error);
            }
        }

        if (activity is null)
        {
            return;
        }

        if (answer.FinishReason is { } finishReason)
        {
            activity.AddTag("gen_ai.response.finish_reasons", $"[\"{finishReason.Value.ToLowerInvariant()}\"]");
        }

        if (!string.IsNullOrWhiteSpace(answer.ResponseId))
        {
            activity.AddTag("gen_ai.response.id", answer.ResponseId);
        }

        if (answer.ModelId is not null)
        {
            activity.AddTag("gen_ai.response.model", answer.ModelId);
        }

        if (timeToFirstChunk is { } firstChunk)
        {
            activity.AddTag("gen_ai.response.time_to_first_chunk", firstChunk);
        }

        if (answer.Usage?.InputTokenCount is { } inputTokens)
        {
            activity.AddTag("gen_ai.usage.input_tokens", (int)inputTokens);
        }

        if (answer.Usage?.OutputTokenCount is { } outputTokens)
        {
            activity.AddTag("gen_ai.usage.output_tokens", (int)outputTokens);
        }

        if (answer.Usage?.CachedInputTokenCount is { } cachedInputTokens)
        {
            activity.AddTag("gen_ai.usage.cache_read.input_tokens", (int)cachedInputTokens);
        }

        if (answer.Usage?.ReasoningTokenCount is { } reasoningTokens)
        {
            activity.AddTag("gen_ai.usage.reasoning.output_tokens", (int)reasoningTokens);
        }
    }

    private void RecordTokens(long? count, string type, string? requestModelId, string? responseModelId)
    {
        if (count is not { } tokens)
        {
            return;
        }

        var tags = default(TagList);
        tags.Add("gen_ai.token.type", type);
        AddMetricTags(ref tags, requestModelId, responseModelId);
        _tokenUsage.Record((int)tokens, tags);
    }

    private void AddMetricTags(ref TagList tags, string? requestModelId, string? responseModelId)
    {
        tags.Add("gen_ai.operation.name", Chat);
        if (requestModelId is not null)
        {
            tags.Add("gen_ai.request.model", requestModelId);
        }

        tags.Add("gen_ai.provider.name", _providerName);
        if (_serverAddress is not null)
        {
            tags.Add("server.address", _serverAddress);
            tags.Add("server.port", _serverPort);
        }

        if (responseModelId is not null)
        {
            tags.Add("gen_ai.response.model", responseModelId);
        }
    }

    [LoggerMessage(EventName = "gen_ai.client.operation.exception", Level = LogLevel.Warning, Message = "gen_ai.client.operation.exception")]
    private static partial void LogOperationException(ILogger logger, Exception error);

    // The fields of ToChatResponse that the span and metrics read, folded in update by update.
    private sealed class AnswerSummary
    {
        public string? ResponseId { get; private set; }

        public string? ModelId { get; private set; }

        public ChatFinishReason? FinishReason { get; private set; }

        public UsageDetails? Usage { get; private set; }

        public void Add(ChatResponseUpdate update)
        {
            if (update.ResponseId is { Length: > 0 } responseId)
            {
                ResponseId = responseId;
            }

            if (update.ModelId is { } modelId)
            {
                ModelId = modelId;
            }

            if (update.FinishReason is { } finishReason)
            {
                FinishReason = finishReason;
            }

            foreach (var content in update.Contents)
            {
                if (content is UsageContent usage)
                {
                    (Usage ??= new()).Add(usage.Details);
                }
            }
        }
    }
}

/// <summary>Adds <see cref="StreamingTelemetryChatClient"/> to a chat client pipeline.</summary>
public static class StreamingTelemetryChatClientBuilderExtensions
{
    /// <summary>
    /// Adds the gen_ai span and metrics of Microsoft.Extensions.AI's <c>UseOpenTelemetry()</c>, keeping O(1) per streamed
    /// answer; <paramref name="enableSensitiveData"/> records message contents (then the answer is kept for its span).
    /// </summary>
    public static ChatClientBuilder UseStreamingTelemetry(this ChatClientBuilder builder, bool enableSensitiveData = false) =>
        builder.Use((inner, services) => new StreamingTelemetryChatClient(
            inner,
            enableSensitiveData,
            // The category of Microsoft.Extensions.AI's client, whose failures it logs: existing log filters keep applying.
            services.GetService<ILoggerFactory>()?.CreateLogger(typeof(OpenTelemetryChatClient))));
}
