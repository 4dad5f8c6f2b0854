using System.ClientModel;
using System.ClientModel.Primitives;
using System.Data.Common;
using Azure.Identity;
using OpenAI;

namespace GptAspire.Api.Services.Upstream;

/// <summary>
/// The parsed <c>ConnectionStrings:openai</c>, in the shape of Aspire's OpenAI integrations:
/// <c>Endpoint=https://&lt;resource&gt;.openai.azure.com/;Key=&lt;key&gt;;Deployment=&lt;name&gt;</c> (Azure OpenAI;
/// without <c>Key</c>, Microsoft Entra ID) or <c>Endpoint=https://&lt;host&gt;/v1;Key=&lt;key&gt;;Model=&lt;name&gt;</c>
/// (OpenAI and compatible servers).
/// </summary>
public sealed record OpenAIConnection(Uri Endpoint, string? Key, string? Deployment, string Model)
{
    private static readonly string[] KnownFields = ["Endpoint", "Key", "Deployment", "Model"];

    /// <summary>An Azure OpenAI resource: a deployment is named.</summary>
    public bool IsAzure => Deployment is not null;

    /// <summary>
    /// The OpenAI-style base URL that requests go to. For Azure OpenAI that is the resource's <c>/openai/v1</c>
    /// endpoint, which takes the plain OpenAI API with the deployment as the model, and needs no api-version.
    /// </summary>
    public Uri ApiEndpoint => IsAzure && !Endpoint.AbsolutePath.TrimEnd('/').EndsWith("/openai/v1", StringComparison.OrdinalIgnoreCase)
        ? new Uri(new Uri(Endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/"), "openai/v1")
        : Endpoint;

    /// <summary>The model or deployment name that requests are sent to.</summary>
    public string TargetName => Deployment ?? Model;

    /// <summary>
    /// An OpenAI SDK client for <see cref="ApiEndpoint"/>, signed in with the key, or without one (Azure OpenAI
    /// only) with Microsoft Entra ID through <see cref="DefaultAzureCredential"/>. <paramref name="options"/>'s
    /// endpoint is set here.
    /// </summary>
    public OpenAIClient CreateClient(OpenAIClientOptions options)
    {
        options.Endpoint = ApiEndpoint;
        if (Key is { } key)
        {
            return new OpenAIClient(new ApiKeyCredential(key), options);
        }

        // The constructor that takes an authentication policy is marked for evaluation; it is how the OpenAI SDK
        // signs in to Azure OpenAI's v1 endpoint with Microsoft Entra ID, without Azure.AI.OpenAI.
#pragma warning disable OPENAI001
        return new OpenAIClient(new BearerTokenPolicy(new DefaultAzureCredential(), AzureOpenAIScope), options);
#pragma warning restore OPENAI001
    }

    /// <summary>The Microsoft Entra ID scope of Azure OpenAI (Cognitive Services).</summary>
    public const string AzureOpenAIScope = "https://cognitiveservices.azure.com/.default";

    /// <summary>
    /// Parses a connection string. Every problem is an <see cref="InvalidOperationException"/> that names
    /// the field; the message never repeats the connection string, because it holds the key.
    /// </summary>
    public static OpenAIConnection Parse(string? connectionString, string name = "openai")
    {
        var where = $"The connection string 'ConnectionStrings:{name}'";
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"{where} is not set. Run the app through GptAspire.AppHost (it starts the local OpenAI emulator), " +
                "or set it to 'Endpoint=https://<host>/v1;Key=<key>;Model=<model>' (OpenAI) or " +
                "'Endpoint=https://<resource>.openai.azure.com/;Key=<key>;Deployment=<deployment>' (Azure OpenAI).");
        }

        var builder = new DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = connectionString;
        }
        catch (ArgumentException)
        {
            throw new InvalidOperationException($"{where} is not a list of 'Field=value' pairs separated by ';'.");
        }

        foreach (string field in builder.Keys)
        {
            if (!KnownFields.Contains(field, StringComparer.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException(
                    $"{where} has an unknown field '{field}'. Known fields: {string.Join(", ", KnownFields)}.");
            }
        }

        var endpointText = Get(builder, "Endpoint")
            ?? throw new InvalidOperationException($"{where} has no 'Endpoint' field.");
        if (!Uri.TryCreate(endpointText, UriKind.Absolute, out var endpoint)
            || (endpoint.Scheme != Uri.UriSchemeHttps && endpoint.Scheme != Uri.UriSchemeHttp))
        {
            throw new InvalidOperationException($"{where} has an 'Endpoint' that is not an absolute http(s) URL.");
        }

        var key = Get(builder, "Key");
        var deployment = Get(builder, "Deployment");
        var model = Get(builder, "Model");

        if (deployment is null && model is null)
        {
            throw new InvalidOperationException(
                $"{where} needs a 'Deployment' field (Azure OpenAI) or a 'Model' field (OpenAI and compatible servers).");
        }

        if (deployment is null && key is null)
        {
            throw new InvalidOperationException(
                $"{where} has no 'Key' field; OpenAI-style endpoints need one (only Azure OpenAI deployments can use Microsoft Entra ID).");
        }

        return new OpenAIConnection(endpoint, key, deployment, model ?? deployment!);
    }

    private static string? Get(DbConnectionStringBuilder builder, string field) =>
        builder.TryGetValue(field, out var value) && value is string text && !string.IsNullOrWhiteSpace(text)
            ? text.Trim()
            : null;

    // The key must never appear in logs or exception messages, and records print their members.
    public override string ToString() => $"{nameof(OpenAIConnection)} {{ Endpoint = {Endpoint}, Deployment = {Deployment}, Model = {Model}, Key = {(Key is null ? "(none)" : "***")} }}";
}
