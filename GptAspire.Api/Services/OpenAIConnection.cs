using System.Data.Common;

namespace GptAspire.Api.Services;

/// <summary>
/// The parsed <c>ConnectionStrings:openai</c>, in the shape of Aspire's OpenAI integrations:
/// <c>Endpoint=https://&lt;resource&gt;.openai.azure.com/;Key=&lt;key&gt;;Deployment=&lt;name&gt;</c> (Azure OpenAI;
/// without <c>Key</c>, Microsoft Entra ID) or <c>Endpoint=https://&lt;host&gt;/v1;Key=&lt;key&gt;;Model=&lt;name&gt;</c>
/// (OpenAI and compatible servers).
/// </summary>
public sealed record OpenAIConnection(Uri Endpoint, string? Key, string? Deployment, string Model)
{
    private static readonly string[] KnownFields = ["Endpoint", "Key", "Deployment", "Model"];

    /// <summary>Azure OpenAI's deployment routes are used when a deployment is named.</summary>
    public bool IsAzure => Deployment is not null;

    /// <summary>The model or deployment name that requests are sent to.</summary>
    public string TargetName => Deployment ?? Model;

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
