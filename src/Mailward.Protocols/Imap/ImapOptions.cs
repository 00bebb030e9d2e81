// The IMAP session's settings, read once from the catalogue (docs/settings.md gives each one's reason).
using Mailward.Protocols.Common;

namespace Mailward.Protocols.Imap;

public sealed record ImapOptions
{
    public required string Hostname { get; init; }
    public PlaintextAuth AllowPlaintextAuth { get; init; } = PlaintextAuth.Loopback;

    /// <summary>RFC 9051 §5.4: an authenticated session is logged out after at least 30 idle minutes.</summary>
    public TimeSpan AutologoutTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Before a login a client gets much less: it has nothing to wait for.</summary>
    public TimeSpan LoginTimeout { get; init; } = TimeSpan.FromMinutes(3);

    public TimeSpan FailedLoginDelay { get; init; } = TimeSpan.FromSeconds(2);
    public int MaxBadCommands { get; init; } = 20;
    public int MaxLineBytes { get; init; } = 64 * 1024;
    public int MaxPreLoginLineBytes { get; init; } = 8 * 1024;
    public int MaxLiteralBytes { get; init; } = 64 * 1024;
    public long AppendLimit { get; init; } = 50L * 1024 * 1024;
    public ImapParserLimits ParserLimits { get; init; } = new();
    public int MinDataRateBytesPerSecond { get; init; } = 256;
    public TimeSpan MinDataRateGrace { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The personal namespace (RFC 2342): Courier's "INBOX." by default, so migrated clients see the same names.</summary>
    public string NamespacePrefix { get; init; } = "INBOX.";
    public char Separator { get; init; } = '.';

    /// <summary>Made at the first login when missing (RFC 6154 special use).</summary>
    public IReadOnlyList<(string Name, string Use)> SpecialUseFolders { get; init; } =
        [("Sent", "\\Sent"), ("Drafts", "\\Drafts"), ("Trash", "\\Trash"), ("Junk", "\\Junk"), ("Archive", "\\Archive")];

    /// <summary>COMPRESS=DEFLATE (RFC 4978) is offered after login.</summary>
    public bool AllowCompress { get; init; } = true;

    /// <summary>A hint poll while IDLE, for changes made by other nodes (this node's changes wake IDLE at once).</summary>
    public TimeSpan IdlePoll { get; init; } = TimeSpan.FromSeconds(30);
}
