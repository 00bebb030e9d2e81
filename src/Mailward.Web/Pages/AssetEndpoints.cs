// The embedded assets (one style sheet; no script is needed: every form posts plainly).
using System.Reflection;
using Mailward.Web.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Mailward.Web.Pages;

internal static class AssetEndpoints
{
    private static readonly Dictionary<string, (byte[] Bytes, string Type)> Assets = Load();

    public static void Map(WebApplication app) => AdminWeb.Map(app, "GET", "/assets/{name}", (context, _) =>
    {
        var name = context.GetRouteValue("name") as string ?? "";
        return Task.FromResult(Assets.TryGetValue(name, out var a)
            ? Results.Bytes(a.Bytes, a.Type)
            : Results.NotFound());
    });

    private static Dictionary<string, (byte[], string)> Load()
    {
        var assembly = Assembly.GetExecutingAssembly();
        var assets = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        const string prefix = "Mailward.Web.Assets.";
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var name = resource[prefix.Length..];
            assets[name] = (copy.ToArray(), name.EndsWith(".css", StringComparison.Ordinal) ? "text/css; charset=utf-8" : "application/octet-stream");
        }
        return assets;
    }
}
