namespace GptAspire.Api.Services.Tools;

/// <summary>
/// Thrown by a tool for input it cannot use (an unknown time zone, a division by zero). Its message is written for
/// the model and the person reading the answer, so it is passed on as the call's error; any other exception is not.
/// </summary>
public sealed class ToolInputException(string message) : Exception(message);
