using System.Collections.Concurrent;
using System.IO.Compression;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GptAspire.AppHost.Tests.Telemetry;

/// <summary>A span as exported over OTLP.</summary>
public sealed record ReceivedSpan(
    string Service, string Scope, string TraceId, string SpanId, string ParentSpanId, string Name, int Kind,
    IReadOnlyDictionary<string, string> Attributes)
{
    /// <summary>The span's status: 0 unset, 1 ok, 2 error.</summary>
    public int StatusCode { get; init; }

    public string StatusMessage { get; init; } = "";

    /// <summary>The exporting process's <c>service.instance.id</c>: which replica, when a resource has several.</summary>
    public string Instance { get; init; } = "";

    /// <summary>The trace ids of the span's links (a continuation links to the trace that started its answer).</summary>
    public IReadOnlyList<string> LinkedTraceIds { get; init; } = [];

    /// <summary>When the span started and ended, in nanoseconds since the Unix epoch.</summary>
    public long StartNanos { get; init; }

    public long EndNanos { get; init; }
}

/// <summary>One data point of a counter (a sum) or histogram as exported over OTLP: its attributes and its (cumulative) value, for a histogram its count.</summary>
public sealed record ReceivedPoint(string Service, string Metric, IReadOnlyDictionary<string, string> Attributes, double Value);

/// <summary>A log record as exported over OTLP: its text and attribute values, and its trace id.</summary>
public sealed record ReceivedLog(string Service, string TraceId, string Text);

/// <summary>
/// An OTLP/HTTP (protobuf) receiver on loopback, standing in for the dashboard in tests: the AppHost's
/// resources export their traces, logs and metrics here, and tests read what arrived.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    public ConcurrentQueue<ReceivedSpan> Spans { get; } = new();

    public ConcurrentQueue<ReceivedLog> Logs { get; } = new();

    public ConcurrentDictionary<(string Service, string Metric), bool> Metrics { get; } = new();

    /// <summary>The data points of every sum (counter) metric received.</summary>
    public ConcurrentQueue<ReceivedPoint> Points { get; } = new();

    /// <summary>Every request body received, as sent: what a search for secrets must cover, field by field or not.</summary>
    public ConcurrentQueue<byte[]> Raw { get; } = new();

    private OtlpReceiver(WebApplication app) => _app = app;

    public Uri Endpoint { get; private set; } = null!;

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/traces", async (HttpRequest request) => receiver.Read(receiver.ReadTraces, await BodyAsync(request), request));
        app.MapPost("/v1/logs", async (HttpRequest request) => receiver.Read(receiver.ReadLogs, await BodyAsync(request), request));
        app.MapPost("/v1/metrics", async (HttpRequest request) => receiver.Read(receiver.ReadMetrics, await BodyAsync(request), request));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Endpoint = new Uri(address);
        return receiver;
    }

    /// <summary>Requests the receiver could not read; a test that finds nothing says why.</summary>
    public ConcurrentQueue<string> Errors { get; } = new();

    private IResult Read(Action<byte[]> read, byte[] body, HttpRequest request)
    {
        Raw.Enqueue(body);
        try
        {
            read(body);
            return Results.Ok();
        }
        catch (Exception e)
        {
            Errors.Enqueue($"{Convert.ToHexString(body.AsSpan(0, Math.Min(24, body.Length)))} ({body.Length} bytes, {request.ContentType}, {request.Headers.UserAgent}, {request.Headers.ContentEncoding}): {e.Message}");
            return Results.BadRequest();
        }
    }

    private static async Task<byte[]> BodyAsync(HttpRequest request)
    {
        var body = request.Headers.ContentEncoding == "gzip" ? new GZipStream(request.Body, CompressionMode.Decompress) : request.Body;
        using var buffer = new MemoryStream();
        await body.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    // ExportTraceServiceRequest.resource_spans(1) > ResourceSpans{resource(1), scope_spans(2)} > ScopeSpans{scope(1), spans(2)}
    private void ReadTraces(byte[] body)
    {
        var request = new ProtoReader(body);
        while (request.Next())
        {
            if (request.Field != 1) { request.Skip(); continue; }
            var resourceSpans = request.Bytes();
            var service = ServiceOf(resourceSpans, 1);
            var instance = ServiceOf(resourceSpans, 1, "service.instance.id");
            var reader = new ProtoReader(resourceSpans);
            while (reader.Next())
            {
                if (reader.Field != 2) { reader.Skip(); continue; }
                var scopeSpans = new ProtoReader(reader.Bytes());
                var scope = "";
                while (scopeSpans.Next())
                {
                    if (scopeSpans.Field == 1) scope = NameOfScope(scopeSpans.Bytes());
                    else if (scopeSpans.Field == 2) Spans.Enqueue(ReadSpan(service, scope, scopeSpans.Bytes()) with { Instance = instance });
                    else scopeSpans.Skip();
                }
            }
        }
    }

    // Span{trace_id(1), span_id(2), parent_span_id(4), name(5), kind(6), start(7), end(8), attributes(9), links(13), status(15)}
    private static ReceivedSpan ReadSpan(string service, string scope, ReadOnlySpan<byte> data)
    {
        string traceId = "", spanId = "", parent = "", name = "", statusMessage = "";
        int kind = 0, statusCode = 0;
        long start = 0, end = 0;
        var attributes = new Dictionary<string, string>();
        var links = new List<string>();
        var span = new ProtoReader(data);
        while (span.Next())
        {
            switch (span.Field)
            {
                case 1: traceId = Convert.ToHexStringLower(span.Bytes()); break;
                case 2: spanId = Convert.ToHexStringLower(span.Bytes()); break;
                case 4: parent = Convert.ToHexStringLower(span.Bytes()); break;
                case 5: name = span.String(); break;
                case 6: kind = (int)span.Varint(); break;
                case 7: start = span.Fixed64(); break;
                case 8: end = span.Fixed64(); break;
                case 9: var (key, value) = KeyValue(span.Bytes()); attributes[key] = value; break;
                case 13: links.Add(LinkedTraceId(span.Bytes())); break;
                case 15: (statusCode, statusMessage) = Status(span.Bytes()); break;
                default: span.Skip(); break;
            }
        }

        return new ReceivedSpan(service, scope, traceId, spanId, parent, name, kind, attributes)
        {
            StatusCode = statusCode,
            StatusMessage = statusMessage,
            LinkedTraceIds = links,
            StartNanos = start,
            EndNanos = end,
        };
    }

    // Link{trace_id(1), ...}
    private static string LinkedTraceId(ReadOnlySpan<byte> data)
    {
        var link = new ProtoReader(data);
        var traceId = "";
        while (link.Next())
        {
            if (link.Field == 1) traceId = Convert.ToHexStringLower(link.Bytes());
            else link.Skip();
        }

        return traceId;
    }

    // Status{message(2), code(3)}
    private static (int Code, string Message) Status(ReadOnlySpan<byte> data)
    {
        var (code, message) = (0, "");
        var status = new ProtoReader(data);
        while (status.Next())
        {
            if (status.Field == 2) message = status.String();
            else if (status.Field == 3) code = (int)status.Varint();
            else status.Skip();
        }

        return (code, message);
    }

    // ExportLogsServiceRequest.resource_logs(1) > {resource(1), scope_logs(2)} > {log_records(2)}
    // LogRecord{body(5), attributes(6), trace_id(9)}
    private void ReadLogs(byte[] body)
    {
        var request = new ProtoReader(body);
        while (request.Next())
        {
            if (request.Field != 1) { request.Skip(); continue; }
            var resourceLogs = request.Bytes();
            var service = ServiceOf(resourceLogs, 1);
            var reader = new ProtoReader(resourceLogs);
            while (reader.Next())
            {
                if (reader.Field != 2) { reader.Skip(); continue; }
                var scopeLogs = new ProtoReader(reader.Bytes());
                while (scopeLogs.Next())
                {
                    if (scopeLogs.Field != 2) { scopeLogs.Skip(); continue; }
                    var record = new ProtoReader(scopeLogs.Bytes());
                    var text = new List<string>();
                    var traceId = "";
                    while (record.Next())
                    {
                        switch (record.Field)
                        {
                            case 5: text.Add(AnyValue(record.Bytes())); break;
                            case 6: var (key, value) = KeyValue(record.Bytes()); text.Add($"{key}={value}"); break;
                            case 9: traceId = Convert.ToHexStringLower(record.Bytes()); break;
                            default: record.Skip(); break;
                        }
                    }

                    Logs.Enqueue(new ReceivedLog(service, traceId, string.Join(" ", text)));
                }
            }
        }
    }

    // ExportMetricsServiceRequest.resource_metrics(1) > {resource(1), scope_metrics(2)} > {metrics(2)} > Metric{name(1)}
    private void ReadMetrics(byte[] body)
    {
        var request = new ProtoReader(body);
        while (request.Next())
        {
            if (request.Field != 1) { request.Skip(); continue; }
            var resourceMetrics = request.Bytes();
            var service = ServiceOf(resourceMetrics, 1);
            var reader = new ProtoReader(resourceMetrics);
            while (reader.Next())
            {
                if (reader.Field != 2) { reader.Skip(); continue; }
                var scopeMetrics = new ProtoReader(reader.Bytes());
                while (scopeMetrics.Next())
                {
                    if (scopeMetrics.Field != 2) { scopeMetrics.Skip(); continue; }
                    var metric = new ProtoReader(scopeMetrics.Bytes());
                    var name = "";
                    while (metric.Next())
                    {
                        if (metric.Field == 1) Metrics[(service, name = metric.String())] = true;
                        else if (metric.Field == 7) ReadSum(service, name, metric.Bytes());
                        else if (metric.Field == 9) ReadHistogram(service, name, metric.Bytes());
                        else metric.Skip();
                    }
                }
            }
        }
    }

    // Metric{name(1), sum(7)} (the name comes first) > Sum{data_points(1)} > NumberDataPoint{as_double(4), as_int(6), attributes(7)}
    private void ReadSum(string service, string metric, ReadOnlySpan<byte> data)
    {
        var sum = new ProtoReader(data);
        while (sum.Next())
        {
            if (sum.Field != 1) { sum.Skip(); continue; }
            var point = new ProtoReader(sum.Bytes());
            var attributes = new Dictionary<string, string>();
            double value = 0;
            while (point.Next())
            {
                switch (point.Field)
                {
                    case 4: value = point.Double(); break;
                    case 6: value = point.Fixed64(); break;
                    case 7: var (key, text) = KeyValue(point.Bytes()); attributes[key] = text; break;
                    default: point.Skip(); break;
                }
            }

            Points.Enqueue(new ReceivedPoint(service, metric, attributes, value));
        }
    }

    // Histogram{data_points(1)} > HistogramDataPoint{count(4), attributes(9)}: a point's value is its count.
    private void ReadHistogram(string service, string metric, ReadOnlySpan<byte> data)
    {
        var histogram = new ProtoReader(data);
        while (histogram.Next())
        {
            if (histogram.Field != 1) { histogram.Skip(); continue; }
            var point = new ProtoReader(histogram.Bytes());
            var attributes = new Dictionary<string, string>();
            double count = 0;
            while (point.Next())
            {
                switch (point.Field)
                {
                    case 4: count = point.Fixed64(); break;
                    case 9: var (key, text) = KeyValue(point.Bytes()); attributes[key] = text; break;
                    default: point.Skip(); break;
                }
            }

            Points.Enqueue(new ReceivedPoint(service, metric, attributes, count));
        }
    }

    // Resource{attributes(1)}: the value of service.name (or of another resource attribute).
    private static string ServiceOf(ReadOnlySpan<byte> container, int resourceField, string attribute = "service.name")
    {
        var reader = new ProtoReader(container);
        while (reader.Next())
        {
            if (reader.Field != resourceField) { reader.Skip(); continue; }
            var resource = new ProtoReader(reader.Bytes());
            while (resource.Next())
            {
                if (resource.Field != 1) { resource.Skip(); continue; }
                var (key, value) = KeyValue(resource.Bytes());
                if (key == attribute) return value;
            }
        }

        return "";
    }

    private static string NameOfScope(ReadOnlySpan<byte> scope)
    {
        var reader = new ProtoReader(scope);
        while (reader.Next())
        {
            if (reader.Field == 1) return reader.String();
            reader.Skip();
        }

        return "";
    }

    // KeyValue{key(1), value(2)}
    private static (string Key, string Value) KeyValue(ReadOnlySpan<byte> data)
    {
        string key = "", value = "";
        var reader = new ProtoReader(data);
        while (reader.Next())
        {
            if (reader.Field == 1) key = reader.String();
            else if (reader.Field == 2) value = AnyValue(reader.Bytes());
            else reader.Skip();
        }

        return (key, value);
    }

    // AnyValue{string_value(1), bool_value(2), int_value(3), double_value(4), array_value(5)}; other kinds as empty.
    // An array reads as [a,b]: points told apart by an array attribute (gen_ai.response.finish_reasons) stay apart.
    private static string AnyValue(ReadOnlySpan<byte> data)
    {
        var reader = new ProtoReader(data);
        while (reader.Next())
        {
            switch (reader.Field)
            {
                case 1: return reader.String();
                case 2: return reader.Varint() != 0 ? "true" : "false";
                case 3: return ((long)reader.Varint()).ToString(System.Globalization.CultureInfo.InvariantCulture);
                case 4: return reader.Double().ToString(System.Globalization.CultureInfo.InvariantCulture);
                case 5: return ArrayValue(reader.Bytes());
                default: reader.Skip(); break;
            }
        }

        return "";
    }

    // ArrayValue{values(1) repeated AnyValue}
    private static string ArrayValue(ReadOnlySpan<byte> data)
    {
        var values = new List<string>();
        var reader = new ProtoReader(data);
        while (reader.Next())
        {
            if (reader.Field == 1) values.Add(AnyValue(reader.Bytes()));
            else reader.Skip();
        }

        return $"[{string.Join(",", values)}]";
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
