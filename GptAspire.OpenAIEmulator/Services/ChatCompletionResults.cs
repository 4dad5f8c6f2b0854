using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using GptAspire.OpenAIEmulator.Models;
using Microsoft.AspNetCore.Http.Features;

namespace GptAspire.OpenAIEmulator.Services;

/// <summary>
/// Writes a streamed reply as OpenAI does: <c>data: {chunk}</c> events, each flushed as soon as it is
/// due, then <c>data: [DONE]</c>; or, for <c>[emulator:drop]</c>, an aborted connection instead.
/// </summary>
public sealed class ChatCompletionStreamResult(
    IAsyncEnumerable<ChatCompletionChunk> chunks,
    CompletionPlan plan,
    RequestLogEntry entry) : IResult, IStatusCodeHttpResult
{
    public int? StatusCode => StatusCodes.Status200OK;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var cancellationToken = httpContext.RequestAborted;
        var response = httpContext.Response;
        httpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        await response.StartAsync(cancellationToken);

        var typeInfo = plan.IncludeUsage
            ? EmulatorJsonContext.WireWithNullUsage.ChatCompletionChunk
            : EmulatorJsonContext.Wire.ChatCompletionChunk;
        await foreach (var chunk in chunks.WithCancellation(cancellationToken))
        {
            await WriteEventAsync(response.BodyWriter, JsonSerializer.SerializeToUtf8Bytes(chunk, typeInfo), cancellationToken);
        }

        if (plan.Drops)
        {
            entry.MarkDropped();
            httpContext.Abort();
            return;
        }

        await WriteEventAsync(response.BodyWriter, "[DONE]"u8.ToArray(), cancellationToken);
    }

    private static async Task WriteEventAsync(PipeWriter writer, byte[] data, CancellationToken cancellationToken)
    {
        writer.Write("data: "u8);
        writer.Write(data);
        writer.Write("\n\n"u8);
        await writer.FlushAsync(cancellationToken);
    }
}

/// <summary>Writes a whole <c>chat.completion</c> once it has been "generated"; aborts instead for <c>[emulator:drop]</c>.</summary>
public sealed class ChatCompletionJsonResult(
    ChatCompletionService service,
    CompletionPlan plan,
    RequestLogEntry entry) : IResult, IStatusCodeHttpResult
{
    public int? StatusCode => StatusCodes.Status200OK;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var completion = await service.CompleteAsync(plan, entry, httpContext.RequestAborted);
        if (completion is null)
        {
            entry.MarkDropped();
            httpContext.Abort();
            return;
        }

        await TypedResults.Json(completion, EmulatorJsonContext.Wire.ChatCompletion).ExecuteAsync(httpContext);
    }
}
