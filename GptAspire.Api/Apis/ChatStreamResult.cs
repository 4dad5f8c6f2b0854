using System.Buffers;
using System.Diagnostics;
using System.Net.ServerSentEvents;
using System.Reflection;
using GptAspire.Api.Models;
using GptAspire.Api.Services.Streams;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;

namespace GptAspire.Api.Apis;

/// <summary>
/// Sends a stored stream to one connection as <c>text/event-stream</c>: the events after the reader's start id,
/// then the live rest until <c>finish</c> or <c>error</c>, with a <c>: ping</c> comment after each heartbeat
/// interval of silence. Events are written as the frames they were stored as, so a resumed stream is byte for
/// byte the original. Stands in for <c>TypedResults.ServerSentEvents</c>, whose <see cref="SseItem{T}"/> can carry
/// neither a comment nor pre-encoded bytes.
/// </summary>
public sealed class ChatStreamResult(ChatStreamReader reader, ChatStreamStore store)
    : IResult, IStatusCodeHttpResult, IContentTypeHttpResult, IEndpointMetadataProvider
{
    private static readonly byte[] Heartbeat = ": ping\n\n"u8.ToArray();

    public int? StatusCode => StatusCodes.Status200OK;

    /// <summary>The media type of a chat stream.</summary>
    public const string EventStreamContentType = "text/event-stream";

    public string ContentType => EventStreamContentType;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.ContentType = ContentType;
        // no-transform stops proxies from compressing or rewriting; X-Accel-Buffering stops nginx-style buffering.
        response.Headers.CacheControl = "no-cache,no-transform";
        response.Headers["X-Accel-Buffering"] = "no";
        response.Headers.ContentEncoding = "identity";
        httpContext.Features.GetRequiredFeature<IHttpResponseBodyFeature>().DisableBuffering();

        var aborted = httpContext.RequestAborted;
        using var leave = aborted.UnsafeRegister(static state => ((ChatStreamReader)state!).Cancel(), reader);
        var frames = new List<ReadOnlyMemory<byte>>();
        var body = response.BodyWriter;
        try
        {
            // Headers go out at once, so that the client sees the stream open before the first event.
            await response.StartAsync(aborted);
            while (true)
            {
                frames.Clear();
                var outcome = await reader.ReadAsync(frames);
                if (outcome == ReadOutcome.End)
                {
                    return;
                }

                if (outcome == ReadOutcome.Heartbeat)
                {
                    body.Write(Heartbeat);
                }
                else
                {
                    foreach (var frame in frames)
                    {
                        body.Write(frame.Span);
                    }
                }

                // One flush per wake-up: events that arrived together go out in one write.
                var flush = await body.FlushAsync(aborted);
                if (reader.Last is { } last)
                {
                    MarkOutcome(httpContext, last);
                    return;
                }

                if (flush.IsCanceled || flush.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception) when (aborted.IsCancellationRequested)
        {
            // The client left; the generation goes on for whoever resumes it.
        }
        finally
        {
            store.Release(reader);
        }
    }

    // The request's server span shows how the answer ended, so operators can find failed streams.
    private static void MarkOutcome(HttpContext httpContext, ChatStreamEvent last)
    {
        if (last.Name == ChatEventNames.Error && httpContext.Features.Get<IHttpActivityFeature>()?.Activity is { } activity)
        {
            activity.SetStatus(ActivityStatusCode.Error, last.ErrorCode);
            activity.SetTag("error.type", last.ErrorCode);
        }
    }

    static void IEndpointMetadataProvider.PopulateMetadata(MethodInfo method, EndpointBuilder builder)
    {
        // The events' schema is filled in by ChatStreamOpenApi.
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(string), [EventStreamContentType]));
    }
}
