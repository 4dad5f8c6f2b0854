using GptAspire.Api.Models;
using GptAspire.Api.Services.Chat;

namespace GptAspire.Api.Tests;

public class ChatRequestValidatorTests
{
    private static ChatRequest Request(params (string? Role, string? Content)[] messages) =>
        new(messages.Select(m => new ChatRequestMessage(m.Role, m.Content)).ToList(), null, null);

    [Fact]
    public void A_user_question_is_valid()
    {
        Assert.Empty(ChatRequestValidator.Validate(Request(("system", "Be brief."), ("user", "Hello"))));
    }

    [Fact]
    public void Names_every_bad_field_by_its_json_path()
    {
        var request = Request(("user", "Hi"), ("robot", "x"), ("user", "  ")) with { MaxTokens = 0, Temperature = 2.5 };

        var errors = ChatRequestValidator.Validate(request);

        Assert.Equal(["maxTokens", "messages[1].role", "messages[2].content", "temperature"], errors.Keys.Order());
        Assert.Contains("robot", errors["messages[1].role"][0]);
    }

    [Fact]
    public void No_messages_is_an_error_on_messages()
    {
        Assert.Contains("messages", ChatRequestValidator.Validate(new ChatRequest(null, null, null)).Keys);
        Assert.Contains("messages", ChatRequestValidator.Validate(new ChatRequest([], null, null)).Keys);
    }

    [Fact]
    public void The_conversation_must_not_end_with_the_assistant()
    {
        var errors = ChatRequestValidator.Validate(Request(("user", "Hi"), ("assistant", "Hello!")));
        Assert.Contains("assistant", Assert.Single(errors["messages"]));
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(16384, true)]
    [InlineData(16385, false)]
    [InlineData(-3, false)]
    public void MaxTokens_range(int maxTokens, bool valid)
    {
        var errors = ChatRequestValidator.Validate(Request(("user", "Hi")) with { MaxTokens = maxTokens });
        Assert.Equal(valid, !errors.ContainsKey("maxTokens"));
    }

    [Fact]
    public void A_prompt_that_fills_the_context_window_is_refused_on_messages()
    {
        var errors = ChatRequestValidator.ValidateBudget(promptTokens: 8192, maxTokens: null, contextWindow: 8192);
        Assert.Contains("8192 tokens", Assert.Single(errors["messages"]));
    }

    [Fact]
    public void MaxTokens_beyond_what_is_left_is_refused_on_maxTokens()
    {
        var errors = ChatRequestValidator.ValidateBudget(promptTokens: 8000, maxTokens: 500, contextWindow: 8192);
        Assert.Contains("192 tokens are left", Assert.Single(errors["maxTokens"]));
        Assert.Empty(ChatRequestValidator.ValidateBudget(promptTokens: 8000, maxTokens: 192, contextWindow: 8192));
    }
}
