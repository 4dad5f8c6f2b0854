using System.Buffers;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;
using System.Reflection;

namespace GptAspire.Api.Apis;

/// <summary>
/// <c>TypedResults.ServerSentEvents</c> plus a <c>: ping</c> comment after each period of silence.
/// <see cref="SseItem{T}"/> cannot carry a comment, so this result drives <see cref="SseFormatter"/> itself
/// and writes the comment between two items. Swap it for <c>TypedResults.ServerSentEvents</c> if heartbeats
/// are ever not needed.
/// </summary>
public sealed class ServerSentEventsWithHeartbeatResult<T>(IAsyncEnumerable<SseItem<T>> events, TimeSpan heartbeatInterval)
    : IResult, IStatusCodeHttpResult, IContentTypeHttpResult, IEndpointMetadataProvider
{
    private static readonly byte[] Heartbeat = ": ping\n\n"u8.ToArray();

    public int? StatusCode => StatusCodes.Status200OK;

    public string ContentType => "text/event-stream";

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.ContentType = ContentType;
        // no-transform stops proxies from compressing or rewriting; X-Accel-Buffering stops nginx-style buffering.
        response.Headers.CacheControl = "no-cache,no-transform";
        response.Headers["X-Accel-Buffering"] = "no";
        response.Headers.ContentEncoding = "identity";
        httpContext.Features.GetRequiredFeature<IHttpResponseBodyFeature>().DisableBuffering();

        var json = httpContext.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var cancellationToken = httpContext.RequestAborted;
        var body = response.Body;

        // Headers go out at once, so that the client sees the stream open before the first token.
        await response.StartAsync(cancellationToken);
        await SseFormatter.WriteAsync(
            WithHeartbeats(events, body, cancellationToken),
            body,
            (item, writer) => WriteData(item.Data, writer, json),
            cancellationToken);
    }

    private static void WriteData(T data, IBufferWriter<byte> writer, JsonSerializerOptions json)
    {
        if (data is string text)
        {
            writer.Write(System.Text.Encoding.UTF8.GetBytes(text));
            return;
        }

        using var jsonWriter = new Utf8JsonWriter(writer);
        JsonSerializer.Serialize(jsonWriter, data, data?.GetType() ?? typeof(T), json);
    }

    // The formatter asks for the next item only after it has flushed the previous one, so writing the
    // comment from inside the sequence never interleaves with an event.
    private async IAsyncEnumerable<SseItem<T>> WithHeartbeats(
        IAsyncEnumerable<SseItem<T>> source, Stream body, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var items = source.GetAsyncEnumerator(cancellationToken);
        var next = items.MoveNextAsync().AsTask();
        while (true)
        {
            using (var silence = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                var delay = Task.Delay(heartbeatInterval, silence.Token);
                if (await Task.WhenAny(next, delay) != next)
                {
                    if (cancellationToken.IsCancellationRequested)
                    {
                        // Let the source see the cancellation before it is disposed.
                        await ((Task)next).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                        cancellationToken.ThrowIfCancellationRequested();
                    }

                    try
                    {
                        await body.WriteAsync(Heartbeat, cancellationToken);
                        await body.FlushAsync(cancellationToken);
                    }
                    catch
                    {
                        // The client is gone: let the pending read end (it sees the same abort) before disposal.
                        await ((Task)next).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                        throw;
                    }

                    continue;
                }

                silence.Cancel();
            }

            if (!await next)
            {
                yield break;
            }

            yield return items.Current;
            next = items.MoveNextAsync().AsTask();
        }
    }

    static void IEndpointMetadataProvider.PopulateMetadata(MethodInfo method, EndpointBuilder builder)
    {
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(SseItem<T>), ["text/event-stream"]));
    }
}
