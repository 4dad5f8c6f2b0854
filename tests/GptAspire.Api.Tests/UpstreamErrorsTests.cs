using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using GptAspire.Api.Models;
using GptAspire.Api.Services.Upstream;

namespace GptAspire.Api.Tests;

public class UpstreamErrorsTests
{
    private static ClientResultException Failure(HttpStatusCode status, string body, params (string Name, string Value)[] headers)
    {
        var response = new HttpResponseMessage(status) { Content = new StringContent(body) };
        foreach (var (name, value) in headers)
        {
            response.Headers.TryAddWithoutValidation(name, value);
        }

        // The same path the OpenAI SDK takes: a pipeline response over an HttpResponseMessage.
        var transport = new HttpClientPipelineTransport(new HttpClient(new StubHandler(response)));
        var message = transport.CreateMessage();
        message.Request.Uri = new Uri("http://localhost/v1/chat/completions");
        message.Request.Method = "POST";
        transport.Process(message);
        message.Response!.BufferContent();
        return new ClientResultException(message.Response);
    }

    [Fact]
    public void Rate_limit_carries_retry_after_seconds()
    {
        var error = UpstreamErrors.Map(Failure(HttpStatusCode.TooManyRequests,
            """{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}""", ("Retry-After", "7")));

        Assert.Equal(ChatErrorCodes.RateLimited, error.Code);
        Assert.Equal(7, error.RetryAfterSeconds);
        Assert.Contains("7 s", error.Message);
    }

    [Fact]
    public void Retry_after_ms_wins_and_rounds_up()
    {
        var error = UpstreamErrors.Map(Failure(HttpStatusCode.TooManyRequests, "{}", ("retry-after-ms", "1500"), ("Retry-After", "9")));
        Assert.Equal(2, error.RetryAfterSeconds);
    }

    [Fact]
    public void A_filtered_prompt_is_content_filtered_but_other_400s_are_not()
    {
        var filtered = UpstreamErrors.Map(Failure(HttpStatusCode.BadRequest,
            """{"error":{"message":"The response was filtered","type":null,"param":"prompt","code":"content_filter","status":400}}"""));
        var other = UpstreamErrors.Map(Failure(HttpStatusCode.BadRequest,
            """{"error":{"message":"bad","type":"invalid_request_error","code":null}}"""));

        Assert.Equal(ChatErrorCodes.ContentFiltered, filtered.Code);
        Assert.Equal(ChatErrorCodes.UpstreamError, other.Code);
    }

    [Theory]
    [InlineData(HttpStatusCode.InternalServerError, ChatErrorCodes.UpstreamError)]
    [InlineData(HttpStatusCode.GatewayTimeout, ChatErrorCodes.UpstreamTimeout)]
    [InlineData(HttpStatusCode.Unauthorized, ChatErrorCodes.UpstreamError)]
    public void Maps_status_codes(HttpStatusCode status, string code)
    {
        Assert.Equal(code, UpstreamErrors.Map(Failure(status, "{}")).Code);
    }

    [Fact]
    public void Connection_failures_are_upstream_unavailable()
    {
        Assert.Equal(ChatErrorCodes.UpstreamUnavailable, UpstreamErrors.Map(new HttpRequestException("refused")).Code);
        Assert.Equal(ChatErrorCodes.UpstreamUnavailable,
            UpstreamErrors.Map(new ClientResultException("failed", null, new HttpIOException(HttpRequestError.ResponseEnded))).Code);
    }

    [Fact]
    public void The_message_never_repeats_the_upstream_body()
    {
        var error = UpstreamErrors.Map(Failure(HttpStatusCode.Unauthorized,
            """{"error":{"message":"Incorrect API key provided: sk-abc***xyz","code":"invalid_api_key"}}"""));
        Assert.DoesNotContain("sk-abc", error.Message);
    }

    private sealed class StubHandler(HttpResponseMessage response) : HttpMessageHandler
    {
        protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken) => response;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(response);
    }
}
