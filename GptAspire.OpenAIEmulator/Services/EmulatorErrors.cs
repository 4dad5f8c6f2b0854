using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using GptAspire.OpenAIEmulator.Models;

namespace GptAspire.OpenAIEmulator.Services;

/// <summary>The error responses of OpenAI and Azure OpenAI, with their exact bodies and headers.</summary>
public static class EmulatorErrors
{
    public static IResult MissingApiKey() => OpenAI(StatusCodes.Status401Unauthorized, new ErrorDetail
    {
        Message = "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
        Type = "invalid_request_error",
    });

    public static IResult IncorrectApiKey(string key) => OpenAI(StatusCodes.Status401Unauthorized, new ErrorDetail
    {
        Message = $"Incorrect API key provided: {Mask(key)}. You can find your API key at https://platform.openai.com/account/api-keys.",
        Type = "invalid_request_error",
        Code = "invalid_api_key",
    });

    public static IResult InvalidJson() => OpenAI(StatusCodes.Status400BadRequest, new ErrorDetail
    {
        Message = "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
        Type = "invalid_request_error",
    });

    public static IResult MissingParameter(string param) => OpenAI(StatusCodes.Status400BadRequest, new ErrorDetail
    {
        Message = $"Missing required parameter: '{param}'.",
        Type = "invalid_request_error",
        Param = param,
        Code = "missing_required_parameter",
    });

    public static IResult EmptyArray(string param) => OpenAI(StatusCodes.Status400BadRequest, new ErrorDetail
    {
        Message = $"Invalid '{param}': empty array. Expected an array with minimum length 1, but got an empty array instead.",
        Type = "invalid_request_error",
        Param = param,
        Code = "empty_array",
    });

    public static IResult InvalidRole(string param, string? role) => OpenAI(StatusCodes.Status400BadRequest, new ErrorDetail
    {
        Message = $"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.",
        Type = "invalid_request_error",
        Param = param,
        Code = "invalid_value",
    });

    public static IResult BelowMinimum(string param, int value) => OpenAI(StatusCodes.Status400BadRequest, new ErrorDetail
    {
        Message = $"Invalid '{param}': integer below minimum value. Expected a value >= 1, but got {value} instead.",
        Type = "invalid_request_error",
        Param = param,
        Code = "integer_below_min_value",
    });

    /// <summary>A parameter OpenAI refuses, with its own message (several checks share the shape).</summary>
    public static IResult InvalidValue(string param, string message, string? code = "invalid_value") => OpenAI(StatusCodes.Status400BadRequest, new ErrorDetail
    {
        Message = message,
        Type = "invalid_request_error",
        Param = param,
        Code = code,
    });

    public static IResult RateLimited(string model, int retryAfterSeconds) => new ErrorResult<ErrorResponse>(
        StatusCodes.Status429TooManyRequests,
        new ErrorResponse(new ErrorDetail
        {
            Message = $"Rate limit reached for {model} in organization org-emulator on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in {retryAfterSeconds}s. Visit https://platform.openai.com/account/rate-limits to learn more.",
            Type = "requests",
            Code = "rate_limit_exceeded",
        }),
        EmulatorJsonContext.Wire.ErrorResponse,
        new Dictionary<string, string>
        {
            ["Retry-After"] = retryAfterSeconds.ToString(CultureInfo.InvariantCulture),
            ["x-ratelimit-limit-requests"] = "3",
            ["x-ratelimit-remaining-requests"] = "0",
            ["x-ratelimit-reset-requests"] = $"{retryAfterSeconds}s",
            ["x-ratelimit-limit-tokens"] = "200000",
            ["x-ratelimit-remaining-tokens"] = "199000",
            ["x-ratelimit-reset-tokens"] = "300ms",
        });

    public static IResult ServerError() => OpenAI(StatusCodes.Status500InternalServerError, new ErrorDetail
    {
        Message = "The server had an error while processing your request. Sorry about that!",
        Type = "server_error",
    });

    /// <summary>OpenAI's 403 for a key that may not be used from where the request comes.</summary>
    public static IResult Forbidden() => OpenAI(StatusCodes.Status403Forbidden, new ErrorDetail
    {
        Message = "Country, region, or territory not supported",
        Type = "request_forbidden",
        Code = "unsupported_country_region_territory",
    });

    public static IResult PromptFiltered() => OpenAI(StatusCodes.Status400BadRequest, new ErrorDetail
    {
        Message = "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
        Type = null,
        Param = "prompt",
        Code = "content_filter",
        Status = StatusCodes.Status400BadRequest,
        InnerError = new InnerError("ResponsibleAIPolicyViolation", ContentFilterResults.FilteredViolence with
        {
            Jailbreak = new DetectionVerdict(false, false),
        }),
    });

    public static IResult MissingApiVersion() => new ErrorResult<AzureErrorResponse>(
        StatusCodes.Status400BadRequest,
        new AzureErrorResponse(new AzureErrorDetail(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.")),
        EmulatorJsonContext.Wire.AzureErrorResponse);

    /// <summary>Shows a key as OpenAI does: the first few and last few characters, the rest as stars.</summary>
    public static string Mask(string key) => key.Length switch
    {
        >= 12 => $"{key[..5]}{new string('*', key.Length - 8)}{key[^3..]}",
        >= 6 => $"{key[..2]}{new string('*', key.Length - 2)}",
        _ => new string('*', key.Length),
    };

    private static IResult OpenAI(int status, ErrorDetail error) =>
        new ErrorResult<ErrorResponse>(status, new ErrorResponse(error), EmulatorJsonContext.Wire.ErrorResponse);

    private sealed class ErrorResult<T>(int status, T body, JsonTypeInfo<T> typeInfo, IReadOnlyDictionary<string, string>? headers = null)
        : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => status;

        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            foreach (var (name, value) in headers ?? new Dictionary<string, string>())
            {
                response.Headers[name] = value;
            }

            response.StatusCode = status;
            response.ContentType = "application/json";
            await JsonSerializer.SerializeAsync(response.Body, body, typeInfo, httpContext.RequestAborted);
        }
    }
}
