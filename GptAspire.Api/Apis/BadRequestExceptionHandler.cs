using Microsoft.AspNetCore.Diagnostics;

namespace GptAspire.Api.Apis;

/// <summary>
/// Answers a request that broke HTTP's rules (a body arriving too slowly: 408, too large: 413, malformed: 400)
/// with its own status as problem+json, logged at Debug: it is the client's fault, not a server error.
/// </summary>
public sealed partial class BadRequestExceptionHandler(ILogger<BadRequestExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException badRequest)
        {
            return false;
        }

        LogBadRequest(logger, badRequest.StatusCode, badRequest.Message);
        if (httpContext.Response.HasStarted || httpContext.RequestAborted.IsCancellationRequested)
        {
            return true;
        }

        // A ProblemHttpResult writes problem+json whatever the request accepts (a chat asks for text/event-stream).
        await TypedResults.Problem(statusCode: badRequest.StatusCode, detail: badRequest.Message).ExecuteAsync(httpContext);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Bad request ({StatusCode}): {Reason}")]
    private static partial void LogBadRequest(ILogger logger, int statusCode, string reason);
}
