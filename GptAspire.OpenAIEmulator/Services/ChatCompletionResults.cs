using System.Diagnostics;
using System.IO.Pipelines;
using GptAspire.OpenAIEmulator.Models;
using Microsoft.AspNetCore.Http.Features;

namespace GptAspire.OpenAIEmulator.Services;

/// <summary>
/// Writes a streamed reply as OpenAI does: <c>data: {chunk}</c> events, each flushed as soon as it is due on
/// the shared <see cref="StreamPacer"/> clock, then <c>data: [DONE]</c>; or, for <c>[emulator:drop]</c>, an
/// aborted connection instead; for <c>[emulator:bad-chunk]</c>, a chunk that is not JSON before the end. A reply that
/// finishes records its time to first token and time per output token.
/// </summary>
public sealed class ChatCompletionStreamResult(
    StreamPacer pacer,
    CompletionPlan plan,
    RequestLogEntry entry,
    EmulatorMetrics metrics) : IResult, IStatusCodeHttpResult
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

        var output = response.BodyWriter;
        var writer = new ChunkWriter(plan);
        using var clock = pacer.Join(cancellationToken);
        if (ChatCompletionService.PromptFilterChunk(plan) is { } promptFilter)
        {
            writer.WriteChunk(output, promptFilter);
        }

        // The headers (and Azure's first chunk) go out at once, as OpenAI's do, before the first token is ready.
        await output.FlushAsync(cancellationToken);

        await PaceAsync(clock, plan.FirstTokenDelay);
        var firstToken = Stopwatch.GetTimestamp();
        writer.WriteChunk(output, ChatCompletionService.RoleChunk(plan));
        await output.FlushAsync(cancellationToken);

        for (var i = 0; i < plan.Pieces.Count; i++)
        {
            if (i > 0)
            {
                await PaceAsync(clock, plan.TokenDelay);
            }

            cancellationToken.ThrowIfCancellationRequested();
            entry.AddCompletionTokens(plan.Pieces[i].TokenCount);
            writer.WriteContent(output, plan.Pieces[i].Text);
            await output.FlushAsync(cancellationToken);
        }

        await WriteToolCallsAsync(output, writer, clock, cancellationToken);
        var lastToken = Stopwatch.GetTimestamp();

        if (plan.BadChunk)
        {
            // A chunk cut off mid-JSON, as a broken proxy or a truncated write would deliver it, then the normal end.
            ChunkWriter.WriteBroken(output, plan);
            ChunkWriter.WriteDone(output);
            await output.FlushAsync(cancellationToken);
            return;
        }

        if (plan.FinishReason is not { } finishReason)
        {
            entry.MarkDropped();
            httpContext.Abort();
            return;
        }

        writer.WriteChunk(output, ChatCompletionService.FinishChunk(plan, finishReason));
        if (plan.IncludeUsage)
        {
            writer.WriteChunk(output, ChatCompletionService.UsageChunk(plan));
        }

        ChunkWriter.WriteDone(output);
        await output.FlushAsync(cancellationToken);
        metrics.StreamFinished(plan.Route, plan.Model, entry.StartTimestamp, firstToken, lastToken, entry.CompletionTokens);
    }

    // The role chunk carried the first call's header; each call's arguments follow it a fragment (a token) a chunk,
    // paced as text tokens are, and each further call starts with its own header chunk.
    private async Task WriteToolCallsAsync(PipeWriter output, ChunkWriter writer, PacedStream clock, CancellationToken cancellationToken)
    {
        for (var index = 0; index < plan.ToolCalls.Count; index++)
        {
            var call = plan.ToolCalls[index];
            if (index > 0)
            {
                await PaceAsync(clock, plan.TokenDelay);
                writer.WriteChunk(output, ChatCompletionService.ToolCallChunk(plan, ChunkChoice.ToolCallHeaderDelta(index, call.Id, call.Name)));
                await output.FlushAsync(cancellationToken);
            }

            entry.AddCompletionTokens(call.NameTokens);
            foreach (var fragment in call.Fragments)
            {
                await PaceAsync(clock, plan.TokenDelay);
                cancellationToken.ThrowIfCancellationRequested();
                entry.AddCompletionTokens(fragment.TokenCount);
                writer.WriteChunk(output, ChatCompletionService.ToolCallChunk(plan, ChunkChoice.ToolCallArgumentsDelta(index, fragment.Text)));
                await output.FlushAsync(cancellationToken);
            }
        }
    }

    private static ValueTask PaceAsync(PacedStream clock, TimeSpan delay) =>
        delay > TimeSpan.Zero ? clock.WaitAsync(delay) : ValueTask.CompletedTask;
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
