using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;

namespace GptAspire.Api.Services.ClientLimits;

/// <summary>
/// Who a client is, for its limits: the signed-in user when Azure Container Apps authentication signs users in
/// in front of the web server, else the client's IP address as the web server saw it.
/// </summary>
/// <remarks>
/// Both come from headers the web server sets, so both are believed only from a trusted proxy
/// (<see cref="ForwardedHeadersOptions.KnownProxies"/> and <see cref="ForwardedHeadersOptions.KnownIPNetworks"/>):
/// <c>X-Forwarded-For</c> by ASP.NET Core's forwarded headers middleware, the principal headers by
/// <see cref="RemovePrincipalHeadersFromUntrustedPeers"/>. A client's own headers never choose its partition.
/// </remarks>
public static class ClientIdentity
{
    /// <summary>The user's id, set by Container Apps authentication (Easy Auth) and passed on by the web server.</summary>
    public const string PrincipalIdHeader = "X-MS-CLIENT-PRINCIPAL-ID";

    private static readonly string[] PrincipalHeaders =
        [PrincipalIdHeader, "X-MS-CLIENT-PRINCIPAL", "X-MS-CLIENT-PRINCIPAL-NAME", "X-MS-CLIENT-PRINCIPAL-IDP"];

    // Longer than any Microsoft Entra object id or provider user id; a longer value is not an id.
    private const int MaxPrincipalIdLength = 128;

    /// <summary>
    /// The partition of the client of <paramref name="context"/>: <c>user:&lt;id&gt;</c> or <c>ip:&lt;address&gt;</c>.
    /// An IPv6 client is its /64 network, since one host can use any address of it.
    /// </summary>
    public static string PartitionKey(HttpContext context)
    {
        if (context.Request.Headers[PrincipalIdHeader] is [{ Length: > 0 and <= MaxPrincipalIdLength } id])
        {
            return "user:" + id;
        }

        return context.Connection.RemoteIpAddress is { } address ? "ip:" + Network(address) : "ip:unknown";
    }

    /// <summary>
    /// Who owns the streams that <paramref name="context"/> starts: a hash of the signed-in user's id (only that user
    /// may resume and stop them), or null for an anonymous client (the stream's unguessable id is its key).
    /// </summary>
    public static string? StreamOwner(HttpContext context)
    {
        if (context.Request.Headers[PrincipalIdHeader] is not [{ Length: > 0 and <= MaxPrincipalIdLength } id])
        {
            return null;
        }

        // Kept beside the stream (in Redis too): a hash, so that the store holds no user id.
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(id)));
    }

    /// <summary>The address of an IPv4 client, or the /64 network of an IPv6 client.</summary>
    public static IPAddress Network(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address;
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes);
    }

    /// <summary>Whether <paramref name="peer"/> is a proxy whose forwarded headers are believed.</summary>
    public static bool IsTrustedProxy(IPAddress? peer, ForwardedHeadersOptions options)
    {
        if (peer is null)
        {
            return false;
        }

        if (peer.IsIPv4MappedToIPv6)
        {
            peer = peer.MapToIPv4();
        }

        return options.KnownProxies.Contains(peer) || options.KnownIPNetworks.Any(network => network.Contains(peer));
    }

    /// <summary>
    /// Removes the principal headers of a request that did not come from a trusted proxy: only the web server
    /// may say who the user is. Run it before the forwarded headers middleware replaces the peer's address.
    /// </summary>
    public static void RemovePrincipalHeadersFromUntrustedPeers(HttpContext context, ForwardedHeadersOptions options)
    {
        if (IsTrustedProxy(context.Connection.RemoteIpAddress, options))
        {
            return;
        }

        foreach (var header in PrincipalHeaders)
        {
            context.Request.Headers.Remove(header);
        }
    }
}
