using System.Net;
using GptAspire.Api.Services.ClientLimits;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace GptAspire.Api.Tests;

public class ClientIdentityTests
{
    private static DefaultHttpContext Request(string peer, params (string Name, string Value)[] headers)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(peer);
        foreach (var (name, value) in headers)
        {
            context.Request.Headers[name] = value;
        }

        return context;
    }

    [Fact]
    public void A_signed_in_user_is_the_client_whatever_the_address()
    {
        Assert.Equal("user:abc-123", ClientIdentity.PartitionKey(Request("203.0.113.7", (ClientIdentity.PrincipalIdHeader, "abc-123"))));
        Assert.Equal("ip:203.0.113.7", ClientIdentity.PartitionKey(Request("203.0.113.7")));
    }

    [Fact]
    public void A_principal_id_that_is_not_an_id_is_ignored()
    {
        Assert.Equal("ip:203.0.113.7", ClientIdentity.PartitionKey(Request("203.0.113.7", (ClientIdentity.PrincipalIdHeader, new string('x', 500)))));
        Assert.Equal("ip:203.0.113.7", ClientIdentity.PartitionKey(Request("203.0.113.7", (ClientIdentity.PrincipalIdHeader, ""))));
    }

    [Theory]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "ip:2001:db8:1:2::")]
    [InlineData("2001:db8:1:2::1", "ip:2001:db8:1:2::")]
    [InlineData("::ffff:198.51.100.4", "ip:198.51.100.4")]
    public void An_IPv6_client_is_its_64_network_and_a_mapped_IPv4_client_its_IPv4_address(string address, string key)
    {
        Assert.Equal(key, ClientIdentity.PartitionKey(Request(address)));
    }

    [Fact]
    public void Principal_headers_are_dropped_unless_a_trusted_proxy_sent_them()
    {
        var options = new ForwardedHeadersOptions(); // ASP.NET Core's default: loopback only
        var fromClient = Request("203.0.113.7", (ClientIdentity.PrincipalIdHeader, "someone-else"), ("X-MS-CLIENT-PRINCIPAL-NAME", "admin"));
        var fromWebServer = Request("127.0.0.1", (ClientIdentity.PrincipalIdHeader, "abc-123"));

        ClientIdentity.RemovePrincipalHeadersFromUntrustedPeers(fromClient, options);
        ClientIdentity.RemovePrincipalHeadersFromUntrustedPeers(fromWebServer, options);

        Assert.Empty(fromClient.Request.Headers);
        Assert.Equal("user:abc-123", ClientIdentity.PartitionKey(fromWebServer));
    }

    [Fact]
    public void Trusted_proxies_are_the_configured_addresses_and_networks()
    {
        var options = new ForwardedHeadersOptions();
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
        options.KnownProxies.Add(IPAddress.Parse("10.1.2.3"));
        options.KnownIPNetworks.Add(System.Net.IPNetwork.Parse("100.100.0.0/16"));

        Assert.True(ClientIdentity.IsTrustedProxy(IPAddress.Parse("10.1.2.3"), options));
        Assert.True(ClientIdentity.IsTrustedProxy(IPAddress.Parse("::ffff:100.100.7.8"), options));
        Assert.False(ClientIdentity.IsTrustedProxy(IPAddress.Parse("10.1.2.4"), options));
        Assert.False(ClientIdentity.IsTrustedProxy(IPAddress.Loopback, options));
        Assert.False(ClientIdentity.IsTrustedProxy(null, options));
    }
}
