using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;

namespace GptAspire.Benchmarks;

/// <summary>What one stream did, with the arrival time of each token event (Stopwatch ticks).</summary>
public sealed class StreamResult
{
    public long SentAt { get; set; }
    public long FirstTokenAt { get; set; }
    public int Tokens { get; set; }
    public bool Finished { get; set; }
    public bool HeadersReceived { get; set; }
    public string? Error { get; set; }

    /// <summary>Milliseconds between consecutive token events (null when gaps were not asked for).</summary>
    public List<float>? Gaps { get; set; }

    public double TimeToFirstTokenMs => FirstTokenAt == 0 ? double.NaN : Stopwatch.GetElapsedTime(SentAt, FirstTokenAt).TotalMilliseconds;
}

/// <summary>
/// The load client: one HTTP/1.1 connection per stream, SSE parsed from the raw bytes as they arrive,
/// every event timestamped once per read. It understands both wire formats it meets: named events
/// (<c>event: token</c> ... <c>event: finish</c>) and OpenAI's unnamed <c>data:</c> chunks ending in <c>[DONE]</c>.
/// </summary>
public sealed class LoadClient : IDisposable
{
    private static ReadOnlySpan<byte> EventBoundary => "\n\n"u8;
    private static ReadOnlySpan<byte> EventPrefix => "event: "u8;
    private static ReadOnlySpan<byte> DataPrefix => "data: "u8;
    private static ReadOnlySpan<byte> ContentDelta => "\"delta\":{\"content\":\""u8;
    private static ReadOnlySpan<byte> Done => "data: [DONE]"u8;

    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        UseProxy = false,
        MaxConnectionsPerServer = int.MaxValue,
        AutomaticDecompression = DecompressionMethods.None,
        ConnectTimeout = TimeSpan.FromSeconds(15),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(5),
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public HttpClient Http => _http;

    /// <summary>Sends one chat request and reads its stream to the end, or until <paramref name="cancellationToken"/>.</summary>
    /// <param name="onHeaders">Called once the response headers have arrived (the idle-stream measurement counts them).</param>
    public async Task<StreamResult> RunAsync(StreamRequest request, bool recordGaps, CancellationToken cancellationToken, Action? onHeaders = null)
    {
        var result = new StreamResult { Gaps = recordGaps ? new List<float>(request.ExpectedTokens) : null };
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, request.Url)
            {
                Content = new ByteArrayContent(request.Body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
            };
            if (request.ApiKey is { } key)
            {
                message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            }

            result.SentAt = Stopwatch.GetTimestamp();
            using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            result.HeadersReceived = true;
            onHeaders?.Invoke();
            if (response.StatusCode != HttpStatusCode.OK)
            {
                result.Error = $"HTTP {(int)response.StatusCode}";
                return result;
            }

            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            var filled = 0;
            long lastToken = 0;
            while (true)
            {
                if (filled == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, filled).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await body.ReadAsync(buffer.AsMemory(filled), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                var now = Stopwatch.GetTimestamp();
                filled += read;
                var consumed = 0;
                while (true)
                {
                    var length = buffer.AsSpan(consumed, filled - consumed).IndexOf(EventBoundary);
                    if (length < 0)
                    {
                        break;
                    }

                    switch (Classify(buffer.AsSpan(consumed, length)))
                    {
                        case EventKind.Token:
                            result.Tokens++;
                            if (lastToken == 0)
                            {
                                result.FirstTokenAt = now;
                            }
                            else
                            {
                                result.Gaps?.Add((float)Stopwatch.GetElapsedTime(lastToken, now).TotalMilliseconds);
                            }

                            lastToken = now;
                            break;
                        case EventKind.End:
                            result.Finished = true;
                            break;
                        case EventKind.Error:
                            result.Error = "error event";
                            break;
                    }

                    consumed += length + EventBoundary.Length;
                }

                if (consumed > 0)
                {
                    buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                    filled -= consumed;
                }

                if (result.Finished || result.Error is not null)
                {
                    break;
                }
            }

            if (!result.Finished && result.Error is null)
            {
                result.Error = "ended early";
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            result.Error ??= "timed out";
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            result.Error = e.GetType().Name;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return result;
    }

    private static EventKind Classify(ReadOnlySpan<byte> ev)
    {
        if (ev.StartsWith(EventPrefix))
        {
            var name = ev[EventPrefix.Length..];
            var end = name.IndexOf((byte)'\n');
            name = end < 0 ? name : name[..end];
            return name.SequenceEqual("token"u8) ? EventKind.Token
                : name.SequenceEqual("finish"u8) ? EventKind.End
                : name.SequenceEqual("error"u8) ? EventKind.Error
                : EventKind.Other;
        }

        if (ev.StartsWith(DataPrefix))
        {
            return ev.StartsWith(Done) ? EventKind.End
                : ev.IndexOf(ContentDelta) >= 0 ? EventKind.Token
                : ev.IndexOf("\"error\""u8) >= 0 ? EventKind.Error
                : EventKind.Other;
        }

        return EventKind.Other;
    }

    public void Dispose() => _http.Dispose();

    private enum EventKind
    {
        Other,
        Token,
        End,
        Error,
    }
}

/// <summary>One chat request, encoded once and sent as many times as a measurement needs.</summary>
public sealed record StreamRequest(Uri Url, byte[] Body, string? ApiKey, int ExpectedTokens);
