using System.Runtime.CompilerServices;
using GptAspire.Api.Services.Upstream;
using Microsoft.Extensions.AI;

namespace GptAspire.Api.Tests;

public class CompactUpdatesChatClientTests
{
    [Fact(Timeout = Bounds.TestMs)]
    public async Task Tokens_come_through_whole_and_in_order_without_raw_objects_or_per_token_copies_of_the_ids()
    {
        using var client = new CompactUpdatesChatClient(new ChunkedAnswer());

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Hi")], cancellationToken: TestContext.Current.CancellationToken))
        {
            updates.Add(update);
        }

        var response = updates.ToChatResponse();
        Assert.Equal("Hello, world!", response.Text);
        Assert.Equal("chatcmpl-1", response.ResponseId);
        Assert.Equal("gpt-4o-mini-2024-07-18", response.ModelId);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(12, response.Usage?.TotalTokenCount);

        Assert.All(updates, update => Assert.Null(update.RawRepresentation));
        Assert.All(updates.SelectMany(update => update.Contents), content => Assert.Null(content.RawRepresentation));
        var tokens = updates.Where(update => update.Text.Length > 0).ToList();
        Assert.Equal(["Hello", ",", " world", "!"], tokens.Select(update => update.Text));
        Assert.All(tokens, update =>
        {
            Assert.Same(tokens[0].ResponseId, update.ResponseId);
            Assert.Same(tokens[0].MessageId, update.MessageId);
            Assert.Same(tokens[0].ModelId, update.ModelId);
            Assert.Equal(ChatRole.Assistant, update.Role);
        });
    }

    // As Microsoft.Extensions.AI converts OpenAI's chunks: every chunk its own copies of the ids and its raw object.
    private sealed class ChunkedAnswer : IChatClient
    {
        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            foreach (var text in new[] { "Hello", ",", " world", "!" })
            {
                await Task.Yield();
                yield return Chunk(new TextContent(text) { RawRepresentation = new object() });
            }

            var finish = Chunk();
            finish.FinishReason = ChatFinishReason.Stop;
            yield return finish;
            yield return Chunk(new UsageContent(new UsageDetails { InputTokenCount = 8, OutputTokenCount = 4, TotalTokenCount = 12 }));
        }

        private static ChatResponseUpdate Chunk(params AIContent[] contents) => new(ChatRole.Assistant, [.. contents])
        {
            ResponseId = new string("chatcmpl-1".AsSpan()),
            MessageId = new string("chatcmpl-1".AsSpan()),
            ModelId = new string("gpt-4o-mini-2024-07-18".AsSpan()),
            CreatedAt = DateTimeOffset.UnixEpoch,
            RawRepresentation = new object(),
        };

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
