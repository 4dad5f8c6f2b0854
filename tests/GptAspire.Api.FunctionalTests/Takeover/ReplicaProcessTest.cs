namespace GptAspire.Api.FunctionalTests.Takeover;

/// <summary>A test over <see cref="ReplicaProcesses"/>: every replica and Redis run when it starts, whatever the last test did.</summary>
[Collection(ReplicaProcessesCollection.Name)]
public abstract class ReplicaProcessTest(ReplicaProcesses cluster) : IAsyncLifetime
{
    /// <summary>How long an answer may take to end across faults before the test fails.</summary>
    protected static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    protected static CancellationToken Timeout => TestContext.Current.CancellationToken;

    protected ReplicaProcesses Cluster => cluster;

    protected ApiProcess A => cluster.Replicas[0];

    protected ApiProcess B => cluster.Replicas[1];

    public async ValueTask InitializeAsync() => await cluster.EnsureAllRunningAsync();

    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
