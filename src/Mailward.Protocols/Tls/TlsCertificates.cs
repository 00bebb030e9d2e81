// The certificate TLS serves: the PEM pair named by Tls:CertificateFile and Tls:KeyFile, or a
// self-signed certificate for Hostname made in <data>/tls, so TLS works from the first start.
// Reloaded without a restart when the files change or on SIGHUP. TLS 1.2 and 1.3 only, with the
// platform's cipher defaults.
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mailward.Core.Metrics;

namespace Mailward.Protocols.Tls;

public sealed class TlsCertificates : IDisposable
{
    private readonly string _certificateFile;
    private readonly string _keyFile;
    private volatile X509Certificate2 _current;
    private (DateTime Cert, DateTime Key) _stamps;
    private ITimer? _timer;

    public TlsCertificates(X509Certificate2 certificate, string certificateFile = "", string keyFile = "")
    {
        _current = certificate;
        _certificateFile = certificateFile;
        _keyFile = keyFile;
        _stamps = Stamps();
    }

    /// <summary>What new handshakes present; swapped by <see cref="Reload"/>.</summary>
    public X509Certificate2 Certificate => _current;

    /// <summary>Where the certificate comes from: the configured file, or the self-signed one in the data folder.</summary>
    public string Source => _certificateFile;

    /// <summary>Reports each reload: true with the new subject, or false with why the old one stays.</summary>
    public event Action<bool, string>? Reloaded;

    public static TlsCertificates Load(string certificateFile, string keyFile, string dataPath, string hostname)
    {
        if (certificateFile.Length > 0)
            return new TlsCertificates(X509Certificate2.CreateFromPemFile(certificateFile, keyFile.Length > 0 ? keyFile : null), certificateFile, keyFile);
        var dir = Path.Combine(dataPath, "tls");
        var cert = Path.Combine(dir, "selfsigned.pem");
        var key = Path.Combine(dir, "selfsigned.key");
        // Made again when missing or made for another Hostname: it must carry the server's name.
        if (!File.Exists(cert) || !File.Exists(key) || !SubjectIs(cert, hostname))
        {
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            using var rsa = RSA.Create(2048);
            var request = new CertificateRequest($"CN={hostname}", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName(hostname);
            request.CertificateExtensions.Add(san.Build());
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
            using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(10));
            File.WriteAllText(key + ".tmp", rsa.ExportPkcs8PrivateKeyPem());
            File.SetUnixFileMode(key + ".tmp", UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.Move(key + ".tmp", key, overwrite: true);
            File.WriteAllText(cert + ".tmp", created.ExportCertificatePem());
            File.Move(cert + ".tmp", cert, overwrite: true);
        }
        return new TlsCertificates(X509Certificate2.CreateFromPemFile(cert, key), cert, key);
    }

    private static bool SubjectIs(string certFile, string hostname)
    {
        try
        {
            using var c = X509Certificate2.CreateFromPem(File.ReadAllText(certFile));
            return c.GetNameInfo(X509NameType.SimpleName, forIssuer: false).Equals(hostname, StringComparison.OrdinalIgnoreCase);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>Reads the files again (SIGHUP, or a change seen by the watcher); a bad pair leaves the current one serving.</summary>
    public bool Reload()
    {
        if (_certificateFile.Length == 0)
            return false;
        try
        {
            var fresh = X509Certificate2.CreateFromPemFile(_certificateFile, _keyFile.Length > 0 ? _keyFile : null);
            _current = fresh; // the old one may still serve a handshake in progress; the GC frees it
            _stamps = Stamps();
            Reloaded?.Invoke(true, fresh.Subject);
            return true;
        }
        catch (Exception e) when (e is CryptographicException or IOException or ArgumentException)
        {
            _stamps = Stamps(); // do not retry the same broken files every tick
            Reloaded?.Invoke(false, e.Message);
            return false;
        }
    }

    /// <summary>Checks the files' modification times every <paramref name="interval"/> and reloads on a change (a certbot renewal).</summary>
    public void WatchFiles(TimeSpan interval, TimeProvider? time = null)
    {
        if (_certificateFile.Length == 0 || interval <= TimeSpan.Zero)
            return;
        _timer = (time ?? TimeProvider.System).CreateTimer(_ =>
        {
            if (Stamps() != _stamps)
                Reload();
        }, null, interval, interval);
    }

    private (DateTime, DateTime) Stamps() =>
        (_certificateFile.Length > 0 ? File.GetLastWriteTimeUtc(_certificateFile) : default,
         _keyFile.Length > 0 ? File.GetLastWriteTimeUtc(_keyFile) : default);

    public void Dispose() => _timer?.Dispose();

    /// <summary>The server side of a TLS handshake on <paramref name="plain"/>, bounded in time.</summary>
    public async Task<(Stream Stream, string Description)> HandshakeAsync(Stream plain, CancellationToken ct)
    {
        var ssl = new SslStream(plain, leaveInnerStreamOpen: false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = Certificate,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                ClientCertificateRequired = false,
            }, timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            MailwardMetrics.TlsHandshakeFailed();
            await ssl.DisposeAsync();
            throw new IOException("TLS handshake timed out");
        }
        catch
        {
            MailwardMetrics.TlsHandshakeFailed();
            await ssl.DisposeAsync();
            throw;
        }
        MailwardMetrics.TlsHandshake(ssl.SslProtocol);
        return (ssl, $"using {ssl.SslProtocol} with cipher {ssl.NegotiatedCipherSuite}");
    }
}
