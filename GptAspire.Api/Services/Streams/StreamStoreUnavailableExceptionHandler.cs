using GptAspire.Api.Apis;
using Microsoft.AspNetCore.Diagnostics;

namespace GptAspire.Api.Services.Streams;

/// <summary>The shared stream store (Redis) cannot be reached: the stream cannot be started, read or stopped now.</summary>
public sealed class StreamStoreUnavailableException(Exception inner)
    : Exception("The shared stream store cannot be reached.", inner);

/// <summary>
/// Answers <see cref="StreamStoreUnavailableException"/> with 503 problem+json and <c>Retry-After</c>, logged as a
/// warning without a stack trace: Redis being down is an outage to see, not a bug in the request.
/// </summary>
public sealed partial class StreamStoreUnavailableExceptionHandler(ILogger<StreamStoreUnavailableExceptionHandler> logger) : IExceptionHandler
{
    private const int RetryAfterSeconds = 5;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not StreamStoreUnavailableException unavailable)
        {
            return false;
        }

        LogUnavailable(logger, unavailable.InnerException?.GetType().Name ?? "unknown");
        if (httpContext.Response.HasStarted || httpContext.RequestAborted.IsCancellationRequested)
        {
            return true;
        }

        await RetryAfterProblem.Result(
            StatusCodes.Status503ServiceUnavailable,
            "Answers cannot be shared right now",
            "The store that shares answers between servers cannot be reached. Try again shortly.",
            TimeSpan.FromSeconds(RetryAfterSeconds)).ExecuteAsync(httpContext);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The shared stream store (Redis) cannot be reached: {Failure}; answering 503")]
    private static partial void LogUnavailable(ILogger logger, string failure);
}
