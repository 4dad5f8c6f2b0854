using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace GptAspire.Api.Services.Tools;

/// <summary>
/// The tools offered to the model: every <see cref="AIFunction"/> registered with
/// <see cref="ChatToolsServiceCollectionExtensions.AddChatTool(IServiceCollection, Func{IServiceProvider, AIFunction})"/>,
/// or none when <c>Chat:Tools:Enabled</c> is off.
/// </summary>
public sealed class ChatTools
{
    private readonly Dictionary<string, AIFunction> _byName;

    public ChatTools(IEnumerable<ChatToolRegistration> registrations, IServiceProvider services, IOptions<ChatToolsOptions> options)
    {
        Functions = options.Value.Enabled ? [.. registrations.Select(registration => registration.Create(services))] : [];
        _byName = Functions.ToDictionary(function => function.Name, StringComparer.Ordinal);
    }

    /// <summary>The tools, in registration order; empty when tools are off.</summary>
    public IReadOnlyList<AIFunction> Functions { get; }

    /// <summary>The tool of that name, or null.</summary>
    public AIFunction? Find(string name) => _byName.GetValueOrDefault(name);
}

/// <summary>One tool registered for the model.</summary>
public sealed record ChatToolRegistration(Func<IServiceProvider, AIFunction> Create);

public static class ChatToolsServiceCollectionExtensions
{
    /// <summary>
    /// Offers a tool to the model in every answer, for example
    /// <c>services.AddChatTool(_ => AIFunctionFactory.Create((string city) => ..., "get_weather", "Gets the weather in a city."))</c>.
    /// </summary>
    public static IServiceCollection AddChatTool(this IServiceCollection services, Func<IServiceProvider, AIFunction> create) =>
        services.AddSingleton(new ChatToolRegistration(create));

    /// <inheritdoc cref="AddChatTool(IServiceCollection, Func{IServiceProvider, AIFunction})"/>
    public static IServiceCollection AddChatTool(this IServiceCollection services, AIFunction function) =>
        services.AddChatTool(_ => function);
}
