using GptAspire.OpenAIEmulator.Models;
using GptAspire.OpenAIEmulator.Services;
using Microsoft.AspNetCore.Http.HttpResults;

namespace GptAspire.OpenAIEmulator.Apis;

public static class EmulatorApi
{
    /// <summary>
    /// Maps the emulator's own endpoints under <c>/_emulator</c>: the recent chat completions calls, for
    /// tests and for a look at what a client really sent. No key: they hold no message and no key.
    /// </summary>
    public static IEndpointRouteBuilder MapEmulatorApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/_emulator");

        api.MapGet("/requests", ListRequests);
        api.MapDelete("/requests", ClearRequests);

        return app;
    }

    public static JsonHttpResult<IReadOnlyList<RecordedRequest>> ListRequests(RequestLog log) =>
        TypedResults.Json(log.Snapshot(), EmulatorJsonContext.Wire.IReadOnlyListRecordedRequest);

    public static NoContent ClearRequests(RequestLog log)
    {
        log.Clear();
        return TypedResults.NoContent();
    }
}
