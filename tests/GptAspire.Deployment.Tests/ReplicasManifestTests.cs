using System.Text.Json.Nodes;

namespace GptAspire.Deployment.Tests;

/// <summary>
/// <c>Api:Replicas</c> above 1 publishes a Redis container, <c>streams</c>, that the API's replicas share
/// (through <c>ConnectionStrings__streams</c>); with 1, nothing of it is published.
/// </summary>
public class ReplicasManifestTests(ReplicasManifestFixture replicas, ManifestFixture single)
    : IClassFixture<ReplicasManifestFixture>, IClassFixture<ManifestFixture>
{
    [Fact]
    public void With_two_replicas_api_web_and_the_streams_Redis_are_deployed()
    {
        var services = replicas.Resources
            .Where(r => (string?)r.Value!["type"] is not "parameter.v0" and not "value.v0" and not "annotated.string")
            .Select(r => r.Key)
            .Order();

        Assert.Equal(["api", "streams", "web"], services);
    }

    [Fact]
    public void The_streams_Redis_is_Aspires_Redis_container_reachable_only_inside_the_environment()
    {
        var streams = replicas.Resource("streams");

        Assert.Equal("container.v0", (string?)streams["type"]);
        Assert.StartsWith("docker.io/library/redis:", (string?)streams["image"], StringComparison.Ordinal);
        var binding = Assert.Single(streams["bindings"]!.AsObject());
        Assert.Equal("tcp", (string?)binding.Value!["transport"]);
        Assert.NotEqual(true, (bool?)binding.Value!["external"]);
        Assert.Contains("{streams.bindings.tcp.host}:{streams.bindings.tcp.port}", (string?)streams["connectionString"], StringComparison.Ordinal);
    }

    [Fact]
    public void Api_gets_the_streams_connection_string()
    {
        var env = replicas.Resource("api")["env"]!.AsObject();

        Assert.Equal("{streams.connectionString}", (string?)env["ConnectionStrings__streams"]);
        Assert.Equal("{openai.connectionString}", (string?)env["ConnectionStrings__openai"]);
    }

    [Fact]
    public void The_Redis_password_is_generated_at_deployment_and_never_written()
    {
        var password = replicas.Resource("streams-password");
        var input = password["inputs"]!["value"]!.AsObject();

        Assert.True((bool)input["secret"]!);
        Assert.NotNull(input["default"]?["generate"]);
        Assert.Null(input["default"]?["value"]);
        Assert.DoesNotContain("sentinel-0f8c2b7e9d4a", replicas.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void With_one_replica_there_is_no_Redis_and_api_gets_no_streams_connection()
    {
        Assert.DoesNotContain("streams", single.Text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("redis", single.Text, StringComparison.OrdinalIgnoreCase);
        Assert.Null(single.Resource("api")["env"]!["ConnectionStrings__streams"]);
    }

    [Fact]
    public void Everything_else_is_published_as_with_one_replica()
    {
        foreach (var name in new[] { "openai", "web" })
        {
            Assert.True(JsonNode.DeepEquals(single.Resource(name), replicas.Resource(name)), $"'{name}' differs");
        }
    }
}
