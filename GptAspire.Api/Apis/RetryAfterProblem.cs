using System.Globalization;

namespace GptAspire.Api.Apis;

/// <summary>
/// The one way the API refuses a request for now and says when to come back (429, 503): a <c>Retry-After</c>
/// header in whole seconds (at least 1) and <c>application/problem+json</c> with the same number as
/// <c>retryAfterSeconds</c>, whatever the request accepts (a chat asks for <c>text/event-stream</c>).
/// </summary>
public static class RetryAfterProblem
{
    /// <summary>The refusal as a result to return from a handler, or to execute from middleware.</summary>
    public static IResult Result(int statusCode, string title, string detail, TimeSpan retryAfter) =>
        new RetryAfterProblemResult(statusCode, title, detail, Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)));

    private sealed class RetryAfterProblemResult(int statusCode, string title, string detail, int seconds) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => statusCode;

        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return TypedResults.Problem(
                statusCode: statusCode,
                title: title,
                detail: detail,
                extensions: new Dictionary<string, object?> { ["retryAfterSeconds"] = seconds }).ExecuteAsync(httpContext);
        }
    }
}
