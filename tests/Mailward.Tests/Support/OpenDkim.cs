// OpenDKIM's own verifier (opendkim-testmsg, from Debian's opendkim-tools) run against the test's
// DNS records. Its library asks the system's resolver only, so the program runs in a private mount
// namespace (unshare -m) whose /etc/resolv.conf names a DnsTestServer on port 53 of a loopback
// address of its own; the machine's resolv.conf is never touched. Needs root, as .ci/run runs.
using System.Net;

namespace Mailward.Tests.Support;

public static class OpenDkim
{
    private static int _next;

    /// <summary>Exit code 0 and an empty error when OpenDKIM verifies every signature of
    /// <paramref name="message"/> (CRLF line ends) against <paramref name="records"/>
    /// ("selector._domainkey.domain" → TXT record); otherwise its code and what it printed.</summary>
    public static async Task<(bool Ok, string Error)> VerifyAsync(byte[] message, IReadOnlyDictionary<string, string> records)
    {
        // A loopback address per call, so tests running side by side each have their own port 53.
        var address = IPAddress.Parse($"127.0.53.{10 + (Interlocked.Increment(ref _next) % 200)}");
        await using var dns = new DnsTestServer(address, 53);
        foreach (var (name, record) in records)
            dns.Add(name, "TXT", record);
        using var tmp = new TempFolder();
        var resolvConf = Path.Combine(tmp.Path, "resolv.conf");
        await File.WriteAllTextAsync(resolvConf, $"nameserver {address}\noptions timeout:2 attempts:1\n");
        // -C: the message keeps its CRLFs as they arrived.
        var result = await ExternalProgram.RunAsync("unshare",
            ["-m", "sh", "-c", "mount --bind \"$1\" /etc/resolv.conf && exec opendkim-testmsg -C", "sh", resolvConf], message);
        return (result.Code == 0 && result.Err.Length == 0, (result.Err + result.Out).Trim());
    }

    /// <summary>Why a test that runs OpenDKIM this way cannot run here, or null when it can.</summary>
    public static string? Unavailable()
    {
        if (Core.Posix.Libc.EffectiveUserId != 0)
            return "needs root for unshare -m and port 53 (run the tests as root, as .ci/run does)";
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries);
        foreach (var program in new[] { "opendkim-testmsg", "unshare" })
            if (!path.Any(dir => File.Exists(Path.Combine(dir, program))))
                return $"{program} is not installed (apt-get install {(program == "unshare" ? "util-linux" : "opendkim-tools")}; .ci/run does)";
        return null;
    }
}

/// <summary>A test that verifies with OpenDKIM through <see cref="OpenDkim"/>.</summary>
public sealed class FactWhenOpenDkimAttribute : FactAttribute
{
    public FactWhenOpenDkimAttribute()
    {
        if (OpenDkim.Unavailable() is { } why)
            Skip = why;
    }
}
