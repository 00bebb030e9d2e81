// The OpenAPI 3.1 document served at /api/v1/openapi.json: built at start from the access table
// (every /api/ route WebAccess maps, with its summary and who may call it) and from Shapes below
// (each endpoint's body, answer and query parameters, as the C# records the endpoints read and
// write, turned into JSON Schema by System.Text.Json's exporter, so the document cannot drift from
// the code). Errors are RFC 9457 problem details, as Problems writes them.
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Schema;
using Mailward.Core.Admin;
using Mailward.Core.Delivery;
using Mailward.Web.Access;
using static Mailward.Web.Api.ApiEndpoints;

namespace Mailward.Web.Api;

internal static class OpenApiDocument
{
    public const string Route = "/api/v1/openapi.json";

    /// <param name="Body">The JSON body it takes (null: none).</param>
    /// <param name="Status">The status of success.</param>
    /// <param name="Answer">The JSON it answers with (null: no body).</param>
    /// <param name="Query">Query parameters: name and what it is.</param>
    public sealed record Shape(Type? Body, int Status, Type? Answer, params (string Name, string What)[] Query);

    private static readonly (string, string)[] Paging = [("search", "only items whose name contains this (case-insensitive)"),
        ("after", "the cursor: the next of the page before"), ("limit", "most items on the page, 1 to 1000 (default Admin:PageSize)")];

    /// <summary>Every API endpoint's shape, by method and route as WebAccess names them (a test checks the two agree).</summary>
    public static readonly IReadOnlyDictionary<(string Method, string Route), Shape> Shapes = new Dictionary<(string, string), Shape>
    {
        [("GET", "/api/v1/me")] = new(null, 200, typeof(MeJson)),
        [("PUT", "/api/v1/me/password")] = new(typeof(PasswordBody), 204, null),
        [("GET", "/api/v1/domains")] = new(null, 200, typeof(PageJson<DomainJson>), Paging),
        [("POST", "/api/v1/domains")] = new(typeof(NewDomainBody), 201, typeof(NewDomainJson)),
        [("GET", "/api/v1/domains/{domain}")] = new(null, 200, typeof(DomainInfoJson)),
        [("DELETE", "/api/v1/domains/{domain}")] = new(null, 204, null),
        [("GET", "/api/v1/domains/{domain}/users")] = new(null, 200, typeof(PageJson<UserJson>), Paging),
        [("POST", "/api/v1/domains/{domain}/users")] = new(typeof(NewUserBody), 201, typeof(UserJson)),
        [("PUT", "/api/v1/domains/{domain}/catchall")] = new(typeof(CatchAllBody), 200, typeof(DomainJson)),
        [("PUT", "/api/v1/domains/{domain}/limits")] = new(typeof(LimitsBody), 200, typeof(DomainJson)),
        [("GET", "/api/v1/domains/{domain}/usage")] = new(null, 200, typeof(UsageJson)),
        [("GET", "/api/v1/domains/{domain}/aliasdomains")] = new(null, 200, typeof(List<string>)),
        [("POST", "/api/v1/domains/{domain}/aliasdomains")] = new(typeof(AliasDomainBody), 201, typeof(List<string>)),
        [("DELETE", "/api/v1/domains/{domain}/aliasdomains/{alias}")] = new(null, 204, null),
        [("GET", "/api/v1/domains/{domain}/aliases")] = new(null, 200, typeof(PageJson<AliasJson>), Paging),
        [("POST", "/api/v1/domains/{domain}/aliases")] = new(typeof(AliasLineBody), 201, typeof(AliasLineJson)),
        [("DELETE", "/api/v1/domains/{domain}/aliases/{local}")] = new(null, 204, null, ("target", "remove only this line (an address); absent: the whole alias")),
        [("GET", "/api/v1/users/{address}")] = new(null, 200, typeof(UserJson)),
        [("GET", "/api/v1/domains/{domain}/lists")] = new(null, 200, typeof(List<ListJson>)),
        [("POST", "/api/v1/domains/{domain}/lists")] = new(typeof(NewListBody), 201, typeof(ListJson)),
        [("GET", "/api/v1/domains/{domain}/lists/{list}")] = new(null, 200, typeof(ListJson)),
        [("PATCH", "/api/v1/domains/{domain}/lists/{list}")] = new(typeof(ListSettingsBody), 200, typeof(ListJson)),
        [("DELETE", "/api/v1/domains/{domain}/lists/{list}")] = new(null, 204, null),
        [("GET", "/api/v1/domains/{domain}/lists/{list}/{set}")] = new(null, 200, typeof(PageJson<string>), Paging),
        [("POST", "/api/v1/domains/{domain}/lists/{list}/{set}")] = new(typeof(MembersBody), 200, typeof(MembersChangedJson)),
        [("DELETE", "/api/v1/domains/{domain}/lists/{list}/{set}/{member}")] = new(null, 204, null),
        [("PATCH", "/api/v1/users/{address}")] = new(typeof(UserChangeBody), 200, typeof(UserJson)),
        [("DELETE", "/api/v1/users/{address}")] = new(null, 204, null),
        [("PUT", "/api/v1/users/{address}/quota")] = new(typeof(QuotaBody), 200, typeof(UserJson)),
        [("PUT", "/api/v1/users/{address}/password")] = new(typeof(SetPasswordBody), 204, null),
        [("GET", "/api/v1/users/{address}/forward")] = new(null, 200, typeof(ForwardJson)),
        [("PUT", "/api/v1/users/{address}/forward")] = new(typeof(ForwardBody), 200, typeof(ForwardJson)),
        [("GET", "/api/v1/users/{address}/usage")] = new(null, 200, typeof(UsageJson)),
        [("GET", "/api/v1/users/{address}/vacation")] = new(null, 200, typeof(VacationJson)),
        [("PUT", "/api/v1/users/{address}/vacation")] = new(typeof(VacationBody), 200, typeof(VacationJson)),
        [("DELETE", "/api/v1/users/{address}/vacation")] = new(null, 204, null),
        [("GET", "/api/v1/keys")] = new(null, 200, typeof(List<ApiKeyJson>)),
        [("POST", "/api/v1/keys")] = new(typeof(NewKeyBody), 201, typeof(NewKeyJson)),
        [("DELETE", "/api/v1/keys/{name}")] = new(null, 204, null),
        [("GET", "/api/v1/admins")] = new(null, 200, typeof(List<AdminGrantJson>)),
        [("POST", "/api/v1/admins")] = new(typeof(AdminGrantBody), 201, typeof(AdminGrantJson)),
        [("DELETE", "/api/v1/admins/{address}/{domain}")] = new(null, 204, null),
        [("GET", "/api/v1/relayrules")] = new(null, 200, typeof(List<RelayRuleJson>)),
        [("POST", "/api/v1/relayrules")] = new(typeof(RelayRuleBody), 201, typeof(RelayRuleJson)),
        [("DELETE", "/api/v1/relayrules")] = new(null, 204, null, ("network", "the rule's address or CIDR network")),
        [("GET", "/api/v1/ipmaps")] = new(null, 200, typeof(List<IpMapView>)),
        [("POST", "/api/v1/ipmaps")] = new(typeof(IpMapBody), 201, typeof(IpMapView)),
        [("DELETE", "/api/v1/ipmaps/{address}")] = new(null, 204, null, ("domain", "remove only the map to this domain")),
        [("GET", "/api/v1/queue")] = new(null, 200, typeof(PageJson<MessageStatus>), Paging),
        [("POST", "/api/v1/queue/flush")] = new(null, 200, typeof(FlushJson)),
        [("DELETE", "/api/v1/queue/{id}")] = new(null, 204, null),
        [("GET", "/api/v1/audit")] = new(null, 200, typeof(PageJson<AuditJson>), ("domain", "only this domain's rows"),
            ("after", "the cursor: the next of the page before"), ("limit", "most rows on the page, 1 to 1000")),
        [("GET", Route)] = new(null, 200, null),
    };

    /// <summary>The document, made once: it depends on the code only.</summary>
    public static readonly Lazy<string> Text = new(() => Build().ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

    private static JsonObject Build()
    {
        var schemas = new JsonObject();
        var paths = new JsonObject();
        foreach (var rule in WebAccess.Table.Where(r => r.Route.StartsWith("/api/", StringComparison.Ordinal)))
        {
            var shape = Shapes[(rule.Method, rule.Route)];
            if (paths[rule.Route] is not JsonObject path)
                paths[rule.Route] = path = new JsonObject();
            var parameters = new JsonArray();
            foreach (var name in RouteParameters(rule.Route))
                parameters.Add(new JsonObject { ["name"] = name, ["in"] = "path", ["required"] = true, ["schema"] = new JsonObject { ["type"] = "string" } });
            foreach (var (name, what) in shape.Query)
                parameters.Add(new JsonObject { ["name"] = name, ["in"] = "query", ["required"] = rule.Method == "DELETE" && rule.Route == "/api/v1/relayrules", ["description"] = what, ["schema"] = new JsonObject { ["type"] = "string" } });
            var responses = new JsonObject
            {
                [shape.Status.ToString(System.Globalization.CultureInfo.InvariantCulture)] = shape.Answer is null
                    ? new JsonObject { ["description"] = rule.Route == Route ? "this document" : "done" }
                    : new JsonObject { ["description"] = "done", ["content"] = Json(Schema(shape.Answer, schemas)) },
                ["default"] = new JsonObject { ["$ref"] = "#/components/responses/Problem" },
            };
            var operation = new JsonObject
            {
                ["operationId"] = OperationId(rule.Method, rule.Route),
                ["summary"] = rule.What,
                ["description"] = $"Who: {Who(rule.Need)}.",
                ["parameters"] = parameters,
                ["responses"] = responses,
            };
            if (rule.Need == Need.Anyone)
                operation["security"] = new JsonArray();
            if (shape.Body is not null)
                operation["requestBody"] = new JsonObject { ["required"] = true, ["content"] = Json(Schema(shape.Body, schemas)) };
            path[rule.Method.ToLowerInvariant()] = operation;
        }
        schemas["Problem"] = ApiJson.GetJsonSchemaAsNode(typeof(Problems.ProblemBody), new JsonSchemaExporterOptions { TreatNullObliviousAsNonNullable = true });
        return new JsonObject
        {
            ["openapi"] = "3.1.0",
            ["info"] = new JsonObject
            {
                ["title"] = "Mailward admin API",
                ["version"] = "1",
                ["description"] = "The admin operations of the mailward commands, JSON in and out (docs/web-admin.md). Errors are RFC 9457 problem details whose error and exitCode members are the commands' error names and exit statuses.",
            },
            ["servers"] = new JsonArray(new JsonObject { ["url"] = "/" }),
            ["security"] = new JsonArray(new JsonObject { ["apiKey"] = new JsonArray() }, new JsonObject { ["session"] = new JsonArray() }),
            ["paths"] = paths,
            ["components"] = new JsonObject
            {
                ["schemas"] = schemas,
                ["responses"] = new JsonObject
                {
                    ["Problem"] = new JsonObject
                    {
                        ["description"] = "an error (RFC 9457)",
                        ["content"] = new JsonObject { [Problems.ContentType] = new JsonObject { ["schema"] = new JsonObject { ["$ref"] = "#/components/schemas/Problem" } } },
                    },
                },
                ["securitySchemes"] = new JsonObject
                {
                    ["apiKey"] = new JsonObject { ["type"] = "http", ["scheme"] = "bearer", ["description"] = "an API key (mailward apikey add): mwk_ID_SECRET" },
                    ["session"] = new JsonObject
                    {
                        ["type"] = "apiKey",
                        ["in"] = "cookie",
                        ["name"] = "mailward",
                        ["description"] = "the session cookie of POST /login (__Host-mailward over HTTPS); unsafe methods also send X-CSRF-Token (GET /api/v1/me)",
                    },
                },
            },
        };
    }

    private static readonly JsonSerializerOptions ApiJson = new(JsonSerializerDefaults.Web) { TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver() };

    private static JsonObject Json(JsonNode schema) => new() { ["application/json"] = new JsonObject { ["schema"] = schema } };

    /// <summary>A named schema in components (the type's name, generic arguments joined), referenced from the operation.</summary>
    private static JsonObject Schema(Type type, JsonObject schemas)
    {
        var name = type.IsGenericType ? type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)] + "Of" + string.Concat(type.GetGenericArguments().Select(t => t.Name)) : type.Name;
        if (!schemas.ContainsKey(name))
            schemas[name] = ApiJson.GetJsonSchemaAsNode(type, new JsonSchemaExporterOptions { TreatNullObliviousAsNonNullable = true });
        return new JsonObject { ["$ref"] = "#/components/schemas/" + name };
    }

    private static IEnumerable<string> RouteParameters(string route) =>
        route.Split('/').Where(s => s.StartsWith('{') && s.EndsWith('}')).Select(s => s[1..^1]);

    private static string OperationId(string method, string route) =>
        method.ToLowerInvariant() + string.Concat(route["/api/v1".Length..].Split('/', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => s.Trim('{', '}').Replace(".", "", StringComparison.Ordinal)).Select(s => char.ToUpperInvariant(s[0]) + s[1..]));

    private static string Who(Need need) => need switch
    {
        Need.Anyone => "anyone",
        Need.SignedIn => "any session or API key (which accounts and domains: the operation's rules)",
        Need.SelfService => "a logged-in account, about itself (not with no-webmail; not a key)",
        Need.Admin => "a domain admin (its domains), a system admin, or an API key within its scope",
        Need.SystemAdmin => "a system admin, or an API key scoped to the system",
        _ => need.ToString(),
    };
}
