// mailward tls show: the certificate the listeners serve (the configured PEM pair, or the
// self-signed one for Hostname), as an admin checks it after a renewal.
using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using Mailward.Protocols.Tls;

namespace Mailward.Cli;

internal static class TlsCommands
{
    public static Command Build(CliContext ctx)
    {
        var tls = new Command("tls", "The TLS certificate of the listeners.");
        tls.Subcommands.Add(new Command("show", "Print the certificate served: file, subject, names, issuer, validity, SHA-256 fingerprint.").WithAction(_ =>
        {
            var s = ctx.Data.Settings;
            using var certificates = TlsCertificates.Load(s.TlsCertificateFile, s.TlsKeyFile, ctx.Data.Path, s.Hostname);
            var c = certificates.Certificate;
            var names = c.Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(e => e.EnumerateDnsNames()).ToList();
            ctx.Out.WriteLine($"file: {certificates.Source}{(s.TlsCertificateFile.Length == 0 ? " (self-signed, made for Hostname)" : "")}");
            ctx.Out.WriteLine($"subject: {c.Subject}");
            ctx.Out.WriteLine($"names: {(names.Count > 0 ? string.Join(", ", names) : "(none)")}");
            ctx.Out.WriteLine($"issuer: {c.Issuer}");
            ctx.Out.WriteLine($"valid: {c.NotBefore.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z to {c.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z");
            ctx.Out.WriteLine($"sha256: {c.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256)}");
            ctx.Out.WriteLine($"key: {c.PublicKey.Oid.FriendlyName}");
            ctx.Out.WriteLine("protocols: TLS 1.2, TLS 1.3");
        }));
        return tls;
    }
}
