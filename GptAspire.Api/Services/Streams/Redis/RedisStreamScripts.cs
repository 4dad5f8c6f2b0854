namespace GptAspire.Api.Services.Streams.Redis;

/// <summary>
/// The Lua scripts that change a shared stream. Each runs whole on the Redis server, so an append, a takeover and
/// a hand-over can never interleave: that is what makes the stream gap-free and gives it one writer at a time.
/// </summary>
internal static class RedisStreamScripts
{
    /// <summary>
    /// Appends events <c>ARGV[2]</c>, <c>ARGV[2]+1</c>, ... (frames in <c>ARGV[7..]</c>) when the caller's epoch
    /// (<c>ARGV[1]</c>) is the stream's and no event is missing before them; events already stored (a retry after a
    /// lost reply) are skipped. Renews the keys' lifetime (<c>ARGV[3]</c> ms, or <c>ARGV[4]</c> once
    /// <c>ARGV[5]</c> = 1 says the batch ends the answer) and publishes the new frames on <c>ARGV[6]</c>.
    /// Returns <c>{1, next}</c>, or <c>{-1}</c> fenced (another epoch), <c>{-2, next}</c> a gap before the batch,
    /// <c>{-3}</c> no such stream (Redis lost it).
    /// </summary>
    public const string Append = """
        local m = redis.call('HMGET', KEYS[2], 'epoch', 'next')
        if not m[1] then return {-3} end
        if m[1] ~= ARGV[1] then return {-1} end
        local first = tonumber(ARGV[2])
        local nxt = tonumber(m[2])
        if first > nxt then return {-2, nxt} end
        local parts = {}
        for i = 7, #ARGV do
          local id = first + i - 7
          if id >= nxt then
            redis.call('XADD', KEYS[1], id .. '-1', 'f', ARGV[i])
            parts[#parts + 1] = id .. ' ' .. #ARGV[i] .. '\n' .. ARGV[i]
          end
        end
        local total = first + #ARGV - 6
        if total > nxt then
          local t = redis.call('TIME')
          redis.call('HSET', KEYS[2], 'next', total, 'at', t[1] * 1000 + math.floor(t[2] / 1000))
        else
          total = nxt
        end
        local ttl = ARGV[3]
        if ARGV[5] == '1' then
          redis.call('HSET', KEYS[2], 'state', 'ended')
          ttl = ARGV[4]
        end
        redis.call('PEXPIRE', KEYS[1], ttl)
        redis.call('PEXPIRE', KEYS[2], ttl)
        if #parts > 0 then redis.call('PUBLISH', ARGV[6], table.concat(parts)) end
        return {1, total}
        """;

    /// <summary>
    /// Creates a stream's meta (<c>KEYS[2]</c>) for owner <c>ARGV[1]</c> with epoch <c>ARGV[2]</c>, next id 0,
    /// <c>request</c> <c>ARGV[3]</c> and <c>principal</c> <c>ARGV[4]</c>, living <c>ARGV[5]</c> ms; renews the
    /// owner's lease (<c>KEYS[3]</c>, <c>ARGV[6]</c> ms). Refuses (0) if the meta exists: used to start a stream,
    /// and to seed it again after Redis lost it (<c>KEYS[1]</c>, any left-over entries, is deleted then).
    /// </summary>
    public const string Create = """
        if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
        redis.call('DEL', KEYS[1])
        redis.call('HSET', KEYS[2], 'owner', ARGV[1], 'epoch', ARGV[2], 'next', 0, 'state', 'live', 'request', ARGV[3], 'principal', ARGV[4])
        redis.call('PEXPIRE', KEYS[2], ARGV[5])
        redis.call('SET', KEYS[3], '1', 'PX', ARGV[6])
        return 1
        """;

    /// <summary>
    /// Takes a stream over for replica <c>ARGV[2]</c> when its owner is still <c>ARGV[1]</c> and has handed it over
    /// or lost its lease (<c>KEYS[2]</c>): bumps the epoch (fencing the old owner off), renews the keys
    /// (<c>KEYS[1]</c>, <c>KEYS[3]</c>: <c>ARGV[3]</c> ms). Returns <c>{epoch, next, stop, ms since the last
    /// append, request, 1 if handed over}</c>, or <c>{0, owner}</c> (not claimable now), <c>{-1}</c> (no such
    /// stream), <c>{-2}</c> (ended).
    /// </summary>
    public const string Claim = """
        local m = redis.call('HMGET', KEYS[1], 'owner', 'state')
        if not m[1] then return {-1} end
        if m[2] == 'ended' then return {-2} end
        if m[1] ~= ARGV[1] then return {0, m[1]} end
        if m[2] == 'live' and redis.call('EXISTS', KEYS[2]) == 1 then return {0, m[1]} end
        local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
        redis.call('HSET', KEYS[1], 'owner', ARGV[2], 'state', 'live')
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        redis.call('PEXPIRE', KEYS[3], ARGV[3])
        local d = redis.call('HMGET', KEYS[1], 'next', 'stop', 'at', 'request')
        local t = redis.call('TIME')
        local now = t[1] * 1000 + math.floor(t[2] / 1000)
        local handed = 0
        if m[2] == 'handoff' then handed = 1 end
        return {epoch, tonumber(d[1]), d[2] or '', now - tonumber(d[3] or now), d[4] or '', handed}
        """;

    /// <summary>
    /// Hands a stream over (its owner shuts down): with the owner's epoch <c>ARGV[1]</c>, marks it <c>handoff</c>,
    /// bumps the epoch (so the old owner can write no more) and tells its mirrors on <c>ARGV[2]</c>. 1, or 0 if fenced.
    /// </summary>
    public const string HandOff = """
        if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return 0 end
        redis.call('HINCRBY', KEYS[1], 'epoch', 1)
        redis.call('HSET', KEYS[1], 'state', 'handoff')
        redis.call('PUBLISH', ARGV[2], 'handoff')
        return 1
        """;

    /// <summary>
    /// Records a stop (<c>stop</c> = 1, so that a replica that takes the answer over ends it stopped) when principal
    /// <c>ARGV[1]</c> may. Returns <c>{state, owner}</c>, or <c>{'missing'}</c> (unknown, or another principal's).
    /// </summary>
    public const string Stop = """
        local m = redis.call('HMGET', KEYS[1], 'state', 'owner', 'principal')
        if not m[1] or (m[3] or '') ~= ARGV[1] then return {'missing'} end
        if m[1] ~= 'ended' then redis.call('HSET', KEYS[1], 'stop', '1') end
        return {m[1], m[2]}
        """;

    /// <summary>
    /// Renews replica <c>ARGV[1]</c>'s lease (<c>KEYS[1]</c>, <c>ARGV[2]</c> ms) and its entry in the set of replicas
    /// (<c>KEYS[2]</c>, living <c>ARGV[3]</c> ms); returns how many other replicas hold a lease.
    /// </summary>
    public const string Lease = """
        redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
        local t = redis.call('TIME')
        local now = t[1] * 1000 + math.floor(t[2] / 1000)
        redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
        redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
        redis.call('PEXPIRE', KEYS[2], ARGV[3])
        return redis.call('ZCARD', KEYS[2]) - 1
        """;
}
