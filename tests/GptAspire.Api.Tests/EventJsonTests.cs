using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using GptAspire.Api.Extensions;
using GptAspire.Api.Models;
using GptAspire.Api.Services.Streams;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GptAspire.Api.Tests;

public class EventJsonTests
{
    [Fact(Timeout = Bounds.TestMs)]
    public void Every_event_has_the_same_bytes_from_source_generated_metadata_as_from_reflection()
    {
        var api = Options(services => services.AddChatJsonOptions());
        Assert.All(
            new[] { typeof(StartEvent), typeof(TokenEvent), typeof(ToolCallEvent), typeof(ToolResultEvent), typeof(UsageEvent), typeof(FinishEvent), typeof(ErrorEvent) },
            type => Assert.Same(ChatJsonContext.Default, api.GetTypeInfo(type).OriginatingResolver));
        var generated = new ChatStreamFrameWriter(api);
        // The API's options as they were before the context: ASP.NET Core's defaults, reflection metadata for every type.
        var reflected = new ChatStreamFrameWriter(Options(services =>
            services.ConfigureHttpJsonOptions(options => options.SerializerOptions.NumberHandling = JsonNumberHandling.Strict)));
        var arguments = JsonDocument.Parse("""{"expression":"2 < 3 && \"x\"","n":1.50}""").RootElement;
        const string awkward = "<b>\"quoted\" & 'single' `code` é 😀 \u0001\n";

        Assert.Equal("event: token\ndata: {\"text\":\"<b>\"}\nid: 0\n\n", Encoding.UTF8.GetString(generated.Token("<b>").Frame.Span));
        reflected.Token("");

        var pairs = new (ChatStreamEvent Generated, ChatStreamEvent Reflected)[]
        {
            (generated.Token(awkward), reflected.Token(awkward)),
            Both(ChatEventNames.Start, new StartEvent("id", "gpt-4o-mini", "trace", 9, 128_000, 127_991, 15, null)),
            Both(ChatEventNames.Start, new StartEvent("id", "gpt-4o-mini", "trace", 9, 128_000, 127_991, 15, 500)),
            Both(ChatEventNames.ToolCall, new ToolCallEvent("call_1", "calculate", arguments)),
            Both(ChatEventNames.ToolCall, new ToolCallEvent("call_1", "calculate", null)),
            Both(ChatEventNames.ToolResult, new ToolResultEvent("call_1", "calculate", arguments, null, 12)),
            Both(ChatEventNames.ToolResult, new ToolResultEvent("call_1", "calculate", null, awkward, 0)),
            Both(ChatEventNames.Usage, new UsageEvent(9, 200, 209, 127_791)),
            Both(ChatEventNames.Finish, new FinishEvent(FinishReasons.Stop)),
            Both(ChatEventNames.Error, new ErrorEvent(ChatErrorCodes.RateLimited, awkward, 30)),
            Both(ChatEventNames.Error, new ErrorEvent(ChatErrorCodes.UpstreamError, "failed")),
        };

        foreach (var (fromGenerated, fromReflection) in pairs)
        {
            Assert.Equal(Encoding.UTF8.GetString(fromReflection.Frame.Span), Encoding.UTF8.GetString(fromGenerated.Frame.Span));
        }

        (ChatStreamEvent, ChatStreamEvent) Both<T>(string name, T data) => (generated.Event(name, data), reflected.Event(name, data));
    }

    private static JsonSerializerOptions Options(Action<IServiceCollection> configure)
    {
        var services = new ServiceCollection();
        services.AddOptions();
        configure(services);
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
    }
}
