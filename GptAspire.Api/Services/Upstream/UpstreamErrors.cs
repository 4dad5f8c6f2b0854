using System.ClientModel;
using System.Globalization;
using System.Text.Json;
using GptAspire.Api.Models;

namespace GptAspire.Api.Services.Upstream;

/// <summary>
/// Turns a failure of the OpenAI call into the <c>error</c> event users see. Messages are written for
/// people and never repeat the upstream body, which may echo parts of the key or the prompt.
/// </summary>
public static class UpstreamErrors
{
    public static ErrorEvent Timeout() =>
        new(ChatErrorCodes.UpstreamTimeout, "The AI service did not answer in time. Try again.");

    public static ErrorEvent EndedEarly() =>
        new(ChatErrorCodes.UpstreamUnavailable, "The connection to the AI service ended before the answer was complete. Try again.");

    /// <summary>
    /// What operators may see of a failure: the HTTP status, the upstream's request id and the kind of failure.
    /// Never the body (it may echo part of the key) nor the exception's message.
    /// </summary>
    public static UpstreamFailure Describe(Exception exception)
    {
        if (exception is ClientResultException { Status: > 0 } result)
        {
            var headers = result.GetRawResponse()?.Headers;
            string? requestId = null;
            if (headers is not null && !headers.TryGetValue("x-request-id", out requestId))
            {
                headers.TryGetValue("apim-request-id", out requestId);
            }

            return new UpstreamFailure(result.Status, requestId, "http_status");
        }

        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException { HttpRequestError: not HttpRequestError.Unknown } http)
            {
                return new UpstreamFailure(null, null, http.HttpRequestError.ToString());
            }
        }

        return new UpstreamFailure(null, null, exception.GetType().Name);
    }

    public static ErrorEvent Map(Exception exception) => exception switch
    {
        ClientResultException { Status: 429 } e => RateLimited(RetryAfterSeconds(e)),
        ClientResultException { Status: 400 } e when ErrorCode(e) == "content_filter" =>
            new(ChatErrorCodes.ContentFiltered, "The prompt was blocked by the content filter. Rephrase it and try again."),
        ClientResultException { Status: 408 or 504 } => Timeout(),
        ClientResultException { Status: 401 or 403 } =>
            new(ChatErrorCodes.UpstreamError, "The AI service refused the server's credentials. The administrator needs to check the OpenAI key."),
        ClientResultException { Status: 404 } =>
            new(ChatErrorCodes.UpstreamError, "The AI service does not know the configured model or deployment."),
        ClientResultException { Status: >= 500 } =>
            new(ChatErrorCodes.UpstreamError, "The AI service had an error. Try again in a moment."),
        ClientResultException { Status: > 0 } =>
            new(ChatErrorCodes.UpstreamError, "The AI service refused the request."),
        _ when IsConnectTimeout(exception) =>
            new(ChatErrorCodes.UpstreamConnectTimeout, "The AI service could not be reached in time. Try again."),
        _ when IsConnectionFailure(exception) =>
            new(ChatErrorCodes.UpstreamUnavailable, "The AI service cannot be reached, or the connection to it was lost. Try again."),
        _ => new(ChatErrorCodes.UpstreamError, "The AI service call failed."),
    };

    private static ErrorEvent RateLimited(int? retryAfter) => new(
        ChatErrorCodes.RateLimited,
        retryAfter is { } seconds
            ? $"The AI service is busy (rate limit reached). Try again in {seconds} s."
            : "The AI service is busy (rate limit reached). Try again shortly.",
        retryAfter);

    // SocketsHttpHandler.ConnectTimeout surfaces as a TimeoutException inside the failure; the SDK's own network
    // timeout is off, so nothing else raises one.
    private static bool IsConnectTimeout(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is TimeoutException)
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsConnectionFailure(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException or IOException or ClientResultException { Status: 0 })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Reads <c>retry-after-ms</c> or <c>Retry-After</c> (seconds or an HTTP date), rounded up.</summary>
    internal static int? RetryAfterSeconds(ClientResultException exception)
    {
        var headers = exception.GetRawResponse()?.Headers;
        if (headers is null)
        {
            return null;
        }

        if (headers.TryGetValue("retry-after-ms", out var ms)
            && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds) && milliseconds >= 0)
        {
            return (int)Math.Ceiling(milliseconds / 1000);
        }

        if (headers.TryGetValue("Retry-After", out var value) && value is not null)
        {
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
            {
                return (int)Math.Ceiling(seconds);
            }

            if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
            {
                return Math.Max(0, (int)Math.Ceiling((date - DateTimeOffset.UtcNow).TotalSeconds));
            }
        }

        return null;
    }

    private static string? ErrorCode(ClientResultException exception)
    {
        try
        {
            var content = exception.GetRawResponse()?.Content;
            if (content is null || content.ToMemory().IsEmpty)
            {
                return null;
            }

            using var json = JsonDocument.Parse(content);
            return json.RootElement.TryGetProperty("error", out var error)
                && error.TryGetProperty("code", out var code)
                && code.ValueKind == JsonValueKind.String
                ? code.GetString()
                : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return null;
        }
    }
}

/// <summary>The loggable facts of an upstream failure.</summary>
public sealed record UpstreamFailure(int? Status, string? UpstreamRequestId, string Kind);
