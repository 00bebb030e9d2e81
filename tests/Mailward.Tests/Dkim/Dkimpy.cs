// dkimpy (Debian's python3-dkim, with python3-nacl for Ed25519), the independent DKIM implementation
// the tests sign with and verify against: run by /usr/bin/python3, its key record answered by a
// dnsfunc from the test (no DNS at all), so what it says depends on the message bytes and the record only.
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace Mailward.Tests.Dkim;

/// <param name="Private">For dkimpy: PKCS#1 PEM (RSA) or the base64 32-byte seed (Ed25519).</param>
/// <param name="Record">The key record for selector._domainkey.domain.</param>
public sealed record TestDkimKey(string Algorithm, string Private, string Record)
{
    public static TestDkimKey Rsa(int bits = 2048)
    {
        using var rsa = RSA.Create(bits);
        return new("rsa-sha256", rsa.ExportRSAPrivateKeyPem(), "v=DKIM1; k=rsa; p=" + Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo()));
    }

    public static TestDkimKey Ed25519()
    {
        var gen = new Ed25519KeyPairGenerator();
        gen.Init(new Ed25519KeyGenerationParameters(new SecureRandom()));
        var pair = gen.GenerateKeyPair();
        return new("ed25519-sha256", Convert.ToBase64String(((Ed25519PrivateKeyParameters)pair.Private).GetEncoded()),
            "v=DKIM1; k=ed25519; p=" + Convert.ToBase64String(((Ed25519PublicKeyParameters)pair.Public).GetEncoded()));
    }
}

public static class Dkimpy
{
    public static bool Installed => File.Exists("/usr/bin/python3") && File.Exists("/usr/lib/python3/dist-packages/dkim/__init__.py")
        && File.Exists("/usr/lib/python3/dist-packages/nacl/signing.py");

    private const string Script = """
        import sys, json, base64, dkim
        req = json.load(sys.stdin)
        msg = base64.b64decode(req['message'])
        if req['op'] == 'sign':
            sig = dkim.sign(msg, req['selector'].encode(), req['domain'].encode(), req['key'].encode(),
                            canonicalize=(b'relaxed', b'relaxed'), signature_algorithm=req['algorithm'].encode(),
                            include_headers=[h.encode() for h in req['headers']])
            print(json.dumps({'out': base64.b64encode(sig + msg).decode()}))
        elif req['op'] == 'arcverify':
            records = req['records']
            def dnsfunc(name, timeout=5):
                n = name.decode() if isinstance(name, bytes) else name
                return records.get(n.rstrip('.'), '').encode()
            cv, results, comment = dkim.arc_verify(msg, dnsfunc=dnsfunc)
            print(json.dumps({'cv': cv.decode(), 'comment': comment}))
        else:
            records = req['records']
            def dnsfunc(name, timeout=5):
                n = name.decode() if isinstance(name, bytes) else name
                return records.get(n.rstrip('.'), '').encode()
            d = dkim.DKIM(msg)
            try:
                ok, error = d.verify(idx=req.get('index', 0), dnsfunc=dnsfunc), ''
            except Exception as e:  # dkimpy raises some failures instead of answering False
                ok, error = False, repr(e)
            print(json.dumps({'ok': bool(ok), 'domain': (d.domain or b'').decode(), 'selector': (d.selector or b'').decode(), 'error': error}))
        """;

    /// <summary>The message with dkimpy's relaxed/relaxed DKIM-Signature on top.</summary>
    public static async Task<byte[]> SignAsync(byte[] message, TestDkimKey key, string domain, string selector, params string[] headers)
    {
        var reply = await RunAsync(new
        {
            op = "sign",
            message = Convert.ToBase64String(message),
            selector,
            domain,
            key = key.Private,
            algorithm = key.Algorithm,
            headers = headers.Length > 0 ? headers : ["From", "To", "Subject", "Date", "Message-ID"],
        });
        return Convert.FromBase64String(reply.GetProperty("out").GetString()!);
    }

    /// <summary>dkimpy's verdict on the <paramref name="index"/>th DKIM-Signature, its key records given by name ("sel._domainkey.example.test").</summary>
    public static async Task<(bool Ok, string Domain, string Selector)> VerifyAsync(byte[] message, IReadOnlyDictionary<string, string> records, int index = 0)
    {
        var reply = await RunAsync(new { op = "verify", message = Convert.ToBase64String(message), records, index });
        return (reply.GetProperty("ok").GetBoolean(), reply.GetProperty("domain").GetString()!, reply.GetProperty("selector").GetString()!);
    }

    /// <summary>dkimpy's verdict on the first signature and what it raised, if anything (a failure it reports by an exception).</summary>
    public static async Task<(bool Ok, string Error)> VerifyWithErrorAsync(byte[] message, IReadOnlyDictionary<string, string> records)
    {
        var reply = await RunAsync(new { op = "verify", message = Convert.ToBase64String(message), records, index = 0 });
        return (reply.GetProperty("ok").GetBoolean(), reply.GetProperty("error").GetString()!);
    }

    /// <summary>dkimpy's ARC chain validation (RFC 8617 §5.2): "pass", "fail" or "none", and its comment.</summary>
    public static async Task<(string Chain, string Comment)> ArcVerifyAsync(byte[] message, IReadOnlyDictionary<string, string> records)
    {
        var reply = await RunAsync(new { op = "arcverify", message = Convert.ToBase64String(message), records });
        return (reply.GetProperty("cv").GetString()!, reply.GetProperty("comment").GetString()!);
    }

    private static async Task<JsonElement> RunAsync(object request)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(Script);
        using var p = Process.Start(psi)!;
        await p.StandardInput.WriteAsync(JsonSerializer.Serialize(request));
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        Assert.True(p.ExitCode == 0, await stderr);
        return JsonDocument.Parse(await stdout).RootElement;
    }

    public static byte[] Crlf(string text) => Encoding.UTF8.GetBytes(text.ReplaceLineEndings("\r\n"));
}

/// <summary>Skipped unless dkimpy and PyNaCl are installed for /usr/bin/python3 (.ci/run installs python3-dkim and python3-nacl).</summary>
public sealed class FactWhenDkimpyAttribute : FactAttribute
{
    public FactWhenDkimpyAttribute()
    {
        if (!Dkimpy.Installed)
            Skip = "dkimpy is not installed (apt-get install python3-dkim python3-nacl; .ci/run does)";
    }
}
