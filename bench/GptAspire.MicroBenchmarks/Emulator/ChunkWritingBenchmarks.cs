extern alias emulator;

using System.Buffers;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using emulator::GptAspire.OpenAIEmulator.Models;
using emulator::GptAspire.OpenAIEmulator.Services;

namespace GptAspire.MicroBenchmarks.Emulator;

/// <summary>
/// The emulator's cost of writing one token's <c>data:</c> event into the response buffer: the chunk
/// serialized whole per token (how it was written before) against <see cref="ChunkWriter"/>.
/// </summary>
[MemoryDiagnoser]
public class ChunkWritingBenchmarks
{
    private readonly ArrayBufferWriter<byte> _output = new(64 * 1024);
    private CompletionPlan _plan = null!;
    private ChunkWriter _writer = null!;
    private string[] _tokens = null!;
    private int _next;

    [Params(ChatRoute.OpenAI, ChatRoute.AzureDeployment)]
    public ChatRoute Route { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _tokens = [" Server", "-S", "ent", " Events", " keep", " one", " HTTP", " response", " open", ",", " and", " the", " server", " writes", " `data:`", " lines", "\n\n", "```csharp", " \"quoted\"", " <tag>"];
        _plan = new CompletionPlan
        {
            Id = "chatcmpl-" + new string('x', 29),
            Created = 1_764_000_000,
            Model = "gpt-4o-mini",
            Route = Route,
            Pieces = [],
            FinishReason = "stop",
            PromptTokens = 12,
            FirstTokenDelay = TimeSpan.FromMilliseconds(20),
            TokenDelay = TimeSpan.FromMilliseconds(20),
            IncludeUsage = true,
        };
        _writer = new ChunkWriter(_plan);
    }

    private string NextToken()
    {
        var token = _tokens[_next];
        _next = (_next + 1) % _tokens.Length;
        return token;
    }

    [Benchmark(Baseline = true, Description = "chunk object + JsonSerializer per token")]
    public int SerializeChunk()
    {
        _output.ResetWrittenCount();
        var chunk = ChatCompletionService.ContentChunk(_plan, NextToken());
        _output.Write("data: "u8);
        _output.Write(JsonSerializer.SerializeToUtf8Bytes(chunk, EmulatorJsonContext.WireWithNullUsage.ChatCompletionChunk));
        _output.Write("\n\n"u8);
        return _output.WrittenCount;
    }

    [Benchmark(Description = "ChunkWriter.WriteContent")]
    public int WriteContent()
    {
        _output.ResetWrittenCount();
        _writer.WriteContent(_output, NextToken());
        return _output.WrittenCount;
    }
}
