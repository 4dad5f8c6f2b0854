using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using GptAspire.OpenAIEmulator.Tests.Infrastructure;
using OpenAI;
using OpenAI.Chat;

namespace GptAspire.OpenAIEmulator.Tests;

/// <summary>
/// The official OpenAI client, over real HTTP, cannot tell the emulator from the service, on OpenAI's route and
/// on Azure OpenAI's <c>/openai/v1</c> route (with a key or a Microsoft Entra ID token), which is how the API
/// calls Azure OpenAI. Azure's classic deployment route is checked over raw HTTP against the same answer.
/// </summary>
public sealed class SdkCompatibilityTests(EmulatorFixture emulator)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private static ChatMessage[] Conversation(string question) =>
        [new SystemChatMessage("You are a helpful assistant."), new UserChatMessage(question)];

    [Fact(Timeout = Bounds.TestMs)]
    public async Task OpenAIClientStreamsTheSameTextItGetsWholeAndReportsUsage()
    {
        var client = OpenAIChatClient("/v1");

        await AssertStreamMatchesWholeReplyAsync(client, "How do I page through results in a REST API?");
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task OpenAIClientWorksOnAzuresV1Route()
    {
        var client = OpenAIChatClient("/openai/v1");

        await AssertStreamMatchesWholeReplyAsync(client, "What does a load balancer do?");
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task OpenAIClientWithABearerTokenPolicyWorksOnAzuresV1Route()
    {
        // As with Microsoft Entra ID: a token from a provider, sent as a bearer token (the emulator takes its key).
        var tokens = new FixedTokenProvider(EmulatorFactory.ApiKey);
        // The policy refuses to send a token other than over https, as to Azure; the emulator speaks plain http.
        var https = new UriBuilder(new Uri(emulator.BaseAddress, "/openai/v1")) { Scheme = "https" }.Uri;
        var options = new OpenAIClientOptions { Endpoint = https, Transport = new HttpClientPipelineTransport(new HttpClient(new DowngradeToHttp())) };
#pragma warning disable OPENAI001 // The authentication-policy constructor is marked for evaluation; the API uses it for Entra ID.
        var client = new ChatClient("gpt-4o-mini", new BearerTokenPolicy(tokens, "https://cognitiveservices.azure.com/.default"), options);
#pragma warning restore OPENAI001

        await AssertStreamMatchesWholeReplyAsync(client, "What is a message broker?");
        Assert.True(tokens.Requests > 0);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task TheDeploymentRouteStreamsOverRawHttpWhatTheClientGetsOnTheV1Route()
    {
        const string question = "Explain eventual consistency";
        ChatCompletion viaV1 = await OpenAIChatClient("/openai/v1").CompleteChatAsync(Conversation(question), cancellationToken: Cancellation);

        using var http = emulator.CreateHttpClient(withKey: false);
        using var request = Chat.Post(Chat.AzureDeploymentPath, Chat.Body(question, stream: true, includeUsage: true));
        Chat.AddApiKeyHeader(request, EmulatorFactory.ApiKey);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Cancellation);
        var payloads = await Chat.EventsAsync(response);

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("[DONE]", payloads[^1]);
        var chunks = Chat.Chunks(payloads);
        Assert.Equal(viaV1.Content[0].Text, Chat.Text(chunks));
        Assert.Equal(viaV1.Usage.OutputTokenCount, chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task OpenAIClientSeesFinishReasonLengthAtMaxOutputTokens()
    {
        var client = OpenAIChatClient("/v1");

        ChatCompletion completion = await client.CompleteChatAsync(
            Conversation("Explain load shedding"), new ChatCompletionOptions { MaxOutputTokenCount = 12 }, Cancellation);

        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(12, completion.Usage.OutputTokenCount);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task OpenAIClientSeesFinishReasonContentFilter()
    {
        var client = OpenAIChatClient("/v1");
        ChatFinishReason? finishReason = null;

        await foreach (var update in client.CompleteChatStreamingAsync(Conversation("a story [emulator:content-filter]"), cancellationToken: Cancellation))
        {
            finishReason ??= update.FinishReason;
        }

        Assert.Equal(ChatFinishReason.ContentFilter, finishReason);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task OpenAIClientReportsAWrongKeyAs401()
    {
        var client = new ChatClient("gpt-4o-mini", new ApiKeyCredential("wrong-key-0000000000"),
            new OpenAIClientOptions { Endpoint = new Uri(emulator.BaseAddress, "/v1") });

        var failure = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync(Conversation("hello"), cancellationToken: Cancellation));

        Assert.Equal(401, failure.Status);
        Assert.Contains("Incorrect API key provided", failure.Message);
    }

    private ChatClient OpenAIChatClient(string basePath) => new(
        "gpt-4o-mini",
        new ApiKeyCredential(EmulatorFactory.ApiKey),
        new OpenAIClientOptions { Endpoint = new Uri(emulator.BaseAddress, basePath) });

    private static async Task AssertStreamMatchesWholeReplyAsync(ChatClient client, string question)
    {
        ChatCompletion whole = await client.CompleteChatAsync(Conversation(question), cancellationToken: Cancellation);

        var streamed = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finishReason = null;
        var updates = 0;
        await foreach (var update in client.CompleteChatStreamingAsync(Conversation(question), cancellationToken: Cancellation))
        {
            updates++;
            foreach (var part in update.ContentUpdate)
            {
                streamed.Append(part.Text);
            }

            usage ??= update.Usage;
            finishReason ??= update.FinishReason;
        }

        Assert.Equal(ChatFinishReason.Stop, whole.FinishReason);
        Assert.Equal(ChatMessageRole.Assistant, whole.Role);
        Assert.Equal(whole.Content[0].Text, streamed.ToString());
        Assert.Equal(ChatFinishReason.Stop, finishReason);
        Assert.True(updates > whole.Usage.OutputTokenCount, "one update per token at least");
        Assert.InRange(whole.Usage.OutputTokenCount, 120, 250);
        Assert.True(whole.Usage.InputTokenCount > 10);
        Assert.Equal(whole.Usage.InputTokenCount + whole.Usage.OutputTokenCount, whole.Usage.TotalTokenCount);
        Assert.NotNull(usage);
        Assert.Equal(whole.Usage.OutputTokenCount, usage.OutputTokenCount);
        Assert.Equal(whole.Usage.InputTokenCount, usage.InputTokenCount);
    }

    private sealed class DowngradeToHttp() : DelegatingHandler(new SocketsHttpHandler())
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.RequestUri = new UriBuilder(request.RequestUri!) { Scheme = "http" }.Uri;
            return base.SendAsync(request, cancellationToken);
        }
    }

    private sealed class FixedTokenProvider(string token) : AuthenticationTokenProvider
    {
        public int Requests { get; private set; }

        public override GetTokenOptions? CreateTokenOptions(IReadOnlyDictionary<string, object> properties) => new(properties);

        public override AuthenticationToken GetToken(GetTokenOptions options, CancellationToken cancellationToken)
        {
            Requests++;
            return new AuthenticationToken(token, "Bearer", DateTimeOffset.UtcNow.AddHours(1));
        }

        public override ValueTask<AuthenticationToken> GetTokenAsync(GetTokenOptions options, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(options, cancellationToken));
    }
}
