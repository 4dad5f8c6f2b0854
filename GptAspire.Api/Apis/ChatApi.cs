using System.Globalization;
using GptAspire.Api.Extensions;
using GptAspire.Api.Models;
using GptAspire.Api.Services.Chat;
using GptAspire.Api.Services.Tools;
using GptAspire.Api.Services.ClientLimits;
using GptAspire.Api.Services.Streams;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace GptAspire.Api.Apis;

public static class ChatApi
{
    /// <summary>
    /// Maps the chat API: <c>POST /api/chat/stream</c> (start an answer and stream it), <c>GET
    /// /api/chat/stream/{requestId}</c> (resume it, with <c>Last-Event-ID</c>), <c>POST
    /// /api/chat/stream/{requestId}/stop</c> and <c>GET /api/info</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapChatApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("Chat");
        // With several replicas, every answer says which one served it (a random id per process).
        api.AddEndpointFilter(static async (context, next) =>
        {
            if (context.HttpContext.RequestServices.GetRequiredService<ChatStreamStore>().ReplicaId is { } replica)
            {
                context.HttpContext.Response.Headers["X-Stream-Replica"] = replica;
            }

            return await next(context);
        });

        api.MapPost("/chat/stream", StartChat)
            .WithName("StreamChat")
            .WithSummary("Starts an answer and streams it as named server-sent events: start, then token, tool_call and tool_result in the order they happen, usage, finish | error.")
            .AddEndpointFilter<ChatRequestValidationFilter>()
            // The handler returns IResult (a stream or a refusal), so the stream's metadata is declared here.
            .Produces<string>(StatusCodes.Status200OK, ChatStreamResult.EventStreamContentType)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .RequireRateLimiting(ClientLimitsExtensions.ChatPolicy);

        api.MapGet("/chat/stream/{requestId}", ResumeChat)
            .WithName("ResumeChat")
            .WithSummary("Streams an answer again: the events after Last-Event-ID (or ?lastEventId=), then the live rest; 204 when it has ended and the client has its last event.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .RequireRateLimiting(ClientLimitsExtensions.ChatPolicy);

        api.MapPost("/chat/stream/{requestId}/stop", StopChat)
            .WithName("StopChat")
            .WithSummary("Stops an answer wherever it runs: readers get usage and finish 'stopped'. 202 while it stops, 200 when it had already ended.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapGet("/info", GetInfo)
            .WithName("GetInfo")
            .WithSummary("The model, its context window, whether the local emulator answers, and the server's token limits.");

        return app;
    }

    public static async Task<IResult> StartChat(
        ChatRequestBody body, ChatStreamService chat, ChatStreamStore store, HttpContext context, CancellationToken cancellationToken)
    {
        return await chat.StartAsync(body.Request!, ClientIdentity.PartitionKey(context), ClientIdentity.StreamOwner(context), cancellationToken) switch
        {
            ChatStart.Started started => new ChatStreamResult(started.Reader, store),
            ChatStart.Invalid invalid => TypedResults.ValidationProblem(invalid.Errors),
            ChatStart.Full full => RetryAfterProblem.Result(
                StatusCodes.Status503ServiceUnavailable,
                "Too many answers in progress",
                "The server is answering as many questions as it can. Try again shortly.",
                full.RetryAfter),
            ChatStart.TooMany => ClientLimitsExtensions.TooManyGenerations(),
            var other => throw new InvalidOperationException($"Unknown start {other}."),
        };
    }

    public static async Task<Results<ChatStreamResult, NoContent, ProblemHttpResult>> ResumeChat(
        string requestId,
        [FromHeader(Name = "Last-Event-ID")] string? lastEventIdHeader,
        [FromQuery] string? lastEventId,
        ChatStreamStore store,
        HttpContext context,
        CancellationToken cancellationToken)
    {
        if (!TryParseEventId(lastEventIdHeader ?? lastEventId, out var afterId))
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status400BadRequest,
                title: "Bad Last-Event-ID",
                detail: "Last-Event-ID must be the id of an event of this stream: a whole number from 0.");
        }

        var reader = await store.OpenAsync(requestId, afterId, ClientIdentity.StreamOwner(context), cancellationToken);
        if (reader is null)
        {
            return NotFound();
        }

        // An id past every event of an answer this replica generates: the client has events this answer never had.
        if (!reader.Stream.IsMirror && !reader.Stream.IsCompleted && afterId >= reader.Stream.NextId)
        {
            store.Release(reader);
            return TypedResults.Problem(
                statusCode: StatusCodes.Status400BadRequest,
                title: "Bad Last-Event-ID",
                detail: "Last-Event-ID is past the last event of this answer.");
        }

        // Resumed from its last event, an ended answer has nothing more: 204 tells an EventSource to stop reconnecting.
        if (reader.Stream is { IsCompleted: true, Last: { } last } ended && afterId >= last.Id && ended.ReleasedCount == ended.NextId)
        {
            store.Release(reader);
            return TypedResults.NoContent();
        }

        return new ChatStreamResult(reader, store);
    }

    public static async Task<Results<Accepted, Ok, ProblemHttpResult>> StopChat(
        string requestId, ChatStreamStore store, HttpContext context, CancellationToken cancellationToken)
    {
        return await store.StopAsync(requestId, ClientIdentity.StreamOwner(context), cancellationToken) switch
        {
            StopOutcome.Stopping => TypedResults.Accepted((string?)null),
            StopOutcome.AlreadyEnded => TypedResults.Ok(),
            _ => NotFound(),
        };
    }

    public static Ok<ChatInfo> GetInfo(ChatModelInfo model, ChatLimits limits, ChatTools tools) =>
        TypedResults.Ok(new ChatInfo(
            model.Model,
            model.ContextWindow,
            model.UsingEmulator,
            limits.MaxPromptTokens,
            limits.DefaultMaxTokens,
            limits.MaxOutputTokens,
            ChatRequestValidator.MaxTemperature,
            [.. tools.Functions.Select(function => function.Name)]));

    // No id: from the start. Otherwise a whole number; the stream sends the events after it.
    private static bool TryParseEventId(string? value, out long afterId)
    {
        afterId = -1;
        return string.IsNullOrEmpty(value)
            || (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out afterId) && afterId >= 0);
    }

    private static ProblemHttpResult NotFound() => TypedResults.Problem(
        statusCode: StatusCodes.Status404NotFound,
        title: "Unknown stream",
        detail: "No such answer is running or kept: it never existed, or it ended more than the retention time ago.");
}
