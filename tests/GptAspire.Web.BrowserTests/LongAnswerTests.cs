using System.Globalization;
using System.Text.Json;

namespace GptAspire.Web.BrowserTests;

/// <summary>
/// A 4,000-token answer streams without the page falling behind: what the network delivered is
/// compared, frame by frame, with what the page shows. The figures are printed; what is asserted
/// does not depend on how fast this machine is.
/// </summary>
public sealed class LongAnswerTests(AppHostFixture app, BrowserFixture browser) : BrowserTest(app, browser)
{
    // Counts, in the page and independently of its code, the token events as they come off the
    // network (a tee of the event stream's body), every animation frame, and every change of how
    // much of the answer is on screen (the answer's data-rendered-length), each with its frame.
    private const string Probe = """
        (() => {
          const probe = (window.__streamProbe = { frame: 0, frameTimes: [], tokens: [], renders: [], removedNodes: 0, longTasks: [] });
          const tick = (time) => { probe.frame++; probe.frameTimes.push(time); requestAnimationFrame(tick); };
          requestAnimationFrame(tick);

          const originalFetch = window.fetch;
          window.fetch = async (input, init) => {
            const response = await originalFetch(input, init);
            const url = new URL(typeof input === 'string' ? input : input.url, location.href);
            if (!url.pathname.startsWith('/api/chat/stream') || !response.body) return response;
            const [mine, theirs] = response.body.tee();
            (async () => {
              const reader = mine.getReader();
              const decoder = new TextDecoder();
              let buffer = '', event = '', received = probe.tokens.at(-1)?.end ?? 0;
              for (;;) {
                const { done, value } = await reader.read();
                if (done) break;
                buffer += decoder.decode(value, { stream: true });
                let newline;
                while ((newline = buffer.indexOf('\n')) >= 0) {
                  const line = buffer.slice(0, newline).replace(/\r$/, '');
                  buffer = buffer.slice(newline + 1);
                  if (line.startsWith('event:')) event = line.slice(6).trim();
                  else if (line === '') event = '';
                  else if (line.startsWith('data:') && event === 'token') {
                    received += JSON.parse(line.slice(5)).text.length;
                    probe.tokens.push({ end: received, frame: probe.frame, at: performance.now() });
                  }
                }
              }
            })();
            return new Response(theirs, { status: response.status, statusText: response.statusText, headers: response.headers });
          };

          new MutationObserver((records) => {
            for (const record of records) {
              if (record.type === 'attributes') {
                probe.renders.push({ shown: Number(record.target.getAttribute('data-rendered-length')), frame: probe.frame, at: performance.now() });
              } else {
                probe.removedNodes += record.removedNodes.length;
              }
            }
          }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-rendered-length'] });

          try {
            new PerformanceObserver((list) => { for (const entry of list.getEntries()) probe.longTasks.push(entry.duration); })
              .observe({ type: 'longtask', buffered: true });
          } catch { /* not every browser reports long tasks */ }
        })()
        """;

    private const string Summary = """
        () => {
          const p = window.__streamProbe;
          const percentile = (values, q) => {
            if (values.length === 0) return null;
            const sorted = [...values].sort((a, b) => a - b);
            return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
          };
          // For each token, the first render that had it on screen.
          const lagFrames = [], lagMs = [];
          let unshown = 0, r = 0;
          for (const token of p.tokens) {
            while (r < p.renders.length && p.renders[r].shown < token.end) r++;
            if (r === p.renders.length) { unshown++; continue; }
            lagFrames.push(p.renders[r].frame - token.frame);
            lagMs.push(p.renders[r].at - token.at);
          }
          // Tokens delivered but not yet on screen, at the start of each frame of the stream.
          const first = p.tokens[0]?.frame ?? 0, last = p.tokens.at(-1)?.frame ?? 0;
          const behind = [];
          let t = 0, s = 0, shown = 0;
          for (let frame = first + 1; frame <= last + 1; frame++) {
            while (t < p.tokens.length && p.tokens[t].frame < frame) t++;
            while (s < p.renders.length && p.renders[s].frame < frame) shown = p.renders[s++].shown;
            let onScreen = t;
            while (onScreen > 0 && p.tokens[onScreen - 1].end > shown) onScreen--;
            behind.push(t - onScreen);
          }
          const frameGaps = [];
          for (let i = first + 1; i <= last && i < p.frameTimes.length; i++) frameGaps.push(p.frameTimes[i] - p.frameTimes[i - 1]);
          return {
            tokens: p.tokens.length,
            receivedChars: p.tokens.at(-1)?.end ?? 0,
            shownChars: p.renders.at(-1)?.shown ?? 0,
            unshown,
            streamFrames: last - first,
            renders: p.renders.length,
            removedNodes: p.removedNodes,
            lagFrames: { p50: percentile(lagFrames, 0.5), p95: percentile(lagFrames, 0.95), max: percentile(lagFrames, 1) },
            lagMs: { p50: percentile(lagMs, 0.5), p95: percentile(lagMs, 0.95), max: percentile(lagMs, 1) },
            tokensBehind: { p50: percentile(behind, 0.5), p95: percentile(behind, 0.95), max: percentile(behind, 1) },
            frameMs: { p50: percentile(frameGaps, 0.5), p95: percentile(frameGaps, 0.95), max: percentile(frameGaps, 1) },
            streamMs: (p.tokens.at(-1)?.at ?? 0) - (p.tokens[0]?.at ?? 0),
            longTasks: p.longTasks.length,
            longTaskMs: p.longTasks.reduce((a, b) => a + b, 0),
          };
        }
        """;

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_4000_token_answer_streams_without_the_page_falling_behind()
    {
        await Context.AddInitScriptAsync(Probe);
        await Page.ReloadAsync(new() { Timeout = 60_000 });
        await Expect(Composer).ToBeVisibleAsync(new() { Timeout = Wait });

        // The answer may be as long as asked, whatever cap the server would apply by default.
        await Page.GetByRole(AriaRole.Button, new() { Name = "Settings", Exact = true }).ClickAsync(new() { Timeout = Short });
        await Page.GetByLabel("Maximum answer tokens").FillAsync("4400", new() { Timeout = Short });

        await AskAsync("Tell me the whole story of streaming. [emulator:long=4000] [emulator:delay=5]");
        await ExpectStatusAsync("streaming");

        // Mark the answer's first block once the answer is well under way: a page that rendered the
        // whole answer again on each update would replace it.
        await Expect(LastAnswerText).ToHaveAttributeAsync("data-rendered-length", new System.Text.RegularExpressions.Regex(@"^\d{4,}$"), new() { Timeout = Wait });
        await LastAnswerText.EvaluateAsync("el => { el.firstElementChild.__firstBlock = true }", null, new() { Timeout = Short });

        await ExpectStatusAsync("done", 180_000);
        var firstBlockKept = await LastAnswerText.EvaluateAsync<bool>("el => el.firstElementChild.__firstBlock === true", null, new() { Timeout = Short });
        var summary = await Page.EvaluateAsync<JsonElement>(Summary);
        var usage = Number(await Page.GetByTestId("usage").InnerTextAsync(new() { Timeout = Short }));

        TestContext.Current.TestOutputHelper?.WriteLine($"usage: {usage} tokens; page: {summary}");
        Console.WriteLine($"[long answer] usage {usage} tokens; {Describe(summary)}");

        var tokens = summary.GetProperty("tokens").GetInt32();
        Assert.True(usage >= 4000, $"The answer had {usage} tokens, not 4,000 or more.");
        Assert.True(tokens >= 3000, $"Only {tokens} token events arrived ({summary}).");
        // Everything that arrived is on screen, and every token was shown by some render.
        Assert.Equal(summary.GetProperty("receivedChars").GetInt32(), summary.GetProperty("shownChars").GetInt32());
        Assert.Equal(0, summary.GetProperty("unshown").GetInt32());
        // Tokens show on the frame after they arrive (the frame the page renders in), however slow
        // the frames are: a page falling behind would show them frames later.
        Assert.True(summary.GetProperty("lagFrames").GetProperty("p50").GetInt32() <= 1, $"Tokens waited frames to be shown ({Describe(summary)}).");
        Assert.True(firstBlockKept, "The answer's first block was rendered again while the answer grew.");
    }

    private static string Describe(JsonElement s)
    {
        string Stats(string name, string unit) =>
            $"{name} p50 {Format(s.GetProperty(name).GetProperty("p50"))} / p95 {Format(s.GetProperty(name).GetProperty("p95"))} / max {Format(s.GetProperty(name).GetProperty("max"))}{unit}";
        static string Format(JsonElement value) =>
            value.ValueKind == JsonValueKind.Number ? value.GetDouble().ToString("0.#", CultureInfo.InvariantCulture) : "-";

        return $"{s.GetProperty("tokens")} token events, {s.GetProperty("receivedChars")} chars over {Format(s.GetProperty("streamMs"))} ms " +
               $"and {s.GetProperty("streamFrames")} frames; {s.GetProperty("renders")} renders, {s.GetProperty("removedNodes")} nodes replaced; " +
               $"{Stats("lagFrames", " frames")}; {Stats("lagMs", " ms")}; {Stats("tokensBehind", " tokens")}; {Stats("frameMs", " ms")}; " +
               $"long tasks {s.GetProperty("longTasks")} ({Format(s.GetProperty("longTaskMs"))} ms)";
    }
}
