using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

namespace GptAspire.Api.FunctionalTests;

/// <summary>
/// Generated malformed bodies, headers, paths and raw requests against the real API on Kestrel over the real
/// emulator: none gets a 500, and the API stays healthy. Seeded, so a failure replays; bounded in count and time.
/// </summary>
public class FuzzTests(ApiFixture fixture)
{
    private const int Seed = 20_251_126;
    private const int HttpCases = 1_200;
    private const int RawCases = 200;

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    private static readonly string[] ValidBodies =
    [
        """{"messages":[{"role":"user","content":"Hello"}],"maxTokens":1}""",
        """{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is DNS?"}],"maxTokens":2,"temperature":0.5}""",
        """{"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"},{"role":"user","content":"Again"}],"maxTokens":1}""",
    ];

    private static readonly string[] Fragments =
    [
        "null", "true", "false", "0", "-1", "1e400", "-1e400", "2147483648", "9999999999999999999999", "1.5", "\"\"", "\"x\"",
        "[]", "{}", "[null]", "{\"role\":null}", "\"\\u0000\"", "\"\\ud800\"", "\"\\udc00\\ud800\"", "\"\\uZZZZ\"", "NaN", "Infinity",
        "\"" + new string('a', 5000) + "\"", "{\"a\":" , "]", "}", ",", ":", "\"messages\"", "\"role\":\"robot\"",
    ];

    private static readonly string[] ContentTypes =
    [
        "application/json", "application/json; charset=utf-8", "application/json; charset=utf-16", "application/json; charset=\"",
        "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/problem+json",
        "application/json;;;", "*/*", "application/json; charset=utf-8; charset=latin1", "application/vnd.api+json", "",
    ];

    private static readonly string[] Paths =
    [
        "/api/chat/stream", "/api/chat/stream/", "/api/chat/stream/{id}", "/api/chat/stream/{id}/stop", "/api/info", "/api/",
        "/api/chat/stream?lastEventId={id}", "/api/chat/stream/{id}?lastEventId=-1", "/api/chat/stream/%00", "/api/chat/%2e%2e/info",
        "/api/../api/info", "/api/chat/stream/{id}/stop?x={id}", "/health", "/alive", "/openapi/v1.json", "/scalar", "/{id}", "//api//info",
        "/api/chat/stream/" + new string('9', 3000), "/api/chat/stream;a=b", "/api/chat/stream%20", "/API/CHAT/STREAM",
    ];

    private static readonly HttpMethod[] Methods =
        [HttpMethod.Post, HttpMethod.Post, HttpMethod.Post, HttpMethod.Get, HttpMethod.Put, HttpMethod.Delete, HttpMethod.Patch, HttpMethod.Options, HttpMethod.Head];

    private static readonly string[] HeaderValues =
    [
        "", " ", "0", "-1", "abc", "1, 2, 3", "999.999.999.999", "::::", "unknown", "127.0.0.1:99999", "[::1]:80", "2001:db8::1",
        "203.0.113.5, 10.0.0.1, 127.0.0.1", new string('1', 2000), "00-xyz-00-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "%00", "\"quoted\"", "a=b; c=d", "9223372036854775808",
    ];

    private static readonly string[] HeaderNames =
        ["X-Forwarded-For", "X-MS-CLIENT-PRINCIPAL-ID", "X-MS-CLIENT-PRINCIPAL", "Last-Event-ID", "traceparent", "tracestate", "Accept", "Accept-Encoding", "Origin", "Forwarded", "X-Forwarded-Proto", "Cookie"];

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Malformed_requests_never_get_a_500_and_the_API_stays_healthy()
    {
        var random = new Random(Seed);
        var cases = Enumerable.Range(0, HttpCases).Select(i => HttpCase(random, i)).ToList();
        var raw = Enumerable.Range(0, RawCases).Select(i => RawCase(random, i)).ToList();
        var failures = new ConcurrentQueue<string>();
        var outcomes = new ConcurrentDictionary<string, int>();
        void Count(string outcome) => outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);

        using var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0, AllowAutoRedirect = false })
        {
            BaseAddress = fixture.Api.BaseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };

        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = Timeout }, async (fuzz, ct) =>
        {
            using var request = fuzz.Build(fixture.Api.BaseAddress!);
            string outcome;
            try
            {
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
                var status = (int)response.StatusCode;
                outcome = status.ToString();
                if (IsServerFailure(status))
                {
                    failures.Enqueue($"{status} for {fuzz}");
                }
            }
            catch (HttpRequestException e) when (RawHttp.IsReset(e))
            {
                outcome = "reset";
                failures.Enqueue($"connection reset ({e.Message}) for {fuzz}");
            }
            catch (HttpRequestException e)
            {
                // Kestrel closed the connection on a request it refused before answering (ResponseEnded).
                outcome = $"closed ({e.HttpRequestError})";
                if (e.HttpRequestError is not HttpRequestError.ResponseEnded)
                {
                    failures.Enqueue($"{e.HttpRequestError} ({e.Message}) for {fuzz}");
                }
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
                outcome = "timed out";
                failures.Enqueue($"no answer within {client.Timeout} for {fuzz}");
            }

            Count(outcome);
        });

        await Parallel.ForEachAsync(raw, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = Timeout }, async (bytes, ct) =>
        {
            var (outcome, statusLine) = await RawHttp.ExchangeAsync(fixture.Api.BaseAddress!, bytes, TimeSpan.FromSeconds(30), ct);
            var status = statusLine is { Length: >= 12 } && int.TryParse(statusLine.AsSpan(9, 3), out var code) ? code : 0;
            // An answer without an HTTP/1 status line is Kestrel's HTTP/2 answer to the "PRI *" preface.
            Count(status > 0 ? $"raw {status}" : outcome == RawOutcome.Answered ? "raw non-HTTP/1 answer" : $"raw {outcome}");
            // A reset is how TCP ends a connection that Kestrel closed on a refused request with bytes still unread,
            // and it may overtake the 400: expected here, where every request is malformed on purpose (and a
            // failure above, for the requests an HTTP client can send). No answer at all is never expected.
            if (IsServerFailure(status) || outcome is RawOutcome.TimedOut)
            {
                failures.Enqueue($"{(status > 0 ? statusLine : outcome)} for raw request {Encoding.Latin1.GetString(bytes[..Math.Min(bytes.Length, 120)]).ReplaceLineEndings(" | ")} ({bytes.Length} bytes)");
            }
        });

        TestContext.Current.TestOutputHelper!.WriteLine(
            $"fuzz: {HttpCases + RawCases} requests; outcomes {string.Join(", ", outcomes.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}"))}");
        Assert.Empty(failures);

        using var health = await fixture.Api.GetAsync("/health", Timeout);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var (response, events) = await ChatStream.PostAsync(fixture.Api, ChatStream.Body("Still fine after all that?", 5), Timeout);
        using var _ = response;
        Assert.Equal("finish", events[^1].Name);
    }

    // 505 is Kestrel's answer to "HTTP/3.7", not a failure. A 503 is: this API is nowhere near its limits.
    private static bool IsServerFailure(int status) => status >= 500 && status is not 505;

    private sealed record FuzzCase(HttpMethod Method, string Path, byte[]? Body, string? ContentType, (string Name, string Value)[] Headers, string Kind)
    {
        // An absolute URI: relative to the base, "//api//info" would name a host "api" and never reach the API.
        public HttpRequestMessage Build(Uri api)
        {
            var request = new HttpRequestMessage(Method, new Uri(api.GetLeftPart(UriPartial.Authority) + Path));
            if (Body is not null)
            {
                request.Content = new ByteArrayContent(Body);
                if (!string.IsNullOrEmpty(ContentType))
                {
                    request.Content.Headers.TryAddWithoutValidation("Content-Type", ContentType);
                }
            }

            foreach (var (name, value) in Headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            return request;
        }

        public override string ToString() =>
            $"{Kind}: {Method} {Path[..Math.Min(Path.Length, 100)]} [{ContentType}] headers {string.Join("; ", Headers.Select(h => $"{h.Name}={h.Value[..Math.Min(h.Value.Length, 40)]}"))} " +
            $"body {(Body is null ? "none" : Encoding.UTF8.GetString(Body[..Math.Min(Body.Length, 300)]))}";
    }

    private static FuzzCase HttpCase(Random random, int index)
    {
        var id = random.Next(3) switch { 0 => Guid.NewGuid().ToString("n"), 1 => "x", _ => RandomText(random, random.Next(1, 40)) };
        var headers = Enumerable.Range(0, random.Next(3))
            .Select(_ => (HeaderNames[random.Next(HeaderNames.Length)], HeaderValues[random.Next(HeaderValues.Length)]))
            .ToArray();
        return (index % 4) switch
        {
            // Most cases are bodies: that is where the API's own code parses untrusted input.
            0 or 1 => new(HttpMethod.Post, "/api/chat/stream", MutatedBody(random), "application/json", headers, "body"),
            2 => new(HttpMethod.Post, "/api/chat/stream", MutatedBody(random), ContentTypes[random.Next(ContentTypes.Length)], headers, "content type"),
            _ => new(Methods[random.Next(Methods.Length)], EscapePath(Paths[random.Next(Paths.Length)].Replace("{id}", id)),
                random.Next(2) == 0 ? null : MutatedBody(random), "application/json", headers, "path"),
        };
    }

    // Keeps what shapes a path (separators, dots, existing escapes) and escapes the rest, as a client library would.
    private static string EscapePath(string path) => string.Concat(path.Select(c =>
        char.IsAsciiLetterOrDigit(c) || c is '/' or '?' or '=' or '%' or ';' or '.' or '-' or '_' ? c.ToString() : Uri.EscapeDataString(c.ToString())));

    private static byte[] MutatedBody(Random random)
    {
        var body = Encoding.UTF8.GetBytes(ValidBodies[random.Next(ValidBodies.Length)]).ToList();
        var mutations = random.Next(1, 4);
        for (var m = 0; m < mutations; m++)
        {
            var at = random.Next(body.Count + 1);
            switch (random.Next(9))
            {
                case 0: // truncate
                    body = body.Take(at).ToList();
                    break;
                case 1: // flip a byte
                    if (body.Count > 0) body[Math.Min(at, body.Count - 1)] = (byte)random.Next(256);
                    break;
                case 2: // insert a JSON fragment
                    body.InsertRange(at, Encoding.UTF8.GetBytes(Fragments[random.Next(Fragments.Length)]));
                    break;
                case 3: // invalid UTF-8
                    body.InsertRange(at, new byte[] { 0xC3, 0x28, 0xFF, 0xFE, 0xED, 0xA0, 0x80 }.Take(random.Next(1, 8)));
                    break;
                case 4: // deep nesting
                    var depth = random.Next(10, 5000);
                    body.InsertRange(at, Encoding.UTF8.GetBytes(new string('[', depth) + new string(']', random.Next(depth + 1))));
                    break;
                case 5: // replace a value of a known field
                    var text = Encoding.UTF8.GetString(body.ToArray());
                    foreach (var field in new[] { "\"role\":", "\"content\":", "\"maxTokens\":", "\"temperature\":", "\"messages\":" })
                    {
                        var i = text.IndexOf(field, StringComparison.Ordinal);
                        if (i >= 0 && random.Next(2) == 0)
                        {
                            var end = text.IndexOfAny([',', '}'], i + field.Length);
                            text = text[..(i + field.Length)] + Fragments[random.Next(Fragments.Length)] + (end < 0 ? "" : text[end..]);
                        }
                    }

                    body = Encoding.UTF8.GetBytes(text).ToList();
                    break;
                case 6: // many messages
                    var message = "{\"role\":\"user\",\"content\":\"x\"},";
                    var many = "{\"messages\":[" + string.Concat(Enumerable.Repeat(message, random.Next(400, 700))).TrimEnd(',') + "]}";
                    body = Encoding.UTF8.GetBytes(many).ToList();
                    break;
                case 7: // over the body limit
                    body.InsertRange(Math.Min(at, body.Count), Encoding.UTF8.GetBytes(new string(' ', random.Next(60_000, 70_000))));
                    break;
                default: // a byte-order mark or control characters
                    body.InsertRange(random.Next(2) == 0 ? 0 : at, new byte[] { 0xEF, 0xBB, 0xBF, 0x00, 0x1F }.Take(random.Next(1, 6)));
                    break;
            }
        }

        return [.. body];
    }

    private static byte[] RawCase(Random random, int index)
    {
        var body = Encoding.UTF8.GetString(MutatedBody(random));
        var length = Encoding.UTF8.GetByteCount(body);
        var id = RandomText(random, 8);
        string text = (index % 10) switch
        {
            0 => $"POST /api/chat/stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {length + random.Next(-5, 0)}\r\n\r\n{body}",
            1 => $"POST /api/chat/stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{random.Next(1, 99999):x}\r\n{body}\r\n0\r\n\r\n",
            2 => $"POST /api/chat/stream HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{body}",
            3 => $"POST /api/chat/stream HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{body}",
            4 => $"GET /api/chat/stream/{id} HTTP/1.1\r\nHost: x\r\nLast-Event-ID: \u0001\u007f{id}\r\n\r\n",
            5 => $"POST /api/chat/stream HTTP/1.1\r\nHost: x\r\nX-MS-CLIENT-PRINCIPAL-ID: é{id}\u00ff\r\nX-Forwarded-For: {RandomText(random, 20)}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n{body}",
            6 => $"{RandomText(random, random.Next(1, 10))} /api/info HTTP/1.1\r\nHost: x\r\n\r\n",
            7 => $"GET /api/info HTTP/{random.Next(0, 4)}.{random.Next(0, 10)}\r\nHost: x\r\n{RandomText(random, 10)}\r\n\r\n",
            8 => $"GET /api/{new string('a', random.Next(8_000, 40_000))} HTTP/1.1\r\nHost: x\r\n\r\n",
            _ => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + RandomText(random, 50),
        };
        return Encoding.Latin1.GetBytes(text);
    }

    private static string RandomText(Random random, int length)
    {
        const string alphabet = "abcXYZ019 -_./%?#[]{}:;,'\"\\<>|`~!@$^&*()+=\t";
        return string.Create(length, random, (span, r) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = alphabet[r.Next(alphabet.Length)];
            }
        });
    }
}
