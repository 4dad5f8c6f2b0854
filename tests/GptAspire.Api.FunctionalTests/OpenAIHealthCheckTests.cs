using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GptAspire.Api.FunctionalTests;

/// <summary>
/// With a real OpenAI connection (not the emulator the AppHost starts), <c>/health</c> asks the endpoint for its
/// models, so that a wrong key shows at start-up, named, rather than on the first chat.
/// </summary>
public class OpenAIHealthCheckTests(ApiFixture fixture)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_key_the_endpoint_accepts_is_healthy_on_the_OpenAI_and_the_Azure_v1_routes()
    {
        using var openAI = await fixture.Api.GetAsync("/health", Timeout);
        using var azure = await fixture.AzureApi.GetAsync("/health", Timeout);

        Assert.Equal(HttpStatusCode.OK, openAI.StatusCode);
        Assert.Equal(HttpStatusCode.OK, azure.StatusCode);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_wrong_key_makes_the_api_unhealthy_with_a_message_that_names_the_field_and_not_the_key()
    {
        using var response = await fixture.WrongKeyApi.GetAsync("/health", Timeout);
        var report = await fixture.WrongKeyApiServices.GetRequiredService<HealthCheckService>().CheckHealthAsync(Timeout);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("Unhealthy", await response.Content.ReadAsStringAsync(Timeout));
        var openai = report.Entries["openai"];
        Assert.Equal(HealthStatus.Unhealthy, openai.Status);
        Assert.Contains("rejected the key in ConnectionStrings:openai (401)", openai.Description);
        Assert.Contains("'Key'", openai.Description);
        Assert.DoesNotContain(ApiFixture.WrongKey, openai.Description);
        Assert.DoesNotContain(ApiFixture.WrongKey[..8], openai.Description);
        Assert.Null(openai.Exception);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task An_endpoint_without_the_OpenAI_API_or_that_nobody_answers_is_named_as_the_problem()
    {
        var noApi = $"Endpoint={new Uri(fixture.EmulatorAddress, "not-openai/v1")};Key={ApiFixture.Key};Model=gpt-4o-mini";
        var nobody = $"Endpoint=http://127.0.0.1:9/v1;Key={ApiFixture.Key};Model=gpt-4o-mini";

        var wrongPath = await CheckAsync(noApi);
        var unreachable = await CheckAsync(nobody);

        Assert.Equal(HealthStatus.Unhealthy, wrongPath.Status);
        Assert.Contains("has no OpenAI API (404 on its model list): check the 'Endpoint' field", wrongPath.Description);
        Assert.Equal(HealthStatus.Unhealthy, unreachable.Status);
        Assert.Contains("http://127.0.0.1:9/v1 cannot be reached", unreachable.Description);
        Assert.All([wrongPath, unreachable], e => Assert.DoesNotContain(ApiFixture.Key, e.Description));
    }

    private async Task<HealthReportEntry> CheckAsync(string connectionString)
    {
        var (client, server) = fixture.StartApi(new Dictionary<string, string> { ["ConnectionStrings:openai"] = connectionString });
        await using (server)
        using (client)
        {
            using var response = await client.GetAsync("/health", Timeout);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            var services = ((Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program>)server).Services;
            return (await services.GetRequiredService<HealthCheckService>().CheckHealthAsync(Timeout)).Entries["openai"];
        }
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_liveness_endpoint_does_not_depend_on_the_key()
    {
        using var response = await fixture.WrongKeyApi.GetAsync("/alive", Timeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
