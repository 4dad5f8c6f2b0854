using System.Text.Json;
using GptAspire.Api.Extensions;
using GptAspire.Api.Services.ClientLimits;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GptAspire.Api.Tests;

public class ClientGenerationLimiterTests
{
    [Fact]
    public void A_client_runs_at_most_its_limit_of_generations_until_one_ends()
    {
        using var limiter = new ClientGenerationLimiter(Options.Create(new ChatRateLimitOptions { ConcurrentGenerations = 2 }));

        using var first = limiter.TryAcquire("ip:203.0.113.1");
        var second = limiter.TryAcquire("ip:203.0.113.1");
        using var third = limiter.TryAcquire("ip:203.0.113.1");
        using var otherClient = limiter.TryAcquire("user:someone");

        Assert.True(first.IsAcquired);
        Assert.True(second.IsAcquired);
        Assert.False(third.IsAcquired);
        Assert.True(otherClient.IsAcquired);

        second.Dispose();
        using var afterOneEnded = limiter.TryAcquire("ip:203.0.113.1");
        Assert.True(afterOneEnded.IsAcquired);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Too_many_generations_is_a_429_problem_with_Retry_After()
    {
        var context = new DefaultHttpContext
        {
            RequestServices = new ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider(),
            Response = { Body = new MemoryStream() },
        };

        await ClientLimitsExtensions.TooManyGenerations().ExecuteAsync(context);

        Assert.Equal(429, context.Response.StatusCode);
        Assert.Equal("5", context.Response.Headers.RetryAfter.ToString());
        Assert.Equal("application/problem+json", context.Response.ContentType);
        context.Response.Body.Position = 0;
        var problem = await JsonDocument.ParseAsync(context.Response.Body, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(5, problem.RootElement.GetProperty("retryAfterSeconds").GetInt32());
        Assert.Contains("answered at once", problem.RootElement.GetProperty("detail").GetString());
    }
}
