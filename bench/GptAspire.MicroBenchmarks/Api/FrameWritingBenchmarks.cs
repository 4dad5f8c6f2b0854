extern alias api;

using System.Text.Json.Serialization;
using BenchmarkDotNet.Attributes;
using api::GptAspire.Api.Models;
using api::GptAspire.Api.Services.Streams;
using api::GptAspire.Api.Extensions;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GptAspire.MicroBenchmarks.Api;

/// <summary>
/// Writing one SSE event's frame as the API does: the <c>token</c> event (every token) and the <c>start</c> event
/// (every answer, the largest payload), with the API's JSON options as the app configures them.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class FrameWritingBenchmarks
{
    private ChatStreamFrameWriter _writer = null!;

    /// <summary>
    /// Where the event types' JSON metadata comes from: reflection (the options' default resolver) or the
    /// source-generated <see cref="ChatJsonContext"/> first in the options' resolvers (as the API ships).
    /// </summary>
    [Params(Metadata.Reflection, Metadata.Generated)]
    public Metadata Json { get; set; }

    public enum Metadata
    {
        Reflection,
        Generated,
    }

    private readonly StartEvent _start = new("0123456789abcdef0123456789abcdef", "gpt-4o-mini", "0af7651916cd43dd8448eb211c80319c", 9, 128_000, 127_991, 15, null);

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        services.AddOptions();
        if (Json == Metadata.Reflection)
        {
            // The API's options before the context: reflection metadata for every type.
            services.ConfigureHttpJsonOptions(options => options.SerializerOptions.NumberHandling = JsonNumberHandling.Strict);
        }
        else
        {
            services.AddChatJsonOptions();
        }

        using var provider = services.BuildServiceProvider();
        _writer = new ChatStreamFrameWriter(provider.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions);
    }

    [Benchmark]
    public ChatStreamEvent TokenEvent() => _writer.Token(" Server");

    [Benchmark]
    public ChatStreamEvent StartEvent() => _writer.Event(ChatEventNames.Start, _start);
}
