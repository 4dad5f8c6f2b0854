namespace GptAspire.Api.Services.Streams;

/// <summary>One replica: nothing is shared, every event is for this process's readers only.</summary>
public sealed class InMemoryChatStreamBackplane : IChatStreamBackplane
{
    public string? ReplicaId => null;

    public bool CanHandOver => false;

    public Task StartAsync(IChatStreamHost host) => Task.CompletedTask;

    public ValueTask CreatedAsync(ChatStreamBuffer stream, StoredGeneration generation, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public void Appended(ChatStreamBuffer stream)
    {
    }

    public ValueTask<ChatStreamBuffer?> OpenMirrorAsync(string requestId, string? principal, CancellationToken cancellationToken) => ValueTask.FromResult<ChatStreamBuffer?>(null);

    public void MirrorClosed(ChatStreamBuffer mirror)
    {
    }

    public ValueTask<StopOutcome> StopAsync(string requestId, string? principal, CancellationToken cancellationToken) => ValueTask.FromResult(StopOutcome.NotFound);

    public bool IsReadElsewhere(ChatStreamBuffer stream) => false;

    public Task<bool> HandOverAsync(ChatStreamBuffer stream) => Task.FromResult(false);
}
