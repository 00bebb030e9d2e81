// The certificate STARTTLS serves: the PEM pair named by Tls:CertificateFile and Tls:KeyFile, or
// a self-signed certificate for Hostname made once in <data>/tls, so TLS works from the first
// start. TLS 1.2 and 1.3 only, with the platform's cipher defaults.
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Mailward.Protocols.Tls;

public sealed class TlsCertificates(X509Certificate2 certificate)
{
    public X509Certificate2 Certificate { get; } = certificate;

    public static TlsCertificates Load(string certificateFile, string keyFile, string dataPath, string hostname)
    {
        if (certificateFile.Length > 0)
            return new TlsCertificates(X509Certificate2.CreateFromPemFile(certificateFile, keyFile.Length > 0 ? keyFile : null));
        var dir = Path.Combine(dataPath, "tls");
        var cert = Path.Combine(dir, "selfsigned.pem");
        var key = Path.Combine(dir, "selfsigned.key");
        if (!File.Exists(cert) || !File.Exists(key))
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
            File.WriteAllText(cert, created.ExportCertificatePem());
        }
        return new TlsCertificates(X509Certificate2.CreateFromPemFile(cert, key));
    }

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
            await ssl.DisposeAsync();
            throw new IOException("TLS handshake timed out");
        }
        catch
        {
            await ssl.DisposeAsync();
            throw;
        }
        return (ssl, $"using {ssl.SslProtocol} with cipher {ssl.NegotiatedCipherSuite}");
    }
}
