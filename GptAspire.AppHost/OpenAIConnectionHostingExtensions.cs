using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Configuration;

namespace GptAspire.Hosting;

/// <summary>
/// The local OpenAI emulator as an Aspire resource: a .NET project whose connection string has the same
/// shape as a real OpenAI one (<c>Endpoint=...;Key=...;Model=...</c>), like Azurite stands in for storage.
/// </summary>
public sealed class OpenAIEmulatorResource(string name, ParameterResource key, string model)
    : ProjectResource(name), IResourceWithConnectionString
{
    /// <summary>The secret key that callers must send; generated per machine.</summary>
    public ParameterResource Key { get; } = key;

    /// <summary>The model name the emulator answers as.</summary>
    public string Model { get; } = model;

    /// <summary>The emulator's HTTP endpoint.</summary>
    public EndpointReference HttpEndpoint => new(this, "http");

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"Endpoint={HttpEndpoint.Property(EndpointProperty.Url)}/v1;Key={Key};Model={Model}");
}

/// <summary>Adds the OpenAI connection: a real endpoint when one is configured, else the local emulator.</summary>
public static class OpenAIConnectionHostingExtensions
{
    /// <summary>The emulator's page of recent requests, and the route that clears it.</summary>
    public const string RecordedRequestsPath = "/_emulator/requests";

    /// <summary>
    /// Adds the OpenAI connection <paramref name="name"/>. In publish mode, or when
    /// <c>ConnectionStrings:{name}</c> is configured (user secrets or environment), it is that connection
    /// string (<c>Endpoint=...;Key=...;Deployment=...</c> for Azure OpenAI, <c>Endpoint=...;Key=...;Model=...</c>
    /// for OpenAI). Otherwise, in run mode, the local emulator answers under the same name, so that a fresh
    /// clone runs with no key and no network. Stands in for Aspire.Hosting.OpenAI's <c>AddOpenAI</c> (which
    /// takes a key parameter and has no emulator), named apart so that the package can be added beside it.
    /// </summary>
    public static IResourceBuilder<IResourceWithConnectionString> AddOpenAIConnection(this IDistributedApplicationBuilder builder, string name)
    {
        if (builder.ExecutionContext.IsPublishMode || !string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(name)))
        {
            return builder.AddConnectionString(name);
        }

        return builder.AddOpenAIEmulator(name);
    }

    /// <summary>
    /// Runs GptAspire.OpenAIEmulator as resource <paramref name="name"/> with a generated secret key. It is
    /// never published: deployments use a real endpoint. The dashboard links to its recorded requests and has
    /// a command that clears them.
    /// </summary>
    public static IResourceBuilder<OpenAIEmulatorResource> AddOpenAIEmulator(
        this IDistributedApplicationBuilder builder, string name, string model = "gpt-4o-mini")
    {
        var key = ParameterResourceBuilderExtensions.CreateGeneratedParameter(
            builder, $"{name}-emulator-key", secret: true, new GenerateParameterDefault { MinLength = 32, Special = false });

        var emulator = new OpenAIEmulatorResource(name, key, model);
        return builder.AddResource(emulator)
            .WithAnnotation<IProjectMetadata>(new Projects.GptAspire_OpenAIEmulator())
            .WithHttpEndpoint(name: "http", env: "ASPNETCORE_HTTP_PORTS")
            // AddProject's defaults are not applied to this resource: set the URL Kestrel listens on, so that an
            // ASPNETCORE_URLS inherited from the IDE or shell cannot move it off the allocated port.
            .WithEnvironment("ASPNETCORE_URLS", ReferenceExpression.Create(
                $"http://localhost:{emulator.HttpEndpoint.Property(EndpointProperty.TargetPort)}"))
            .WithOtlpExporter()
            .WithEnvironment("ASPNETCORE_ENVIRONMENT", "Development")
            .WithEnvironment("Emulator__ApiKey", key)
            .WithHttpHealthCheck("/health")
            .WithUrlForEndpoint("http", url => url.DisplayLocation = UrlDisplayLocation.DetailsOnly)
            .WithUrlForEndpoint("http", endpoint => new ResourceUrlAnnotation
            {
                Url = endpoint.Url + RecordedRequestsPath,
                DisplayText = "Recorded requests",
                Endpoint = endpoint,
            })
            .WithCommand("clear-recorded-requests", "Clear recorded requests", ClearRecordedRequestsAsync, new CommandOptions
            {
                Description = "Forgets the requests the emulator recorded so far.",
                IconName = "Delete",
                UpdateState = context => context.ResourceSnapshot.HealthStatus is Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy
                    ? ResourceCommandState.Enabled
                    : ResourceCommandState.Disabled,
            })
            .ExcludeFromManifest();

        async Task<ExecuteCommandResult> ClearRecordedRequestsAsync(ExecuteCommandContext context)
        {
            using var http = new HttpClient();
            using var response = await http.DeleteAsync(emulator.HttpEndpoint.Url + RecordedRequestsPath, context.CancellationToken);
            return response.IsSuccessStatusCode
                ? CommandResults.Success()
                : CommandResults.Failure($"The emulator answered {(int)response.StatusCode} {response.ReasonPhrase}.");
        }
    }
}
