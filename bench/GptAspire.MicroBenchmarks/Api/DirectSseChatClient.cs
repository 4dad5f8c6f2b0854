using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace GptAspire.MicroBenchmarks.Api;

/// <summary>
/// The least an <see cref="IChatClient"/> over OpenAI's streamed chat completions can do, to weigh the OpenAI SDK
/// and its Microsoft.Extensions.AI adapter against: it POSTs to <c>/chat/completions</c> with <c>stream: true</c>,
/// splits the answer with the platform's <see cref="SseParser"/> and reads each chunk's id, model,
/// <c>choices[0].delta.content</c>, <c>finish_reason</c> and <c>usage</c> with a <see cref="Utf8JsonReader"/>, no SDK
/// objects. Text answers only (no tools, no errors' bodies): enough for the per-token path, not a product client.
/// </summary>
public sealed class DirectSseChatClient(HttpClient http, Uri endpoint, string apiKey, string model) : IChatClient
{
    private readonly Uri _completions = new(endpoint.AbsoluteUri.TrimEnd('/') + "/chat/completions");

    public async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _completions) { Content = Body(messages, options) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);

        var chunks = new ChunkReader();
        await foreach (var item in SseParser.Create(body, chunks.Read).EnumerateAsync(cancellationToken))
        {
            if (item.Data is null)
            {
                yield break;
            }

            yield return item.Data;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }

    private ByteArrayContent Body(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("model"u8, options?.ModelId ?? model);
            json.WriteStartArray("messages"u8);
            foreach (var message in messages)
            {
                json.WriteStartObject();
                json.WriteString("role"u8, message.Role.Value);
                json.WriteString("content"u8, message.Text);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            if (options?.MaxOutputTokens is { } maxTokens)
            {
                json.WriteNumber("max_completion_tokens"u8, maxTokens);
            }

            if (options?.Temperature is { } temperature)
            {
                json.WriteNumber("temperature"u8, temperature);
            }

            json.WriteBoolean("stream"u8, true);
            json.WriteStartObject("stream_options"u8);
            json.WriteBoolean("include_usage"u8, true);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        var content = new ByteArrayContent(buffer.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    // One per answer: every chunk repeats the answer's id and model, so their strings are made once.
    private sealed class ChunkReader
    {
        private string? _id;
        private string? _model;
        private DateTimeOffset? _created;
        private long _createdSeconds;

        // Null for [DONE], which ends the answer.
        public ChatResponseUpdate? Read(string eventType, ReadOnlySpan<byte> data)
        {
            if (data.SequenceEqual("[DONE]"u8))
            {
                return null;
            }

            var reader = new Utf8JsonReader(data);
            reader.Read();
            string? text = null, finishReason = null;
            var assistant = false;
            UsageDetails? usage = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    _id = Same(ref reader, _id);
                }
                else if (reader.ValueTextEquals("model"u8))
                {
                    reader.Read();
                    _model = Same(ref reader, _model);
                }
                else if (reader.ValueTextEquals("created"u8))
                {
                    reader.Read();
                    var seconds = reader.GetInt64();
                    if (_created is null || seconds != _createdSeconds)
                    {
                        _createdSeconds = seconds;
                        _created = DateTimeOffset.FromUnixTimeSeconds(seconds);
                    }
                }
                else if (reader.ValueTextEquals("choices"u8))
                {
                    reader.Read();
                    ReadChoices(ref reader, ref text, ref finishReason, ref assistant);
                }
                else if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    usage = ReadUsage(ref reader);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            var update = new ChatResponseUpdate
            {
                Role = ChatRole.Assistant,
                ResponseId = _id,
                MessageId = _id,
                ModelId = _model,
                CreatedAt = _created,
                FinishReason = finishReason switch
                {
                    null => null,
                    "stop" => ChatFinishReason.Stop,
                    "length" => ChatFinishReason.Length,
                    "content_filter" => ChatFinishReason.ContentFilter,
                    "tool_calls" => ChatFinishReason.ToolCalls,
                    _ => new ChatFinishReason(finishReason),
                },
            };
            if (text is { Length: > 0 } || assistant)
            {
                update.Contents.Add(new TextContent(text));
            }

            if (usage is not null)
            {
                update.Contents.Add(new UsageContent(usage));
            }

            return update;
        }

        private static string? Same(ref Utf8JsonReader reader, string? kept) =>
            reader.TokenType != JsonTokenType.String ? null : kept is not null && reader.ValueTextEquals(kept) ? kept : reader.GetString();

        private static void ReadChoices(ref Utf8JsonReader reader, ref string? text, ref string? finishReason, ref bool assistant)
        {
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                reader.Skip();
                return;
            }

            var first = true;
            while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
            {
                if (!first)
                {
                    reader.Skip();
                    continue;
                }

                first = false;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("delta"u8))
                    {
                        reader.Read();
                        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                        {
                            if (reader.ValueTextEquals("content"u8))
                            {
                                reader.Read();
                                text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                            }
                            else if (reader.ValueTextEquals("role"u8))
                            {
                                reader.Read();
                                assistant = reader.TokenType == JsonTokenType.String;
                            }
                            else
                            {
                                reader.Read();
                                reader.Skip();
                            }
                        }
                    }
                    else if (reader.ValueTextEquals("finish_reason"u8))
                    {
                        reader.Read();
                        finishReason = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
            }
        }

        private static UsageDetails? ReadUsage(ref Utf8JsonReader reader)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            var usage = new UsageDetails();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("prompt_tokens"u8))
                {
                    reader.Read();
                    usage.InputTokenCount = reader.GetInt64();
                }
                else if (reader.ValueTextEquals("completion_tokens"u8))
                {
                    reader.Read();
                    usage.OutputTokenCount = reader.GetInt64();
                }
                else if (reader.ValueTextEquals("total_tokens"u8))
                {
                    reader.Read();
                    usage.TotalTokenCount = reader.GetInt64();
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            return usage;
        }
    }
}
