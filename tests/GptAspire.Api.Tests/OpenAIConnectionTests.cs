using GptAspire.Api.Services.Upstream;


namespace GptAspire.Api.Tests;

public class OpenAIConnectionTests
{
    private const string Key = "test-key-0123456789abcdef";

    [Fact]
    public void Parses_an_OpenAI_connection_string()
    {
        var connection = OpenAIConnection.Parse($"Endpoint=https://api.openai.com/v1;Key={Key};Model=gpt-4o");

        Assert.Equal(new Uri("https://api.openai.com/v1"), connection.Endpoint);
        Assert.Equal("gpt-4o", connection.Model);
        Assert.False(connection.IsAzure);
    }

    [Fact]
    public void Parses_an_Azure_connection_string_with_and_without_a_key()
    {
        var withKey = OpenAIConnection.Parse($"Endpoint=https://contoso.openai.azure.com/;Key={Key};Deployment=chat");
        var entra = OpenAIConnection.Parse("endpoint=https://contoso.openai.azure.com/;deployment=chat");

        Assert.True(withKey.IsAzure);
        Assert.Equal("chat", withKey.TargetName);
        Assert.Null(entra.Key);
        Assert.True(entra.IsAzure);
    }

    [Theory]
    [InlineData("https://contoso.openai.azure.com/", "https://contoso.openai.azure.com/openai/v1")]
    [InlineData("https://contoso.openai.azure.com", "https://contoso.openai.azure.com/openai/v1")]
    [InlineData("https://contoso.openai.azure.com/openai/v1/", "https://contoso.openai.azure.com/openai/v1/")]
    [InlineData("https://contoso.cognitiveservices.azure.com/openai/v1", "https://contoso.cognitiveservices.azure.com/openai/v1")]
    public void Azure_OpenAI_is_called_on_the_resources_v1_endpoint(string endpoint, string expected)
    {
        var connection = OpenAIConnection.Parse($"Endpoint={endpoint};Key={Key};Deployment=chat");

        Assert.Equal(new Uri(expected), connection.ApiEndpoint);
        Assert.Equal("chat", connection.TargetName);
    }

    [Fact]
    public void An_OpenAI_endpoint_is_called_as_given()
    {
        var connection = OpenAIConnection.Parse($"Endpoint=https://api.openai.com/v1;Key={Key};Model=gpt-4o");

        Assert.Equal(new Uri("https://api.openai.com/v1"), connection.ApiEndpoint);
    }

    [Theory]
    [InlineData(null, "is not set")]
    [InlineData("", "is not set")]
    [InlineData("Key=abc;Model=gpt-4o", "'Endpoint'")]
    [InlineData("Endpoint=not a url;Key=abc;Model=gpt-4o", "'Endpoint'")]
    [InlineData("Endpoint=ftp://host/;Key=abc;Model=gpt-4o", "'Endpoint'")]
    [InlineData("Endpoint=https://host/v1;Key=abc", "'Deployment'")]
    [InlineData("Endpoint=https://host/v1;Model=gpt-4o", "'Key'")]
    [InlineData("Endpoint=https://host/v1;Key=abc;Modle=gpt-4o", "'Modle'")]
    public void A_bad_or_missing_field_is_a_clear_error_naming_it(string? connectionString, string expected)
    {
        var error = Assert.Throws<InvalidOperationException>(() => OpenAIConnection.Parse(connectionString));

        Assert.Contains(expected, error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("ConnectionStrings:openai", error.Message);
    }

    [Fact]
    public void The_key_never_appears_in_errors_or_in_ToString()
    {
        var error = Assert.Throws<InvalidOperationException>(() => OpenAIConnection.Parse($"Endpoint=https://host/v1;Key={Key};Modle=x"));
        var connection = OpenAIConnection.Parse($"Endpoint=https://host/v1;Key={Key};Model=x");

        Assert.DoesNotContain(Key, error.Message);
        Assert.DoesNotContain(Key, connection.ToString());
    }
}
