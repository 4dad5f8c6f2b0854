using System.Net;
using System.Threading.RateLimiting;
using GptAspire.Api.Apis;
using GptAspire.Api.Services.Chat;
using GptAspire.Api.Services.ClientLimits;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace GptAspire.Api.Extensions;

public static class ClientLimitsExtensions
{
    /// <summary>The rate limiting policy of the chat stream endpoints: per-client request rate and open streams.</summary>
    public const string ChatPolicy = "chat";

    /// <summary>The configuration section of the trusted proxies: <c>KnownProxies</c>, <c>KnownNetworks</c>, <c>ForwardLimit</c>.</summary>
    public const string ForwardedHeadersSectionName = "ForwardedHeaders";

    // A full concurrency limiter has no time to offer: a stream usually ends within seconds.
    private static readonly TimeSpan ConcurrencyRetryAfter = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Registers the limits that protect the OpenAI key and the server from one client: the <see cref="ChatPolicy"/>
    /// rate limiting policy (a token bucket and a concurrency limit per client, from <c>Chat:RateLimits</c>,
    /// rejected with 429 problem+json and <c>Retry-After</c>), the cap on a client's running generations
    /// (<see cref="IClientGenerationLimiter"/>), the trusted proxies whose <c>X-Forwarded-For</c> names the client
    /// (loopback unless <c>ForwardedHeaders</c> says otherwise), Kestrel's timeouts for slow headers and bodies, and
    /// 408/413/400 instead of 500 when a request breaks them.
    /// </summary>
    /// <remarks>
    /// When the app shares streams over Redis (a <c>streams</c> connection, whose clients
    /// <see cref="Extensions.AddChatStreamStore"/> registers), the request rate and the running generations are
    /// counted in Redis and hold across all replicas; open streams stay per replica (each holds a connection of
    /// the replica that serves it). Redis down: 503 with <c>Retry-After</c>, as for the streams themselves.
    /// Without Redis, every limit is kept in memory, per replica.
    /// </remarks>
    public static IHostApplicationBuilder AddClientLimits(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ChatRateLimitOptions>()
            .Bind(builder.Configuration.GetSection(ChatRateLimitOptions.SectionName))
            .Validate(o => o.BurstLimit > 0, "Chat:RateLimits:BurstLimit must be positive.")
            .Validate(o => o.RequestsPerPeriod > 0, "Chat:RateLimits:RequestsPerPeriod must be positive.")
            .Validate(o => o.ReplenishmentPeriod > TimeSpan.Zero, "Chat:RateLimits:ReplenishmentPeriod must be positive.")
            .Validate(o => o.ConcurrentStreams > 0, "Chat:RateLimits:ConcurrentStreams must be positive.")
            .Validate(o => o.ConcurrentGenerations > 0, "Chat:RateLimits:ConcurrentGenerations must be positive.")
            .Validate(o => o.GenerationLeaseTime >= TimeSpan.FromSeconds(1), "Chat:RateLimits:GenerationLeaseTime must be at least a second.")
            .ValidateOnStart();

        var shared = !string.IsNullOrEmpty(builder.Configuration.GetConnectionString(Extensions.StreamsConnectionName));
        if (shared)
        {
            builder.Services.AddSingleton<IClientGenerationLimiter, RedisClientGenerationLimiter>();
        }
        else
        {
            builder.Services.AddSingleton<IClientGenerationLimiter, InMemoryClientGenerationLimiter>();
        }

        builder.Services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = WriteRejectionAsync;
            options.AddPolicy(ChatPolicy, context =>
            {
                var limits = context.RequestServices.GetRequiredService<IOptions<ChatRateLimitOptions>>().Value;
                var services = context.RequestServices;
                return RateLimitPartition.Get(ClientIdentity.PartitionKey(context), client => RateLimiter.CreateChained(
                    shared
                        ? new RedisRequestRateLimiter(client, limits, services.GetRequiredService<IConnectionMultiplexer>())
                        : new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
                        {
                            TokenLimit = limits.BurstLimit,
                            TokensPerPeriod = limits.RequestsPerPeriod,
                            ReplenishmentPeriod = limits.ReplenishmentPeriod,
                            QueueLimit = 0,
                        }),
                    // The rate limiting middleware holds this lease until the response ends: for a stream, until
                    // the last event is written or the client leaves.
                    new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = limits.ConcurrentStreams, QueueLimit = 0 })));
            });
        });

        builder.Services.Configure<ForwardedHeadersOptions>(options =>
            ConfigureTrustedProxies(options, builder.Configuration.GetSection(ForwardedHeadersSectionName)));

        builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<ChatStreamOptions>>((kestrel, chat) =>
        {
            kestrel.Limits.RequestHeadersTimeout = chat.Value.RequestHeadersTimeout;
            kestrel.Limits.MinRequestBodyDataRate = new(chat.Value.MinRequestBodyBytesPerSecond, TimeSpan.FromSeconds(5));
            // What serves the API is nobody's business outside it (the web server passes response headers on).
            kestrel.AddServerHeader = false;
        });

        builder.Services.AddExceptionHandler<BadRequestExceptionHandler>();
        return builder;
    }

    /// <summary>
    /// Decides who the client of each request is (see <see cref="ClientIdentity"/>): principal headers from an
    /// untrusted peer are dropped, then <c>X-Forwarded-For</c> from a trusted proxy becomes the remote address.
    /// Call it first, before anything that reads the client's address.
    /// </summary>
    public static IApplicationBuilder UseClientIdentity(this IApplicationBuilder app)
    {
        var options = app.ApplicationServices.GetRequiredService<IOptions<ForwardedHeadersOptions>>().Value;
        app.Use((context, next) =>
        {
            ClientIdentity.RemovePrincipalHeadersFromUntrustedPeers(context, options);
            return next(context);
        });
        return app.UseForwardedHeaders();
    }

    private static void ConfigureTrustedProxies(ForwardedHeadersOptions options, IConfiguration section)
    {
        // Only the client's address: the API builds no URLs, so the scheme and host stay as they are.
        options.ForwardedHeaders = ForwardedHeaders.XForwardedFor;
        options.ForwardLimit = section.GetValue("ForwardLimit", 1);

        var proxies = section.GetSection("KnownProxies").Get<string[]>() ?? [];
        var networks = section.GetSection("KnownNetworks").Get<string[]>() ?? [];
        if (proxies.Length == 0 && networks.Length == 0)
        {
            return; // ASP.NET Core's default: loopback only, where the web server runs beside the API.
        }

        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
        foreach (var proxy in proxies)
        {
            options.KnownProxies.Add(IPAddress.TryParse(proxy, out var address)
                ? address
                : throw new InvalidOperationException($"ForwardedHeaders:KnownProxies has '{proxy}', which is not an IP address."));
        }

        foreach (var network in networks)
        {
            options.KnownIPNetworks.Add(System.Net.IPNetwork.TryParse(network, out var parsed)
                ? parsed
                : throw new InvalidOperationException($"ForwardedHeaders:KnownNetworks has '{network}', which is not a network in CIDR notation (10.0.0.0/16)."));
        }
    }

    /// <summary>
    /// The 429 of a client with too many generations running (see <see cref="IClientGenerationLimiter"/>): the same
    /// problem+json and <c>Retry-After</c> as the <see cref="ChatPolicy"/> rejections.
    /// </summary>
    public static IResult TooManyGenerations() =>
        TooManyRequests(ConcurrencyRetryAfter, "Too many chats are being answered at once: wait for one to finish and try again.");

    private static async ValueTask WriteRejectionAsync(OnRejectedContext rejection, CancellationToken cancellationToken)
    {
        var result = rejection.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait)
            ? TooManyRequests(wait, "Too many chats in a short time: wait a moment and try again.")
            : TooManyRequests(ConcurrencyRetryAfter, "Too many chats are streaming at once: wait for one to finish and try again.");
        await result.ExecuteAsync(rejection.HttpContext);
    }

    private static IResult TooManyRequests(TimeSpan retryAfter, string detail) =>
        RetryAfterProblem.Result(StatusCodes.Status429TooManyRequests, "Too many requests", detail, retryAfter);
}
