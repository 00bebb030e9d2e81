// Certificates renewed without a restart: a changed file is picked up by the watcher (in-process
// server), and SIGHUP reloads at once without stopping a child `mailward serve`.
using System.Diagnostics;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mailward.Tests.Support;

namespace Mailward.Tests.Smtp;

public sealed class CertificateReloadTests : IDisposable
{
    private readonly ServerProcesses _servers = new();

    public void Dispose() => _servers.Dispose();

    private static void WritePair(string cert, string key, string name)
    {
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest($"CN={name}", rsa,
            System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        File.WriteAllText(key, rsa.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(cert, created.ExportCertificatePem());
    }

    private static async Task<string> ServedSubjectAsync(System.Net.IPEndPoint at)
    {
        var subject = "";
        using var c = new SmtpClient
        {
            // Accept only the two test certificates, and note which one was served.
            ServerCertificateValidationCallback = (_, cert, _, _) =>
            {
                subject = cert?.Subject ?? "";
                return subject is "CN=first.test" or "CN=second.test";
            },
            Timeout = 15_000,
        };
        await c.ConnectAsync(at.Address.ToString(), at.Port, SecureSocketOptions.SslOnConnect);
        await c.DisconnectAsync(true);
        return subject;
    }

    [Fact]
    public async Task A_swapped_certificate_is_served_without_a_restart_and_tls_show_prints_it()
    {
        using var folder = new TempFolder();
        var cert = folder.Combine("cert.pem");
        var key = folder.Combine("key.pem");
        WritePair(cert, key, "first.test");
        await using var server = await ServerFixture.StartAsync(["domain hosted.test"],
            $"--Tls:CertificateFile={cert}", $"--Tls:KeyFile={key}", "--Tls:ReloadCheckSeconds=1");
        Assert.Equal("CN=first.test", await ServedSubjectAsync(server.Smtps));

        using (var runner = new MailwardRunner())
        {
            var show = (await runner.RunWith("", null, "--data", server.DataPath, $"--Tls:CertificateFile={cert}", $"--Tls:KeyFile={key}", "tls", "show")).Ok().Out;
            Assert.Contains($"file: {cert}", show);
            Assert.Contains("subject: CN=first.test", show);
            Assert.Matches("sha256: [0-9A-F]{64}", show);
        }

        WritePair(cert, key, "second.test");
        File.SetLastWriteTimeUtc(cert, DateTime.UtcNow.AddSeconds(5)); // a change even within the file system's time granularity
        var served = "";
        for (var i = 0; i < 50 && served != "CN=second.test"; i++)
        {
            await Task.Delay(200);
            served = await ServedSubjectAsync(server.Smtps);
        }
        Assert.Equal("CN=second.test", served);
        Assert.Contains(server.Log, l => l.Contains("tls certificate reloaded: CN=second.test", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SIGHUP_reloads_the_certificate_at_once_and_the_server_keeps_running()
    {
        using var m = new MailwardRunner();
        (await m.Run("vadddomain", "hosted.test", "pw")).Ok();
        var cert = Path.Combine(m.Data, "cert.pem");
        var key = Path.Combine(m.Data, "key.pem");
        WritePair(cert, key, "first.test");
        var smtps = ServerProcesses.FreePort();
        // No file watching: only the signal can make the server read the files again. Started under
        // nohup, as admins start daemons by hand: SIGHUP arrives ignored and must still reload.
        _servers.Launcher = "nohup";
        using var server = _servers.Start(m.Data, ServerProcesses.FreePort(), $"--Smtps:Port={smtps}",
            $"--Tls:CertificateFile={cert}", $"--Tls:KeyFile={key}", "--Tls:ReloadCheckSeconds=0");
        await ServerProcesses.WaitListeningAsync(smtps);
        var at = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, smtps);
        Assert.Equal("CN=first.test", await ServedSubjectAsync(at));

        WritePair(cert, key, "second.test");
        await Task.Delay(300);
        Assert.Equal("CN=first.test", await ServedSubjectAsync(at)); // not watched: still the old one

        using (var hup = Process.Start("kill", ["-HUP", server.Id.ToString()]))
            await hup.WaitForExitAsync();
        // Up to 30 s, as for a start, on a machine running the whole suite on two cores.
        var served = "";
        var deadline = Stopwatch.StartNew();
        while (served != "CN=second.test" && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(100);
            served = await ServedSubjectAsync(at);
        }
        Assert.Equal("CN=second.test", served);
        Assert.False(server.HasExited);
        Assert.Contains(_servers.Output, l => l.Contains("tls certificate reloaded: CN=second.test", StringComparison.Ordinal));
    }
}
