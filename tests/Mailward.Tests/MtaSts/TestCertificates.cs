// A private test CA and server certificates it signs, for the verified-TLS tests: the CA's PEM file
// is what Remote:ExtraRootCertificates names, so verification stays on and the system's roots stay.
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mailward.Tests.Support;

namespace Mailward.Tests.MtaSts;

public sealed class TestCertificates : IDisposable
{
    private readonly TempFolder _tmp = new();
    private readonly X509Certificate2 _ca;

    public TestCertificates()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=Mailward Test CA", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        _ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        RootFile = _tmp.Combine("test-ca.pem");
        File.WriteAllText(RootFile, _ca.ExportCertificatePem());
    }

    /// <summary>The PEM file of the CA, for Remote:ExtraRootCertificates.</summary>
    public string RootFile { get; }

    /// <summary>A server certificate for <paramref name="name"/> signed by the CA (or self-signed), with its key.</summary>
    public X509Certificate2 Server(string name, bool selfSigned = false)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        if (System.Net.IPAddress.TryParse(name, out var ip))
            san.AddIpAddress(ip); // a route named by its address is verified against the address
        else
            san.AddDnsName(name);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var issued = selfSigned ? request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(10))
            : request.Create(_ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(10), RandomNumberGenerator.GetBytes(8));
        using var withKey = issued.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null); // an SslStream server on Linux wants a persisted key
    }

    public void Dispose()
    {
        _ca.Dispose();
        _tmp.Dispose();
    }
}
