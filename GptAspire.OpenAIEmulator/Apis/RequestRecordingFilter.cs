using System.Globalization;
using GptAspire.OpenAIEmulator.Services;

namespace GptAspire.OpenAIEmulator.Apis;

/// <summary>
/// Records every chat completions call in the <see cref="RequestLog"/>, whatever its outcome (a 401 too),
/// gives its response an <c>x-request-id</c> as OpenAI does, and ends the record once the response has been written, cut short by the caller, or dropped;
/// then records the call's <c>gen_ai.server.request.duration</c>, with <c>error.type</c> unless it succeeded.
/// </summary>
public sealed class RequestRecordingFilter(ChatRoute route) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var httpContext = context.HttpContext;
        var log = httpContext.RequestServices.GetRequiredService<RequestLog>();
        var entry = log.Begin(route, httpContext.Request.Path, httpContext.Request.Headers.TraceParent);
        httpContext.Features.Set(entry);
        // OpenAI names every response; clients log this id (never the body) when a call fails.
        httpContext.Response.Headers["x-request-id"] = $"req_{Guid.NewGuid():n}";

        object? result;
        try
        {
            result = await next(context);
        }
        catch
        {
            End(httpContext, entry, StatusCodes.Status500InternalServerError);
            throw;
        }

        return result is IResult inner ? new RecordedResult(inner, entry, this) : result;
    }

    private void End(HttpContext httpContext, RequestLogEntry entry, int status)
    {
        entry.End(status, httpContext.RequestAborted.IsCancellationRequested);
        var record = entry.ToRecord();
        // The conventions' error.type: the HTTP status of a refused call, or what cut a streamed one short.
        var errorType = status >= 400 ? status.ToString(CultureInfo.InvariantCulture)
            : record.Cancelled ? "cancelled"
            : !record.Completed ? "dropped"
            : null;
        httpContext.RequestServices.GetRequiredService<EmulatorMetrics>().RequestEnded(route, record.Model, entry.StartTimestamp, errorType);
    }

    private sealed class RecordedResult(IResult inner, RequestLogEntry entry, RequestRecordingFilter filter) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            try
            {
                await inner.ExecuteAsync(httpContext);
            }
            catch (Exception) when (httpContext.RequestAborted.IsCancellationRequested)
            {
                // The caller went away mid-response; there is nobody left to tell.
            }
            finally
            {
                filter.End(httpContext, entry, httpContext.Response.StatusCode);
            }
        }
    }
}
