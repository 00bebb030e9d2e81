// The one list of settings: key, default, what it does and why the default is what it is.
// mailward.json, docs/settings.md and the README table are all generated from it, and a test fails
// when code reads a setting that is not listed here.
using System.Text;

namespace Mailward.Core.Configuration;

public sealed record SettingDefinition(string Key, string Default, string Description, string Reason, SettingKind Kind = SettingKind.Text)
{
    public string Section => Key.Contains(':', StringComparison.Ordinal) ? Key[..Key.IndexOf(':', StringComparison.Ordinal)] : "";
    public string Name => Key.Contains(':', StringComparison.Ordinal) ? Key[(Key.IndexOf(':', StringComparison.Ordinal) + 1)..] : Key;
}

public enum SettingKind
{
    Text,
    Number,
    Switch,
}

public static class SettingsCatalog
{
    public static readonly IReadOnlyList<SettingDefinition> All =
    [
        new("Hostname", "", "The server's own name (qmail's control/me), used in greetings, Received lines and bounces. Empty: the machine's host name.",
            "The machine's name is right for a single-host install; set it when the public name differs."),
        new("Node:Id", "", "This node's name among the nodes that share one mail store: it is part of every new Maildir file name and of every mailbox lock. Must differ between nodes. Empty: the machine's host name.",
            "Host names already differ between machines; a name of its own is needed only where they do not (docs/mail-store.md)."),
        new("Accounts:Provider", "sqlite", "Where accounts live: sqlite (one file in the data folder). postgres is reserved for shared multi-node stores and not yet available.",
            "SQLite needs nothing installed and serves one node at millions of users."),
        new("Accounts:ConnectionString", "", "Connection string for the account store. Empty: Data Source=<data>/accounts.db.",
            "The data folder holds everything by default."),
        new("Accounts:CacheMaxEntries", "100000", "Most found answers of each kind (domains, users, aliases, server addresses) held in the in-process read cache; 0 turns the cache off.",
            "About 30 MB at most for users; covers the active users of a large node while keeping memory bounded.", SettingKind.Number),
        new("Accounts:CacheMaxMisses", "20000", "Most not-found answers of each kind held in the read cache, apart from the found ones.",
            "A flood of RCPTs to missing names costs one query each and churns only these, never the users that exist; repeated misses (a retrying spammer) still cost nothing.", SettingKind.Number),
        new("Accounts:CacheCheckMilliseconds", "1000", "How often a cached lookup re-checks the store's change counter, so changes made by another process (a command, another node) are seen. 0: on every lookup.",
            "One cheap query a second bounds staleness to a second; changes made in this process are seen at once.", SettingKind.Number),
        new("Passwords:Argon2MemoryKiB", "19456", "Memory cost of new Argon2id password hashes, in KiB.",
            "OWASP's 2023 minimum for Argon2id (19 MiB, 2 iterations); logins are cached, so the cost is paid rarely.", SettingKind.Number),
        new("Passwords:Argon2Iterations", "2", "Time cost (passes) of new Argon2id password hashes.",
            "OWASP's 2023 minimum together with 19 MiB of memory.", SettingKind.Number),
        new("Passwords:Argon2Parallelism", "1", "Lanes of new Argon2id password hashes.",
            "One lane keeps a login on one core; many logins run side by side instead.", SettingKind.Number),
        new("Passwords:StoreClearText", "false", "Keep a clear-text copy of each password (vpopmail's --enable-clear-passwd), needed only for APOP and CRAM-MD5.",
            "Off: a stolen account store should not reveal passwords.", SettingKind.Switch),
        new("MailStore:Path", "", "Folder that holds the domains' folders and users' Maildirs. Empty: <data>/domains.",
            "The data folder holds everything by default; point it at a larger or shared disk when needed."),
        new("MailStore:MaxDirectoryEntries", "100", "Most entries in one folder of the mail store's hashed tree; users and domains spill into subfolders beyond it.",
            "vpopmail's dir-control limit: directories stay fast to list and back up on every file system.", SettingKind.Number),
        new("MailStore:ExpungeHistory", "100000", "Most expunged UIDs per folder remembered with their mod-sequence, so a QRESYNC client is told exactly which of its messages are gone (VANISHED (EARLIER)); older expunges are answered with every missing UID instead.",
            "About 1 MB of log per folder at most; a client away for 100,000 expunges in one folder still resyncs correctly, only with a longer answer (RFC 7162 §3.2.10).", SettingKind.Number),
        new("MailStore:ListingCacheMessages", "500000", "Messages of big folders' listings (folders of 1,000 messages or more) kept in memory in all, so that a SELECT or sync of a folder nobody changed costs a few stat calls instead of reading the folder, its UID list and its mod-sequence log again; 0 turns it off.",
            "About 300 bytes a message (shared with the sessions that have the folder open): 150 MB at most, and a 100,000-message folder selects in milliseconds instead of a second.", SettingKind.Number),
        new("Bulletin:Concurrency", "4", "Copies mailward bulletin (vpopbull) writes at once: each is a file and directory fsync in one user's Maildir.",
            "A disk serves a few fsyncs at once, so four run faster than one, while a bulletin to every user leaves the server's own deliveries room on a small machine.", SettingKind.Number),
        new("Bulletin:BatchSize", "64", "Users whose journal lines share one fsync in mailward bulletin (docs/bulletin-format.md); their copies are published only after it.",
            "One journal fsync per 64 copies costs little beside their own fsyncs, and a crash leaves at most 64 copies to stage again.", SettingKind.Number),
        new("Listen:Address", "*", "Address every listener binds: * for all IPv4 and IPv6 addresses, or one address such as 192.0.2.25 or ::1.",
            "A mail server answers on every interface unless told otherwise."),
        new("Smtp:Enabled", "true", "Run the SMTP listener (mail from the internet, port 25).", "The reason a mail server exists.", SettingKind.Switch),
        new("Smtp:Port", "25", "Port of the SMTP listener.", "RFC 5321's port for server-to-server mail.", SettingKind.Number),
        new("Smtp:MaxMessageBytes", "26214400", "Largest message accepted, in bytes (qmail's databytes); announced with SIZE, checked at MAIL and while reading DATA (552).",
            "25 MiB carries what mail users attach today and matches the large providers; 0 is not allowed (unbounded input).", SettingKind.Number),
        new("Smtp:MaxRecipients", "100", "Most recipients of one message; the next gets 452 (RFC 5321 §4.5.3.1.8 asks servers to take at least 100).",
            "RFC 5321's minimum; larger lists go through mailing lists.", SettingKind.Number),
        new("Smtp:MaxLineLength", "10000", "Longest text line accepted in DATA, in octets without CRLF (RFC 5321 allows 998; real mail is sloppier).",
            "Ten times RFC 5321's limit accepts sloppy mailers, and bounds what one line can cost.", SettingKind.Number),
        new("Smtp:MaxCommandLength", "512", "Longest command line, in octets with CRLF (RFC 5321 §4.5.3.1.4).",
            "RFC 5321's limit; longer lines are discarded and answered 500.", SettingKind.Number),
        new("Smtp:MaxBadCommands", "20", "Unknown or malformed commands a session may make, each answered; the next one closes it with 421 (the same rule as Pop3:MaxBadCommands).",
            "Postfix's smtpd_hard_error_limit: a real client never comes close; a scanner is cut off.", SettingKind.Number),
        new("Smtp:SoftErrorLimit", "10", "Rejected recipients in one session before each further rejection is answered after a growing delay (Smtp:ErrorDelayMilliseconds times the errors past this limit).",
            "Postfix's smtpd_soft_error_limit: a sender with a few stale addresses never waits; an address harvester slows down at once.", SettingKind.Number),
        new("Smtp:HardErrorLimit", "20", "Rejected recipients in one session at which it is closed with 421 4.7.0.",
            "Postfix's smtpd_hard_error_limit: 2,000 pipelined guesses become 20 per connection, and those take most of a minute.", SettingKind.Number),
        new("Smtp:ErrorDelayMilliseconds", "1000", "Delay step past Smtp:SoftErrorLimit: the n-th rejection beyond it waits n steps before its answer.",
            "Postfix's smtpd_error_sleep_time (1 s); growing, so a session at the hard limit has spent about 45 s.", SettingKind.Number),
        new("Smtp:MaxHops", "100", "Most Received and Delivered-To header lines before a message is refused as a loop (554 5.4.6).",
            "RFC 5321 §6.3 suggests 100; real paths use a dozen.", SettingKind.Number),
        new("Smtp:CommandTimeoutSeconds", "1200", "Seconds to wait for a whole command line, or for the next piece of DATA, before closing (qmail's timeoutsmtpd).",
            "qmail's default: generous for slow links, still bounded.", SettingKind.Number),
        new("Smtp:MinDataRateBytesPerSecond", "256", "Lowest average rate at which a message's DATA must arrive, in bytes a second, once Smtp:MinDataRateGraceSeconds of waiting have passed; a slower client is answered 451 4.4.2 and closed, and nothing is queued. 0: no minimum.",
            "Kestrel's MinRequestBodyDataRate idea: any real link is thousands of times faster, while a client dripping a byte just inside Smtp:CommandTimeoutSeconds could otherwise hold a connection slot for ever.", SettingKind.Number),
        new("Smtp:MinDataRateGraceSeconds", "60", "Seconds of waiting for DATA that the minimum rate forgives, counted from the 354; only time spent waiting for the client counts.",
            "A minute covers a client that stalls before its first line; after it a drip client is cut off as soon as it falls behind.", SettingKind.Number),
        new("Smtp:MaxConnections", "1000", "Most SMTP connections at once; more get 421 and are closed.",
            "Bounds memory and file handles on a small machine while leaving room for bursts.", SettingKind.Number),
        new("Smtp:MaxConnectionsPerClient", "20", "Most SMTP connections at once from one client address; more get 421.",
            "No honest sender needs more; one host cannot take every slot.", SettingKind.Number),
        new("Smtp:BadMailFrom", "", "Envelope senders refused at MAIL (qmail's badmailfrom), separated by commas: addresses, @domain (that domain) and @.domain (its subdomains). Compared case-insensitively with the address a quoted local part names.",
            "Empty: refuse no one until the admin says so."),
        new("Submission:Enabled", "true", "Run the submission listener (RFC 6409, port 587, STARTTLS): mail clients send here after AUTH.", "The door for users' mail clients.", SettingKind.Switch),
        new("Submission:Port", "587", "Submission port.", "RFC 6409's port.", SettingKind.Number),
        new("Smtps:Enabled", "true", "Run submission over implicit TLS (RFC 8314, port 465).", "Many clients prefer it; RFC 8314 recommends it.", SettingKind.Switch),
        new("Smtps:Port", "465", "Submission-over-TLS port.", "RFC 8314's port.", SettingKind.Number),
        new("Submission:AllowPlaintextAuth", "never", "Where SMTP AUTH is offered without TLS: never, loopback (127.0.0.0/8, ::1) or always.",
            "Passwords never cross a network in clear text; set loopback for local scripts that cannot do TLS."),
        new("Submission:FailedAuthDelayMilliseconds", "2000", "How long a failed SMTP AUTH waits before its answer (that session only).",
            "The same brake as POP3's, for the same guessers."),
        new("Submission:EnforceSenderOwnership", "true", "An authenticated session may use only the user's own addresses as envelope sender (its mailbox, aliases delivering to it, alias domains; any address of its domain for a domain admin).",
            "Stops one customer sending as another; turn off only for trusted relaying clients.", SettingKind.Switch),
        new("Submission:MaxMessagesPerHour", "500", "Messages an authenticated user may send per hour (any listener); more get 450 4.7.1 until the hour has room. 0: unlimited.",
            "Far above what a person sends, low enough that a stolen password sends hundreds, not hundreds of thousands."),
        new("Submission:MaxRecipientsPerMessage", "100", "Recipients an authenticated user may give one message; more get 452 4.5.3 (RFC 5321 §4.5.3.1.8). 0: Smtp:MaxRecipients only.",
            "RFC 5321's minimum a server must accept; lists belong in a mailing list."),
        new("Submission:Overrides", "", "Per-domain sending limits as a section: Submission:Overrides:<domain>:MaxMessagesPerHour and :MaxRecipientsPerMessage.",
            "Empty: every domain has the defaults above."),
        new("Pop3:Enabled", "true", "Run the POP3 listener (RFC 1939, with STLS).", "POP3 is what most hosted users' clients still poll.", SettingKind.Switch),
        new("Pop3:Port", "110", "POP3 port.", "The standard port.", SettingKind.Number),
        new("Pop3s:Enabled", "true", "Run the POP3-over-TLS listener (implicit TLS, RFC 8314).", "Clients set up for port 995 expect it.", SettingKind.Switch),
        new("Pop3s:Port", "995", "POP3S port.", "The standard port.", SettingKind.Number),
        new("Pop3:AllowPlaintextAuth", "loopback", "Where USER/PASS and AUTH PLAIN work without TLS: never, loopback (clients on 127.0.0.0/8 and ::1), or always.",
            "Passwords never cross a network in clear text by default; local scripts and webmail on the same host keep working."),
        new("Pop3:DefaultDomain", "", "Domain of a bare login name (no @ or %) when the server address has no vipmap entry.",
            "Empty: a bare name needs an IP map, as vpopmail without a default domain."),
        new("Pop3:FailedLoginDelayMilliseconds", "2000", "How long a failed login waits before its answer (the session waits, nothing else does).",
            "The HOWTO's checkpoppasswd delay: password guessing gets slow while real users barely notice."),
        new("Pop3:MaxLoginFailuresPerClient", "10", "Failed logins (POP3 and SMTP AUTH) from one address (IPv6: one /64) within 5 minutes before its further logins are refused for the rest of that window. A good login clears only its own earlier failures, never those against other names.",
            "Enough for a user fighting a typo, far too few for guessing."),
        new("Pop3:MaxBadCommands", "20", "Unknown, malformed or refused commands (failed logins included) a session may make, each answered; the next one closes it.",
            "As Smtp:MaxBadCommands: a real client never comes close; a scanner or a password guesser is cut off.", SettingKind.Number),
        new("Pop3:CommandTimeoutSeconds", "600", "Idle seconds before a POP3 session is closed (RFC 1939 §3: at least 10 minutes).",
            "The RFC's minimum autologout timer."),
        new("Pop3:MaxConnections", "1000", "Most POP3 connections at once (both listeners each).", "Bounds memory and file handles.", SettingKind.Number),
        new("Pop3:MaxConnectionsPerClient", "20", "Most POP3 connections at once from one client address.", "A household behind one NAT fits; one host cannot take every slot.", SettingKind.Number),
        new("Pop3:LockStaleSeconds", "1800", "Age after which a mailbox lock left by a vanished session (or node) is taken over; never less than Pop3:CommandTimeoutSeconds plus a minute.",
            "A live session refreshes its lock while it works (at most once a minute); half an hour covers any real pause.", SettingKind.Number),
        new("Imap:Enabled", "true", "Run the IMAP listener (RFC 9051 and RFC 3501, with STARTTLS).", "Most hosted users read mail over IMAP today.", SettingKind.Switch),
        new("Imap:Port", "143", "IMAP port.", "The standard port.", SettingKind.Number),
        new("Imaps:Enabled", "true", "Run the IMAP-over-TLS listener (implicit TLS, RFC 8314).", "Clients set up for port 993 expect it.", SettingKind.Switch),
        new("Imaps:Port", "993", "IMAPS port.", "The standard port.", SettingKind.Number),
        new("Admin:Enabled", "true", "Run the Admin listener: the web admin at / and the JSON API at /api/v1 (docs/web-admin.md).",
            "Bound to loopback by default, it is reachable only from this host until Admin:Address says otherwise.", SettingKind.Switch),
        new("Admin:Port", "8080", "Port of the Admin listener.", "The contract's port; an unprivileged port needs no capability.", SettingKind.Number),
        new("Admin:Address", "127.0.0.1", "Address the Admin listener binds (not Listen:Address): an IP address, or * for all. Off loopback it serves HTTPS with the mail listeners' certificate, unless Admin:BehindProxy.",
            "An admin face is not for the internet until someone decides so; then it is encrypted."),
        new("Admin:BehindProxy", "false", "The Admin listener sits behind a reverse proxy that terminates TLS: plain HTTP, and X-Forwarded-For/-Proto believed from Admin:TrustedProxies only (the server refuses to start without them).",
            "Off: nobody's forwarded headers are believed, so no client can claim another address."),
        new("Admin:TrustedProxies", "", "Addresses of the reverse proxies (separated by commas) whose X-Forwarded-For and X-Forwarded-Proto are believed when Admin:BehindProxy is on.",
            "Empty: none; naming them is part of putting a proxy in front."),
        new("Admin:SessionIdleMinutes", "30", "Minutes without a request after which a web session ends.",
            "OWASP's guidance for admin applications is 15 to 30 minutes of idleness.", SettingKind.Number),
        new("Admin:SessionMaxHours", "12", "Hours after login at which a web session ends however active it is.",
            "A working day: a stolen session cookie is worth at most that long.", SettingKind.Number),
        new("Admin:MaxSessions", "10000", "Most web sessions held in memory at once; past it the least recently used ends.",
            "About 2 MB; far more than the admins and users logged in at once on one node.", SettingKind.Number),
        new("Admin:FailedLoginDelayMilliseconds", "2000", "How long a failed web login (or a wrong old password) waits before its answer; the throttles are the mail protocols' (Pop3:MaxLoginFailuresPerClient, Auth:MaxFailuresPerAccount).",
            "The same as POP3 and IMAP: password guessing through the web is no faster than through the mail protocols.", SettingKind.Number),
        new("Admin:MaxRequestBytes", "65536", "Largest request body the Admin listener reads (forms and JSON).",
            "Every admin form and API body is small; a larger one is refused before it is buffered.", SettingKind.Number),
        new("Admin:PageSize", "50", "Rows on one page of the web admin's lists, and the API's default limit.",
            "A screenful; lists page by cursor, so a domain of 100,000 users costs one page at a time.", SettingKind.Number),
        new("Metrics:Enabled", "true", "Serve Prometheus metrics at /metrics and the health check at /healthz on the Admin listener (docs/metrics.md).",
            "Counting costs next to nothing, and only the clients Metrics:AllowFrom or Metrics:BearerToken admit may read them.", SettingKind.Switch),
        new("Metrics:AllowFrom", "127.0.0.1,::1", "Client addresses or networks (CIDR, separated by commas) that may read /metrics and /healthz without a token. Behind a proxy (Admin:BehindProxy) the forwarded client address counts.",
            "Loopback only: a Prometheus or a health checker on this host works out of the box, and nobody else learns the server's traffic until the admin names them."),
        new("Metrics:BearerToken", "", "When set, any client that sends it as \"Authorization: Bearer <token>\" may read /metrics and /healthz. Empty: only Metrics:AllowFrom.",
            "Off by default: a token is a secret the admin chooses and gives the scraper; off loopback the Admin listener serves HTTPS, so it never crosses a network in clear."),
        new("Imap:AllowPlaintextAuth", "loopback", "Where LOGIN and AUTHENTICATE PLAIN work without TLS: never, loopback (clients on 127.0.0.0/8 and ::1), or always. Elsewhere the capability list says LOGINDISABLED.",
            "The same rule as POP3's: a webmail on this host may log in over loopback; no password crosses a network in clear.", SettingKind.Text),
        new("Imap:AutologoutSeconds", "1800", "Idle seconds before an authenticated IMAP session is logged out (RFC 9051 §5.4: at least 30 minutes); IDLE clients renew within it.",
            "The RFC's minimum: clients re-issue IDLE every 29 minutes, and a dead client's slot is freed within half an hour.", SettingKind.Number),
        new("Imap:LoginTimeoutSeconds", "180", "Seconds a client that has not logged in may take for a command line.",
            "A client that has not logged in has nothing to wait for; three minutes covers a person typing, and a scanner's idle connection is freed.", SettingKind.Number),
        new("Imap:FailedLoginDelayMilliseconds", "2000", "How long a failed IMAP login waits before its answer (the session waits, nothing else does).",
            "The same as POP3's: slows a password guesser on one connection to one try in two seconds.", SettingKind.Number),
        new("Imap:MaxBadCommands", "20", "Unknown, malformed or refused commands (failed logins included) an IMAP session may make, each answered; the next one closes it.",
            "A person or a broken client makes a few; twenty is a scanner or a guesser.", SettingKind.Number),
        new("Imap:MaxLineBytes", "65536", "Longest IMAP command line after login, in bytes with CRLF; a longer one is discarded as it streams and answered BAD.",
            "Dovecot's imap_max_line_length: UID sets of large folders fit, and a 10 MB line costs nothing.", SettingKind.Number),
        new("Imap:MaxPreLoginLineBytes", "8192", "Longest IMAP command line before login.",
            "A login line with a long password fits; a stranger cannot make the server read more.", SettingKind.Number),
        new("Imap:MaxLiteralBytes", "65536", "Largest literal in a command other than APPEND (a password, a search string, a mailbox name). A larger synchronizing literal is refused before it is sent; a larger non-synchronizing one closes the session.",
            "No legitimate argument comes near it; without it a client could make the server hold gigabytes.", SettingKind.Number),
        new("Imap:AppendLimitBytes", "52428800", "Largest message APPEND takes (announced as APPENDLIMIT, RFC 7889); the literal is streamed to disk, never held.",
            "50 MB: above the SMTP message limit most providers set, so a client can file any mail it could receive.", SettingKind.Number),
        new("Imap:RenderCacheBytes", "134217728", "Memory for the rendered ENVELOPE and BODYSTRUCTURE of messages, shared by every IMAP session of the process, so a client that fetches a folder's metadata again is answered without reading the messages' structures. Least recently used folders are dropped first. 0: nothing kept.",
            "128 MiB holds about 200,000 messages' metadata: the folders a busy node's clients keep fetching, at a small share of its memory.", SettingKind.Number),
        new("Imap:MaxNesting", "32", "Deepest nesting of parenthesised lists in one IMAP command.",
            "Real commands nest two or three deep (SEARCH a few more); 10,000 nested parentheses are refused at once.", SettingKind.Number),
        new("Imap:MaxLiteralsPerCommand", "32", "Most literals in one IMAP command.",
            "A login needs two and a search a handful; the bound stops a command from growing without end.", SettingKind.Number),
        new("Imap:MaxArgumentsPerCommand", "100000", "Most arguments (atoms, strings, list brackets) in one IMAP command.",
            "Far above any client's SEARCH or FETCH, and bounds the memory one command line can take.", SettingKind.Number),
        new("Imap:MinDataRateBytesPerSecond", "256", "Lowest average rate at which a literal (APPEND's message above all) must arrive once Imap:MinDataRateGraceSeconds of waiting have passed; a slower client is closed. 0: no minimum.",
            "As for SMTP DATA: a drip-feeding client cannot hold a connection slot for ever.", SettingKind.Number),
        new("Imap:MinDataRateGraceSeconds", "60", "Seconds of waiting for a literal that the minimum rate forgives.",
            "A minute covers any real client's pause.", SettingKind.Number),
        new("Imap:NamespacePrefix", "INBOX.", "The personal namespace's prefix (RFC 2342): folder Sent is INBOX.Sent on the wire. Empty: folders are top-level names beside INBOX.",
            "Courier-IMAP's: clients migrated from Courier (and vpopmail sites) keep their folder names; another prefix makes them see new, empty folders.", SettingKind.Text),
        new("Imap:Separator", ".", "The hierarchy separator on the wire: \".\" (Courier) or \"/\" (Dovecot's default).",
            "Courier's, with the prefix above.", SettingKind.Text),
        new("Imap:MaxConnections", "10000", "Most IMAP connections at once (both listeners each).", "IMAP clients keep connections open (one or more per folder with IDLE); idle sessions cost a few KiB each.", SettingKind.Number),
        new("Imap:MaxConnectionsPerClient", "100", "Most IMAP connections at once from one client address (IPv6: one /64).", "A household or office behind one NAT fits; one host cannot take every slot.", SettingKind.Number),
        new("Imap:MaxConnectionsPerUserAndClient", "10", "Most IMAP connections at once of one user from one client address.",
            "Dovecot's mail_max_userip_connections: a phone, a laptop and a webmail fit; a looping client cannot exhaust the server.", SettingKind.Number),
        new("Imap:IdlePollSeconds", "30", "How often an IDLE session looks at its folder when nothing was announced (changes on this node wake it at once).",
            "Changes made by other nodes or other programs reach an IDLE client within half a minute at little cost.", SettingKind.Number),
        new("Imap:MaxMimeDepth", "100", "Deepest nesting of MIME parts (multiparts and attached messages) that FETCH BODYSTRUCTURE and sections see; deeper parts stay one opaque part.",
            "Dovecot's limit: no real message nests more than a dozen deep, while a MIME bomb of 10,000 levels is parsed in bounded time and stack.", SettingKind.Number),
        new("Imap:MaxMimeParts", "10000", "Most MIME parts of one message that BODYSTRUCTURE lists; a multipart that would pass it becomes one opaque part.",
            "Dovecot's limit: far above real mail (a few hundred parts at most), and it bounds the cached structure of a hostile message.", SettingKind.Number),
        new("Imap:MaxMimeParameters", "64", "Most Content-Type or Content-Disposition parameters of one part that BODYSTRUCTURE lists; further ones are dropped.",
            "Real parts carry a handful; a header with thousands of parameters costs bounded time and cache space.", SettingKind.Number),
        new("Imap:MaxEnvelopeAddresses", "1000", "Most addresses of one header (From, To, Cc, ...) that ENVELOPE lists; further ones are dropped.",
            "Large enough for any real recipient list, small enough that a huge address header costs bounded work and cache space.", SettingKind.Number),
        new("Relay:RoamingMinutes", "0", "Minutes after a successful POP3 login during which its client address may send through port 25 without AUTH as that user (roaming users, POP-before-SMTP): only with the user's own addresses, within its sending limits; each login extends it. 0 turns roaming off.",
            "Off: SMTP AUTH is the way to send; set vpopmail's 180 only for old clients that cannot authenticate.", SettingKind.Number),
        new("Auth:CacheSeconds", "60", "How long a successful password verification is remembered (keyed by a salted digest, no password kept); 0 turns the cache off.",
            "Clients poll every few minutes; a minute spares most Argon2 work while a changed password takes effect at once.", SettingKind.Number),
        new("Auth:MaxFailuresPerAccount", "20", "Failed logins against one account, from any addresses, within 5 minutes before that account's logins are refused for the rest of the window (back-off per account).",
            "Twice the per-address limit: guessing spread over many addresses gets 20 tries per 5 minutes, while a user's own devices with a stale password rarely lock it.", SettingKind.Number),
        new("Auth:MaxTrackedEntries", "100000", "Most addresses, address-and-name pairs and accounts the login throttle remembers, each; past it expired entries go, then the oldest.",
            "A few MB at most, so a flood of addresses cannot grow memory without bound.", SettingKind.Number),
        new("Queue:InlineBodyBytes", "65536", "Bodies up to this size are kept in memory while received and written into the queue log; larger ones get a file of their own.",
            "Most mail is a few KiB: it then costs no file of its own, while memory per session stays bounded.", SettingKind.Number),
        new("Queue:SegmentBytes", "67108864", "Size at which the queue log starts a new segment file.",
            "Large enough to make rolling rare, small enough to free space soon after delivery.", SettingKind.Number),
        new("Queue:MaxCommitBatch", "4096", "Most messages whose queue records share one fsync (group commit); 1 gives every message its own fsync.",
            "Every commit waiting when the writer wakes rides along: throughput grows with concurrency while no 250 precedes its fsync.", SettingKind.Number),
        new("Queue:Lifetime", "604800", "Seconds a message may stay in the queue while deliveries fail temporarily; then it bounces (qmail's queuelifetime).",
            "qmail's and Postfix's seven days: long enough to ride out a weekend outage of the receiving side.", SettingKind.Number),
        new("Queue:MinFreeBytes", "104857600", "Free space the queue's and the mail store's file systems must keep: below it (plus the size MAIL declares) MAIL and DATA get 452 4.3.1 (Postfix's queue_minfree). 0: no check.",
            "Postfix refuses below 1.5 times its size limit; 100 MiB holds four messages of Smtp:MaxMessageBytes and leaves the logs and the account store room to work.", SettingKind.Number),
        new("Sendmail:DefaultDomain", "", "Domain that `mailward sendmail` gives local senders (login@domain) and bare recipient names (qmail's defaultdomain and defaulthost). Empty: Hostname.",
            "The server's own name is where a local user's mail comes from unless the admin says otherwise."),
        new("Sendmail:AllowedUsers", "*", "Local users (login names or uids, separated by commas) who may submit mail with `mailward sendmail`; * is everyone who can reach the server. Others get exit 77.",
            "Websites and cron jobs run as many users; the data folder's modes already decide who can reach the server at all (docs/pickup-format.md)."),
        new("Sendmail:TrustedUsers", "", "Local users (login names or uids, separated by commas) who may set any envelope sender with sendmail's -f and speak SMTP with -bs. Empty: root and the data folder's owner (the server's own user). Others send as login@Sendmail:DefaultDomain.",
            "Sendmail and Postfix trust root and the mail system's user; a web application's user must not pose as anyone it likes."),
        new("Sendmail:PickupScanSeconds", "5", "How often the running server looks for messages that sendmail left in <data>/pickup while no server answered (it also drains them at start).",
            "A message left while the server was starting waits at most this long; a look at an empty folder costs nothing.", SettingKind.Number),
        new("Tls:CertificateFile", "", "PEM certificate (chain) for STARTTLS. Empty: a self-signed certificate for Hostname is made in <data>/tls on first start.",
            "Works out of the box; a real certificate is one setting away."),
        new("Tls:KeyFile", "", "PEM private key for Tls:CertificateFile.", "Goes with the certificate."),
        new("Tls:ReloadCheckSeconds", "5", "How often the certificate files are checked for a change (a renewal) and reloaded without a restart; SIGHUP reloads at once. 0: only on SIGHUP.",
            "A renewed certificate is in use within seconds; a stat of two files every few seconds costs nothing.", SettingKind.Number),
        new("Delivery:Enabled", "true", "Deliver queued mail. false holds everything in the queue (maintenance; qmail's stopped qmail-send, Postfix's hold) while SMTP keeps accepting.",
            "A mail server delivers; holding is the exception.", SettingKind.Switch),
        new("Delivery:LocalConcurrency", "10", "Most local deliveries (to Maildirs) at once.",
            "qmail's concurrencylocal default: enough to keep a disk busy without thrashing it.", SettingKind.Number),
        new("Delivery:RemoteConcurrency", "20", "Most remote deliveries (outgoing SMTP connections) of ordinary mail at once; bounces have Delivery:BounceConcurrency besides.",
            "qmail's concurrencyremote default; raise it on a busy outbound relay.", SettingKind.Number),
        new("Delivery:BounceConcurrency", "5", "Most remote deliveries of bounces (null-sender mail) at once, in a pool of their own beside Delivery:RemoteConcurrency.",
            "Bounces to dead or tarpitting hosts (backscatter) cannot take the slots of ordinary mail; five keep real bounces flowing.", SettingKind.Number),
        new("Delivery:DestinationConcurrency", "5", "Most remote deliveries at once to one destination: a next-hop domain (MX) or one Remote:Routes host. Remote:SmartHost, every message's destination, is not limited by it.",
            "A quarter of Delivery:RemoteConcurrency, as Postfix's default_destination_concurrency_limit (20) is a fifth of its 100 processes: one slow destination holds at most a quarter of the slots; five parallel connections keep a large provider busy.", SettingKind.Number),
        new("Delivery:DoubleBounceTo", "", "Where a bounce that cannot be delivered goes (qmail's doublebounceto). Empty: postmaster@Hostname.",
            "Someone should hear of mail that could be returned to no one; a failed double bounce is dropped and logged."),
        new("Delivery:BounceHeaderBytes", "4096", "Most bytes of the original header a bounce (DSN) carries back, cut at a line end (the text/rfc822-headers part of RFC 6522 §4).",
            "Enough for the trace and the fields that let a sender recognise the message; a forged sender gets little of a stranger's text back.", SettingKind.Number),
        new("Delivery:ProgramDomains", "", "Domains whose delivery instructions may run programs (|command lines), separated by commas; * for all. Empty: none.",
            "A program line runs with the server's rights: an admin enables it per domain, knowingly."),
        new("Delivery:ProgramTimeoutSeconds", "600", "Seconds a delivery program may run before it is killed and the delivery deferred.",
            "Long enough for a spam filter or a list manager, short enough that a hung program does not hold a delivery slot for ever.", SettingKind.Number),
        new("Delivery:AllowedExternalPaths", "", "Folders outside the mail store where alias lines may name a Maildir (/path/) or mbox (/path/file): path prefixes separated by commas. Empty: none; such lines fail.",
            "A line naming a path makes the server write there with its own rights, through any link a local user plants; an admin allows such places knowingly."),
        new("Delivery:ExtensionSeparators", "-+", "Characters that start an address extension: joe-news@ and joe+news@ reach joe unless the full address exists.",
            "qmail used '-', most others '+'; accepting both serves users of either habit."),
        new("Remote:SmartHost", "", "host:port that receives all remote mail (a relay); empty: deliver by MX lookup.",
            "Direct delivery needs nothing configured; many hosting networks require a smarthost instead."),
        new("Remote:Routes", "", "Per-domain relays as a section: Remote:Routes:<domain> = host:port (qmail's smtproutes); a key .example.com covers subdomains. Routes win over the smarthost.",
            "Empty: every domain follows the smarthost or its MX."),
        new("Remote:Port", "25", "Port of the mail hosts found by MX lookup.",
            "SMTP's port; other values are for test networks."),
        new("Remote:ConnectTimeoutSeconds", "60", "Seconds to wait for a remote host to accept the connection (qmail's timeoutconnect).",
            "qmail's default; a host that takes longer is tried again later."),
        new("Remote:DataTimeoutSeconds", "1200", "Seconds to wait for each reply or write of a remote conversation (qmail's timeoutremote).",
            "qmail's and RFC 5321 §4.5.3.2's generous bound, for slow receivers that scan mail before answering."),
        new("Remote:MaxHostBackoffSeconds", "3600", "Longest time an unreachable host is skipped; the pause doubles from a minute with each failed connect (qmail-tcpto).",
            "An hour, as qmail-tcpto: dead hosts cost no timeouts, revived ones are found again soon."),
        new("Remote:GreetingTimeoutSeconds", "300", "Seconds to wait for a remote host's 220 greeting; a host that connects and stays mute is then skipped like an unreachable one.",
            "RFC 5321 §4.5.3.2.1's five minutes for the initial 220 (Postfix's smtp_helo_timeout), not the 1,200 s data timeout a tarpit would use."),
        new("Remote:SessionTimeoutSeconds", "1800", "Seconds one whole remote conversation (connect to QUIT) may take, however fast each line comes.",
            "Sends a 25 MiB message at about 120 kbit/s, while a tarpit that trickles one line per timeout holds a slot for half an hour, not for hours."),
        new("Remote:MaxMxAddresses", "5", "Most mail host addresses tried for one destination per attempt (after MX lookup and the own-preference cut).",
            "Postfix's smtp_mx_address_limit: a domain with a hundred MX addresses costs five connects, not a hundred."),
        new("Remote:MaxMxSessions", "2", "Most mail hosts that accept a connection and are talked to per attempt before the delivery is deferred.",
            "Postfix's smtp_mx_session_limit: a second host covers a broken primary; more only multiply the time a bad domain costs."),
        new("Remote:AllowPrivateTargets", "false", "Deliver by MX lookup or address literal to private, link-local and shared addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, ...). This host's own addresses and loopback are always a loop.",
            "Off: relay clients cannot probe internal hosts and read their replies in bounces; lab networks turn it on. Routes and the smarthost may name any host."),
        new("Remote:DnsServers", "", "DNS servers for MX lookups, separated by commas (address or address:port). Empty: the system's resolvers.",
            "The system's resolvers suit nearly every host; a lab or a test network names its own."),
        new("Dns:Servers", "", "DNS servers for the door's policy lookups (DNS lists, SPF), separated by commas (address or address:port). Empty: the system's resolvers.",
            "The system's resolver suits most hosts; DNS lists refuse queries that come through the big public resolvers, so name a local caching resolver where the system's is one of those."),
        new("Dns:TimeoutMilliseconds", "2000", "How long a policy DNS question waits for an answer before it is asked again or counts as a temporary error (never as \"not listed\" or \"no record\").",
            "A client waits on these answers at connect and MAIL; a healthy resolver answers in milliseconds, two seconds allows for a slow authoritative server.", SettingKind.Number),
        new("Dns:Retries", "1", "How many times a policy DNS question that got no answer is asked again.",
            "One retry survives a lost UDP packet; more would only keep the client waiting.", SettingKind.Number),
        new("Dns:CacheEntries", "10000", "Most policy DNS answers kept in memory (the least recently used go first); 0 turns the cache off.",
            "About 5 MB at most; a busy hour's clients and sender domains fit, so a retrying client or a mailing list's sender costs no second lookup.", SettingKind.Number),
        new("Dns:CacheMaxSeconds", "3600", "Longest a cached policy DNS answer is kept, even when its TTL is longer (shorter TTLs are respected; negative answers follow the zone's SOA, RFC 2308).",
            "A listing removed or an SPF record fixed takes effect within the hour.", SettingKind.Number),
        new("Policy:Dnsbl", "", "DNS blocklists asked about each client that is not a relay client, authenticated or on submission (rblsmtpd): zone or zone=action, separated by commas; action connect (554 instead of the greeting), rcpt (550 to each RCPT with the list's text; the default) or mark (an X-Mailward-DNSBL header only). Error answers (127.255.255.x, 127.0.0.255) and DNS failures never refuse.",
            "Empty: no list is asked until the admin chooses one (most lists have terms of use, and refuse queries from public resolvers)."),
        new("Policy:Dnswl", "", "DNS allowlists (zones, separated by commas) asked first: a client listed in one is not asked about in the blocklists.",
            "Empty: no allowlist until the admin chooses one."),
        new("Spf:Mode", "mark", "SPF (RFC 7208) for mail from clients that are not relay clients, authenticated or on submission: off; mark (the HELO and MAIL FROM identities are checked and a Received-SPF header records the result); reject (as mark, and a fail at MAIL FROM is refused with 550 5.7.23 and the domain's explanation). Softfail, neutral and the errors are never refused.",
            "Mark, as Stalwart does: a forwarded message fails SPF through no fault of its sender, so the result informs DMARC and filters; reject is one setting away."),
        new("Spf:MaxDnsLookups", "10", "Most SPF terms that ask DNS (include, a, mx, ptr, exists, redirect) in one check; past it the result is permerror.",
            "RFC 7208 §4.6.4's limit: what every publisher's record is written for; more would let one record make the server ask hundreds of questions.", SettingKind.Number),
        new("Spf:MaxVoidLookups", "2", "Most DNS answers of \"no such name\" or \"no data\" in one SPF check; past it the result is permerror.",
            "RFC 7208 §4.6.4's recommended limit: a record that keeps asking about names that do not exist is an attack on someone's DNS.", SettingKind.Number),
        new("Spf:DeadlineSeconds", "20", "Longest one SPF check may take, its DNS questions included; then its result is temperror (never a refusal).",
            "RFC 7208 §4.6.4 asks for at least 20 seconds; the client waits at MAIL, well inside its 5-minute MAIL timeout (RFC 5321 §4.5.3.2.2).", SettingKind.Number),
        new("Log:Level", "Information", "Least severe log level written (Trace, Debug, Information, Warning, Error).",
            "Information records each session and delivery without protocol transcripts."),
        new("Log:Target", "both", "Where log lines go: file (daily files in Log:Path), stdout (standard output, journald under systemd) or both (docs/log-format.md).",
            "mailward stats reads the files, so a tar-ball install has statistics with no setup, and standard output keeps showing what serve always showed; a systemd unit picks file or stdout so journald does not store every line twice."),
        new("Log:Path", "", "Folder of the daily log files (mailward-YYYY-MM-DD.log, UTC days, owner-only). Empty: <data>/log.",
            "The data folder holds everything by default; point it at /var/log/mailward where the admin's tools look."),
        new("Log:RetentionDays", "30", "Days of log files kept, today included; older files are deleted when a new day's file opens (multilog's kept files). 0: keep every file.",
            "A month of daily reports to compare; at about 300 bytes a delivery even a busy node's month fits on any disk.", SettingKind.Number),
        new("Log:BufferLines", "10000", "Most log lines waiting for the disk; past it lines are dropped and counted (a line says how many), so logging never holds up mail.",
            "About 3 MB: covers seconds of a stalled disk at thousands of deliveries a second.", SettingKind.Number),
    ];

    public static readonly IReadOnlyDictionary<string, SettingDefinition> ByKey =
        All.ToDictionary(s => s.Key, StringComparer.OrdinalIgnoreCase);

    public static IEnumerable<KeyValuePair<string, string?>> Defaults =>
        All.Select(s => new KeyValuePair<string, string?>(s.Key, s.Default));

    /// <summary>mailward.json with every setting at its default and a comment on each (JSON with comments).</summary>
    public static string RenderJson()
    {
        var sb = new StringBuilder();
        sb.Append("// Mailward settings. Every setting is shown at its default; see docs/settings.md.\n");
        sb.Append("// Later sources win: this file, then MAILWARD_<Section>__<Key>, then --<Section>:<Key>=<value>.\n{\n");
        var groups = All.GroupBy(s => s.Section).ToList();
        for (var g = 0; g < groups.Count; g++)
        {
            var group = groups[g];
            var indent = group.Key.Length == 0 ? "  " : "    ";
            var items = group.ToList();
            if (group.Key.Length > 0)
                sb.Append($"  \"{group.Key}\": {{\n");
            for (var i = 0; i < items.Count; i++)
            {
                var s = items[i];
                sb.Append($"{indent}// {s.Description}\n");
                var value = s.Kind == SettingKind.Text ? JsonString(s.Default) : s.Default;
                var last = i == items.Count - 1 && (group.Key.Length > 0 || g == groups.Count - 1);
                sb.Append($"{indent}\"{s.Name}\": {value}{(last ? "" : ",")}\n");
            }
            if (group.Key.Length > 0)
                sb.Append(g == groups.Count - 1 ? "  }\n" : "  },\n");
        }
        sb.Append("}\n");
        return sb.ToString();
    }

    /// <summary>docs/settings.md.</summary>
    public static string RenderMarkdown()
    {
        var sb = new StringBuilder();
        sb.Append("# Settings\n\n");
        sb.Append("Generated from `src/Mailward.Core/Configuration/SettingsCatalog.cs` (a test keeps this file in step).\n");
        sb.Append("Sources, later wins: defaults, `DATA/mailward.json`, environment `MAILWARD_<Section>__<Key>`, ");
        sb.Append("command line `--<Section>:<Key>=<value>`.\n\n");
        sb.Append("| setting | default | what it does | why this default |\n|---|---|---|---|\n");
        foreach (var s in All)
            sb.Append($"| `{s.Key}` | `{(s.Default.Length == 0 ? "(empty)" : s.Default)}` | {s.Description} | {s.Reason} |\n");
        return sb.ToString();
    }

    private static string JsonString(string s) => System.Text.Json.JsonSerializer.Serialize(s);
}
