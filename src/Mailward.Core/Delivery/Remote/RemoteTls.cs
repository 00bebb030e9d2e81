// Verified TLS for remote delivery where it is required: a destination's MTA-STS policy in enforce
// mode (RFC 8461 §4.2) or a route named in Remote:RequireTlsRoutes. The certificate must be valid
// for the name (the MX host, or the route's host) and chain to a trusted root: the system's, or one
// of Remote:ExtraRootCertificates (a private CA, a test network). Validation is never turned off;
// only opportunistic TLS (RFC 7435, where nothing requires TLS) accepts any certificate.
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Mailward.Core.Delivery.Remote;

/// <param name="VerifyName">The name the certificate must be valid for.</param>
/// <param name="Why">Why TLS is required, for the failure text ("MTA-STS policy of example.com").</param>
public sealed record TlsRequirement(string VerifyName, string Why, RemoteTrust Trust);

public sealed class RemoteTrust(X509Certificate2Collection extraRoots)
{
    public static RemoteTrust SystemRoots { get; } = new([]);

    /// <summary>The system's roots and the certificates of a PEM file (Remote:ExtraRootCertificates; empty: none).</summary>
    public static RemoteTrust Load(string pemFile)
    {
        if (pemFile.Length == 0)
            return SystemRoots;
        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPemFile(pemFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new Configuration.SettingsException($"setting Remote:ExtraRootCertificates: cannot read {pemFile}: {e.Message}");
        }
        return new RemoteTrust(roots);
    }

    /// <summary>
    /// The certificate validation: no errors against the system's roots, or only a chain error that
    /// the extra roots resolve. A name mismatch or a missing certificate always fails.
    /// </summary>
    public bool Validate(object? sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None)
            return true;
        if (errors != SslPolicyErrors.RemoteCertificateChainErrors || certificate is null || extraRoots.Count == 0)
            return false;
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(extraRoots);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck; // as the system chain for a private CA: no revocation service to ask
        if (chain is not null)
            foreach (var element in chain.ChainElements)
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
        using var leaf = new X509Certificate2(certificate);
        return custom.Build(leaf);
    }
}
