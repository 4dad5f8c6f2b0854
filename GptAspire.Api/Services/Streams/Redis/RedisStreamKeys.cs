using StackExchange.Redis;

namespace GptAspire.Api.Services.Streams.Redis;

/// <summary>
/// The Redis keys and channels of shared streams, and the one rule for how long each lives. Every key has a time to
/// live, set by the same write that makes it: nothing is left behind when a replica dies or Redis loses its data.
/// </summary>
/// <remarks>
/// <list type="table">
/// <item><term><c>gptaspire:stream:{id}</c></term><description>A Redis stream: one entry per event, entry id
/// <c>{eventId}-1</c>, field <c>f</c> = the SSE frame. Live: <see cref="ChatStreamsOptions.LiveKeyLifetime"/>,
/// renewed by every append; ended: <see cref="ChatStreamsOptions.RetainFor"/>.</description></item>
/// <item><term><c>gptaspire:stream:{id}:meta</c></term><description>A hash: <c>owner</c> (replica id),
/// <c>epoch</c> (fencing: bumped by every takeover), <c>next</c> (the next event id), <c>at</c> (ms of the last
/// append), <c>state</c> (<c>live</c> | <c>handoff</c> | <c>ended</c>), <c>stop</c>, <c>principal</c>,
/// <c>request</c> (what a takeover needs). Same lifetime as the stream.</description></item>
/// <item><term><c>gptaspire:stream:{id}:read</c></term><description>Set while a reader on another replica than
/// the owner reads: <see cref="ChatStreamsOptions.AbandonAfter"/>.</description></item>
/// <item><term><c>gptaspire:replica:{replica}</c></term><description>A replica's lease:
/// <see cref="ChatStreamsOptions.TakeoverAfter"/>, renewed three times a period.</description></item>
/// <item><term><c>gptaspire:replicas</c></term><description>A sorted set of replicas by lease expiry (who can take
/// a hand-over); a day, renewed with each lease.</description></item>
/// <item><term>channel <c>gptaspire:stream:{id}</c></term><description>Each append's frames
/// (<c>{id} {length}\n{frame}</c>...), or <c>handoff</c>.</description></item>
/// <item><term>channel <c>gptaspire:stop</c></term><description>The id of an answer to stop, for its owner.</description></item>
/// </list>
/// </remarks>
internal static class RedisStreamKeys
{
    private const string Prefix = "gptaspire:";

    public static readonly RedisChannel StopChannel = RedisChannel.Literal(Prefix + "stop");

    public static readonly RedisKey Replicas = Prefix + "replicas";

    public static readonly TimeSpan ReplicasLifetime = TimeSpan.FromDays(1);

    public static RedisKey Stream(string id) => Prefix + "stream:" + id;

    public static RedisKey Meta(string id) => Prefix + "stream:" + id + ":meta";

    public static RedisKey Read(string id) => Prefix + "stream:" + id + ":read";

    public static RedisKey Replica(string replica) => Prefix + "replica:" + replica;

    public static RedisChannel Events(string id) => RedisChannel.Literal(Prefix + "stream:" + id);

    /// <summary>The notice on an answer's channel that its replica handed it over.</summary>
    public const string HandOffNotice = "handoff";
}
