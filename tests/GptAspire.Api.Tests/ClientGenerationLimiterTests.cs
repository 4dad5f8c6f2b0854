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
    public async Task A_client_runs_at_most_its_limit_of_generations_until_one_ends()
    {
        using var limiter = new InMemoryClientGenerationLimiter(Options.Create(new ChatRateLimitOptions { ConcurrentGenerations = 2 }));
        var ct = TestContext.Current.CancellationToken;

        using var first = await limiter.TryAcquireAsync("ip:203.0.113.1", ct);
        var second = await limiter.TryAcquireAsync("ip:203.0.113.1", ct);
        using var third = await limiter.TryAcquireAsync("ip:203.0.113.1", ct);
        using var otherClient = await limiter.TryAcquireAsync("user:someone", ct);

        Assert.True(first.IsAcquired);
        Assert.True(second.IsAcquired);
        Assert.False(third.IsAcquired);
        Assert.True(otherClient.IsAcquired);

        second.Dispose();
        using var afterOneEnded = await limiter.TryAcquireAsync("ip:203.0.113.1", ct);
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
