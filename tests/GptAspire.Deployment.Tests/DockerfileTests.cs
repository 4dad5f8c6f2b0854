using System.Text.Json;
using System.Text.RegularExpressions;

namespace GptAspire.Deployment.Tests;

/// <summary>
/// <c>GptAspire.Web/Dockerfile</c>, which <c>azd</c> builds for <c>web</c>: a build stage, then a final stage
/// with production dependencies only, a non-root user, a health check and the production server.
/// </summary>
public partial class DockerfileTests
{
    public sealed record Instruction(string Keyword, string Arguments);

    /// <summary>The Dockerfile's instructions per stage (continuation lines joined, comments dropped).</summary>
    public static List<List<Instruction>> Stages()
    {
        var stages = new List<List<Instruction>>();
        var logical = Regex.Replace(Repo.ReadText("GptAspire.Web", "Dockerfile"), @"\\\r?\n", " ");
        foreach (var line in logical.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            var parts = line.Split(' ', 2, StringSplitOptions.TrimEntries);
            var instruction = new Instruction(parts[0].ToUpperInvariant(), Regex.Replace(parts.ElementAtOrDefault(1) ?? "", @"\s+", " "));
            if (instruction.Keyword == "FROM")
            {
                stages.Add([]);
            }

            Assert.True(stages.Count > 0, $"'{line}' comes before the first FROM");
            stages[^1].Add(instruction);
        }

        return stages;
    }

    public static List<Instruction> FinalStage() => Stages()[^1];

    [Fact]
    public void It_is_multi_stage_and_the_final_stage_copies_only_the_build_output()
    {
        var stages = Stages();

        Assert.True(stages.Count >= 2, "one stage only");
        Assert.Matches(@"(?i)^\S+ AS build$", stages[0][0].Arguments);
        var copies = FinalStage().Where(i => i.Keyword == "COPY").Select(i => i.Arguments).ToList();
        Assert.Contains("--from=build /app/dist ./dist", copies);
        Assert.Contains("--from=build /app/server ./server", copies);
        // The final stage never copies the whole source tree (or a host node_modules).
        Assert.DoesNotContain(copies, c => Regex.IsMatch(c, @"^\. "));
    }

    [Fact]
    public void The_final_stage_installs_production_dependencies_only()
    {
        var runs = FinalStage().Where(i => i.Keyword == "RUN").Select(i => i.Arguments).ToList();

        Assert.Contains(runs, r => Regex.IsMatch(r, @"(^|&& )npm ci --omit=dev( |$)"));
        Assert.DoesNotContain(runs, r => Regex.IsMatch(r, @"npm (ci|install)(?!.*--omit=dev)"));
        Assert.DoesNotContain(runs, r => r.Contains("npm run build", StringComparison.Ordinal));
    }

    [Fact]
    public void The_final_stage_runs_as_the_unprivileged_node_user()
    {
        var final = FinalStage();
        var user = final.FindLastIndex(i => i.Keyword == "USER");

        Assert.True(user >= 0, "no USER in the final stage");
        Assert.Equal("node", final[user].Arguments);
        // Nothing runs as root after the switch, and the server starts after it.
        Assert.True(final.FindLastIndex(i => i.Keyword == "RUN") < user);
        Assert.True(final.FindIndex(i => i.Keyword == "CMD") > user);
    }

    [Fact]
    public void The_final_stage_has_a_health_check_on_the_servers_health_endpoint()
    {
        var check = Assert.Single(FinalStage(), i => i.Keyword == "HEALTHCHECK");

        Assert.Contains("/health", check.Arguments, StringComparison.Ordinal);
        Assert.Contains("process.env.PORT", check.Arguments, StringComparison.Ordinal);
    }

    [Fact]
    public void It_starts_the_production_server_like_npm_start()
    {
        var final = FinalStage();
        var cmd = JsonSerializer.Deserialize<string[]>(Assert.Single(final, i => i.Keyword == "CMD").Arguments)!;
        var env = string.Join(' ', final.Where(i => i.Keyword == "ENV").Select(i => i.Arguments));

        // Exec form (signals reach node, so SIGTERM drains open streams), the same command as
        // `npm start` minus `--mode production`, which NODE_ENV=production stands for.
        using var package = JsonDocument.Parse(Repo.ReadText("GptAspire.Web", "package.json"));
        var start = package.RootElement.GetProperty("scripts").GetProperty("start").GetString()!;
        Assert.Equal(start.Replace(" --mode production", "", StringComparison.Ordinal).Split(' '), cmd);
        Assert.Equal(["node", "--import", "./server/instrumentation.mjs", "server/index.mjs"], cmd);
        Assert.Matches(@"(^| )NODE_ENV=production( |$)", env);
        Assert.Matches(@"(^| )PORT=(\d+)( |$)", env);
        var port = PortEnv().Match(env).Groups[1].Value;
        Assert.Equal(port, Assert.Single(final, i => i.Keyword == "EXPOSE").Arguments);
    }

    [Fact]
    public void The_build_context_leaves_out_local_installs_and_builds()
    {
        var ignored = Repo.ReadText("GptAspire.Web", ".dockerignore").Split('\n').Select(l => l.Trim()).ToList();

        Assert.Contains("node_modules", ignored);
        Assert.Contains("dist", ignored);
    }

    [GeneratedRegex(@"(?:^| )PORT=(\d+)(?: |$)")]
    private static partial Regex PortEnv();
}
