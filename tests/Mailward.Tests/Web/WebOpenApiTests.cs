// The OpenAPI document at /api/v1/openapi.json: served to anyone, valid OpenAPI 3.1 by an
// independent validator (Python's openapi-spec-validator), naming every endpoint the server maps
// under /api/ with the same methods, every $ref resolving; and errors as RFC 9457 problem details
// carrying the commands' error names and exit codes.
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Mailward.Tests.Web;

public sealed class WebOpenApiTests(WebServer web) : IClassFixture<WebServer>
{
    private async Task<(string Text, JsonElement Root)> DocumentAsync()
    {
        using var client = web.Client();
        using var r = await client.GetAsync("/api/v1/openapi.json");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("application/json", r.Content.Headers.ContentType?.MediaType);
        var text = await r.Content.ReadAsStringAsync();
        return (text, JsonDocument.Parse(text).RootElement.Clone());
    }

    [Fact]
    public async Task The_document_names_every_mapped_api_endpoint_with_its_methods()
    {
        var (_, doc) = await DocumentAsync();
        Assert.Equal("3.1.0", doc.GetProperty("openapi").GetString());
        var documented = doc.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(m => (Method: m.Name.ToUpperInvariant(), Route: p.Name))).ToHashSet();

        // What the running server maps, from its routing (not from the table the document is built from).
        var mapped = web.Server.Services.GetServices<EndpointDataSource>().SelectMany(s => s.Endpoints).OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? []).Select(m => (Method: m, Route: e.RoutePattern.RawText!)))
            .ToHashSet();
        Assert.True(mapped.Count >= 40, $"only {mapped.Count} API endpoints found mapped");
        foreach (var endpoint in mapped)
            Assert.Contains(endpoint, documented);
        Assert.Equal(mapped.Count, documented.Count);

        foreach (var path in doc.GetProperty("paths").EnumerateObject())
            foreach (var op in path.Value.EnumerateObject())
            {
                Assert.True(op.Value.GetProperty("responses").EnumerateObject().Any(), $"{op.Name} {path.Name} has no responses");
                var declared = op.Value.GetProperty("parameters").EnumerateArray().Where(p => p.GetProperty("in").GetString() == "path")
                    .Select(p => p.GetProperty("name").GetString()).ToHashSet();
                foreach (var segment in path.Name.Split('/').Where(s => s.StartsWith('{')))
                    Assert.Contains(segment[1..^1], declared);
            }
    }

    [Fact]
    public async Task Every_reference_resolves_and_an_independent_validator_accepts_the_document()
    {
        var (text, doc) = await DocumentAsync();
        foreach (var reference in References(doc))
        {
            var node = doc;
            foreach (var part in reference.TrimStart('#', '/').Split('/'))
                Assert.True(node.TryGetProperty(part, out node), $"{reference} does not resolve");
        }

        var psi = new ProcessStartInfo("python3", ["-c", "import json, sys; from openapi_spec_validator import validate; validate(json.load(sys.stdin)); print('valid')"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        await p.StandardInput.WriteAsync(text);
        p.StandardInput.Close();
        var output = await p.StandardOutput.ReadToEndAsync();
        var error = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0 && output.Trim() == "valid", $"openapi-spec-validator: {error}");
    }

    private static IEnumerable<string> References(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => e.EnumerateObject().SelectMany(p => p.Name == "$ref" && p.Value.ValueKind == JsonValueKind.String && p.Value.GetString()!.StartsWith('#')
            ? [p.Value.GetString()!] : References(p.Value)),
        JsonValueKind.Array => e.EnumerateArray().SelectMany(References),
        _ => [],
    };

    [Theory]
    [InlineData("POST", "/api/v1/domains/a.test/users", "{\"local\":\"u1\",\"password\":\"x-secret-1\"}", 409, "user-exists")]
    [InlineData("GET", "/api/v1/domains/nowhere.test", null, 404, "domain-not-found")]
    [InlineData("PUT", "/api/v1/users/u1@a.test/quota", "{\"quota\":\"lots\"}", 400, "quota-malformed")]
    [InlineData("DELETE", "/api/v1/domains/a.test/aliases/nobody", null, 404, "alias-not-found")]
    [InlineData("DELETE", "/api/v1/relayrules?network=192.0.2.0/24", null, 400, "invalid-argument")]
    [InlineData("PUT", "/api/v1/users/u1@a.test/forward", "{\"targets\":[\"|/bin/sh\"]}", 400, "invalid-argument")]
    [InlineData("PATCH", "/api/v1/users/u1@a.test", "{\"set\":[\"no-such-flag\"]}", 400, "invalid-argument")]
    [InlineData("PUT", "/api/v1/domains/a.test/limits", "{\"maxUsers\":5,\"systemAdmin\":true}", 400, "invalid-argument")]
    public async Task Errors_are_problem_details_with_the_commands_error_name_and_exit_code(string method, string path, string? body, int status, string error)
    {
        using var client = await web.LoggedInAsync(WebServer.SystemAdmin);
        using var r = await client.SendJsonAsync(new HttpMethod(method), path, body);
        Assert.Equal(status, (int)r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(error, problem.GetProperty("error").GetString());
        Assert.Equal("urn:mailward:problem:" + error, problem.GetProperty("type").GetString());
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        var entry = AccountErrorTable.Entries.Single(e => e.ProblemName == error);
        Assert.Equal(entry.ExitCode, problem.GetProperty("exitCode").GetInt32());
        Assert.Equal(entry.HttpStatus, status);
    }

    [Fact]
    public async Task A_domain_admin_cannot_raise_its_own_limits_or_claim_an_alias_domain_through_the_api()
    {
        using var da = await web.LoggedInAsync(WebServer.Postmaster);
        var before = web.Store.FindDomain("a.test")!.Limits;
        using (var r = await da.SendJsonAsync(HttpMethod.Put, "/api/v1/domains/a.test/limits", new { maxUsers = 100000, domainQuota = "10G" }))
            Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        using (var r = await da.SendJsonAsync(HttpMethod.Post, "/api/v1/domains/a.test/aliasdomains", new { alias = "stolen.test" }))
            Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        using (var r = await da.SendJsonAsync(HttpMethod.Patch, "/api/v1/users/u1@a.test", new { set = new[] { "system-admin" } }))
            Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        Assert.Equal(before, web.Store.FindDomain("a.test")!.Limits);
        Assert.Null(web.Store.FindDomain("stolen.test"));
        Assert.False(web.Store.FindUser("u1", "a.test")!.Flags.HasFlag(UserFlags.SystemAdmin));
    }
}
