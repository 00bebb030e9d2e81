// The SMTP client of remote delivery (qmail-remote, Postfix's smtp(8)): one connection carries
// every recipient of a message for one destination, with PIPELINING (RFC 2920), SIZE (RFC 1870),
// BODY=8BITMIME (RFC 6152) and opportunistic STARTTLS (RFC 3207), or verified TLS where a
// TlsRequirement asks for it (MTA-STS, Remote:RequireTlsRoutes). The message's bytes are sent
// exactly as queued; only the transparency dots of RFC 5321 §4.5.2 are added on the wire.
// Time is bounded three ways: each read and write (Remote:DataTimeoutSeconds), the greeting
// (Remote:GreetingTimeoutSeconds, RFC 5321 §4.5.3.2.1) and the whole conversation
// (Remote:SessionTimeoutSeconds), so a tarpit that trickles one line at a time cannot hold a slot
// for hours. A peer that greets or answers EHLO with our own Hostname is this server: a loop.
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Mailward.Core.Policy;

namespace Mailward.Core.Delivery.Remote;

public sealed record RemoteOptions
{
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public TimeSpan DataTimeout { get; init; } = TimeSpan.FromSeconds(1200);
    public TimeSpan GreetingTimeout { get; init; } = TimeSpan.FromSeconds(300);
    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromSeconds(1800);
    public int MaxMxAddresses { get; init; } = 5;
    public int MaxMxSessions { get; init; } = 2;
    public int MaxRecipientsPerTransaction { get; init; } = 100;
}

/// <summary>
/// How one session went: it never connected, it failed before MAIL, or per-recipient results.
/// Mute: it connected but timed out before a transaction began (a tarpit); Loop: the peer is this server.
/// </summary>
public sealed record RelaySession(bool Connected, DeliveryResult? SessionFailure, IReadOnlyList<DeliveryResult> Recipients, bool Tls,
    bool Mute = false, bool Loop = false);

public sealed class SmtpRelayClient(RemoteOptions options, string hostname)
{
    private const int MaxReplyLines = 100;
    private const int MaxLineBytes = 4096;

    /// <summary>
    /// Connects to <paramref name="endpoint"/> and sends the message to <paramref name="recipients"/>.
    /// A failure before the first transaction (connect, greeting, EHLO) is reported as the session's,
    /// so the caller can try the next host; afterwards every recipient gets its own result.
    /// </summary>
    /// <param name="requireTls">Null: opportunistic TLS. Otherwise the session must switch to TLS with a certificate valid for its
    /// name, or it ends before MAIL with a temporary failure (never sent in clear text).</param>
    public async Task<RelaySession> SendAsync(string host, IPEndPoint endpoint, string sender, IReadOnlyList<string> recipients,
        Func<Stream> openBody, long bodyLength, bool eightBit, CancellationToken ct, bool tryTls = true, TlsRequirement? requireTls = null)
    {
        var label = $"{host} [{endpoint.Address}]";
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(options.SessionTimeout);
        try
        {
            using var connect = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
            connect.CancelAfter(options.ConnectTimeout);
            await socket.ConnectAsync(endpoint, connect.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            socket.Dispose();
            return new RelaySession(false, DeliveryResult.Temporary("4.4.1",
                $"could not connect to {label}:{endpoint.Port}: {(e is OperationCanceledException ? "timed out" : e.Message)}"), [], false);
        }
        await using var conn = new Connection(new NetworkStream(socket, ownsSocket: true), options.DataTimeout, label);
        try
        {
            return await TalkAsync(conn, sender, recipients, openBody, bodyLength, eightBit, tryTls, deadline.Token, requireTls);
        }
        catch (Exception e) when (requireTls is null && tryTls && conn.TlsAttempted && !conn.Tls && e is AuthenticationException or IOException && !ct.IsCancellationRequested)
        {
            // A broken TLS offer does not stop the mail: once more without STARTTLS, as Postfix's "may" level.
            await conn.DisposeAsync();
            return await SendAsync(host, endpoint, sender, recipients, openBody, bodyLength, eightBit, ct, tryTls: false);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or AuthenticationException or ProtocolViolation
                                  && !ct.IsCancellationRequested)
        {
            var timedOut = e is OperationCanceledException;
            var why = !timedOut ? (e is AuthenticationException && requireTls is not null ? $"TLS required ({requireTls.Why}) but the certificate is not valid for {requireTls.VerifyName}: {e.Message}" : e.Message)
                : deadline.IsCancellationRequested ? $"the whole session took longer than {options.SessionTimeout.TotalSeconds:0} s (Remote:SessionTimeoutSeconds)"
                : conn.Greeted ? "timed out" : $"connected, but no greeting within {options.GreetingTimeout.TotalSeconds:0} s";
            var failure = DeliveryResult.Temporary("4.4.2", $"{label} conversation failed: {why}");
            return new RelaySession(true, conn.InTransaction ? null : failure,
                conn.InTransaction ? recipients.Select(_ => failure).ToList() : [], conn.Tls, Mute: timedOut && !conn.InTransaction);
        }
    }

    private async Task<RelaySession> TalkAsync(Connection c, string sender, IReadOnlyList<string> recipients,
        Func<Stream> openBody, long bodyLength, bool eightBit, bool tryTls, CancellationToken ct, TlsRequirement? requireTls = null)
    {
        // RFC 5321 §4.5.3.2.1: five minutes for the initial 220, not the long data timeout.
        var greeting = await c.ReadReplyAsync(ct, options.GreetingTimeout);
        c.Greeted = true;
        if (greeting.Code / 100 != 2)
            return Early(c, greeting, "greeting");
        if (IsMyName(greeting))
            return Loop(c, "greeted me with my own hostname");
        var ehlo = await c.CommandAsync($"EHLO {hostname}", ct);
        var extensions = ehlo.Code == 250 ? Extensions(ehlo) : new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (ehlo.Code != 250)
        {
            var helo = await c.CommandAsync($"HELO {hostname}", ct);
            if (helo.Code != 250)
                return Early(c, helo, "HELO");
            if (IsMyName(helo))
                return Loop(c, "replied to HELO with my own hostname");
        }
        else if (IsMyName(ehlo))
            return Loop(c, "replied to EHLO with my own hostname");
        if ((tryTls || requireTls is not null) && extensions.ContainsKey("STARTTLS"))
        {
            var start = await c.CommandAsync("STARTTLS", ct);
            if (start.Code == 220)
            {
                await c.StartTlsAsync(c.Label, ct, requireTls);
                ehlo = await c.CommandAsync($"EHLO {hostname}", ct);
                if (ehlo.Code != 250)
                    return Early(c, ehlo, "EHLO after STARTTLS");
                extensions = Extensions(ehlo);
            }
        }
        if (requireTls is not null && !c.Tls)
            return new RelaySession(true, DeliveryResult.Temporary("4.7.5",
                $"TLS required ({requireTls.Why}) but {c.Label} does not offer STARTTLS"), [], false); // RFC 8461 §4.2: not sent in clear text
        if (extensions.TryGetValue("SIZE", out var sizeText) && long.TryParse(sizeText, out var limit) && limit > 0 && bodyLength > limit)
            return new RelaySession(true, null, recipients.Select(_ => DeliveryResult.Permanent("5.3.4",
                $"{c.Label} accepts at most {limit} bytes (SIZE); the message has {bodyLength}")).ToList(), c.Tls);

        var pipelining = extensions.ContainsKey("PIPELINING");
        var mailParams = (extensions.ContainsKey("SIZE") ? $" SIZE={bodyLength}" : "") +
                         (eightBit && extensions.ContainsKey("8BITMIME") ? " BODY=8BITMIME" : "");
        var results = new List<DeliveryResult>(recipients.Count);
        c.InTransaction = true;
        for (var start = 0; start < recipients.Count; start += options.MaxRecipientsPerTransaction)
        {
            var chunk = recipients.Skip(start).Take(options.MaxRecipientsPerTransaction).ToList();
            results.AddRange(await TransactionAsync(c, sender, mailParams, chunk, pipelining, openBody, ct));
        }
        try
        {
            await c.CommandAsync("QUIT", ct);
        }
        catch (IOException)
        {
            // The mail is already accepted; a rude close after QUIT changes nothing.
        }
        return new RelaySession(true, null, results, c.Tls);
    }

    private static async Task<IReadOnlyList<DeliveryResult>> TransactionAsync(Connection c, string sender, string mailParams,
        List<string> recipients, bool pipelining, Func<Stream> openBody, CancellationToken ct)
    {
        // RFC 2920: MAIL, every RCPT and DATA go in one write; replies are read in order.
        c.Write($"MAIL FROM:<{sender}>{mailParams}");
        if (!pipelining)
        {
            await c.FlushAsync(ct);
            var early = await c.ReadReplyAsync(ct);
            if (early.Code / 100 != 2)
                return await AllFailAsync(c, early, recipients, ct);
        }
        var rcptReplies = new List<Reply>(recipients.Count);
        if (pipelining)
        {
            foreach (var r in recipients)
                c.Write($"RCPT TO:<{r}>");
            c.Write("DATA");
            await c.FlushAsync(ct);
            var mail = await c.ReadReplyAsync(ct);
            foreach (var _ in recipients)
                rcptReplies.Add(await c.ReadReplyAsync(ct));
            var data = await c.ReadReplyAsync(ct);
            if (mail.Code / 100 != 2)
            {
                if (data.Code == 354)
                    await c.CommandAsync(".", ct);
                return await AllFailAsync(c, mail, recipients, ct);
            }
            return await FinishDataAsync(c, rcptReplies, data, recipients, openBody, ct);
        }
        foreach (var r in recipients)
            rcptReplies.Add(await c.CommandAsync($"RCPT TO:<{r}>", ct));
        if (!rcptReplies.Any(r => r.Code / 100 == 2))
            return await FinishDataAsync(c, rcptReplies, null, recipients, openBody, ct);
        return await FinishDataAsync(c, rcptReplies, await c.CommandAsync("DATA", ct), recipients, openBody, ct);
    }

    private static async Task<IReadOnlyList<DeliveryResult>> FinishDataAsync(Connection c, List<Reply> rcptReplies, Reply? data,
        List<string> recipients, Func<Stream> openBody, CancellationToken ct)
    {
        var accepted = rcptReplies.Any(r => r.Code / 100 == 2);
        Reply? final = null;
        if (data is { Code: 354 })
        {
            if (accepted)
            {
                await using var body = openBody();
                await c.SendBodyAsync(body, ct);
                final = await c.ReadReplyAsync(ct);
            }
            else
                await c.CommandAsync(".", ct); // a server that said 354 with no recipient gets an empty message it will refuse
        }
        if (!accepted || data is null || data.Code != 354 || final is null || final.Code / 100 != 2)
            await c.CommandAsync("RSET", ct);
        var results = new List<DeliveryResult>(recipients.Count);
        for (var i = 0; i < recipients.Count; i++)
        {
            var rcpt = rcptReplies[i];
            if (rcpt.Code / 100 != 2)
                results.Add(Result(c, rcpt));
            else if (data is null || data.Code != 354)
                results.Add(Result(c, data ?? rcpt));
            else
                results.Add(Result(c, final!));
        }
        return results;
    }

    private static async Task<IReadOnlyList<DeliveryResult>> AllFailAsync(Connection c, Reply reply, List<string> recipients, CancellationToken ct)
    {
        await c.CommandAsync("RSET", ct);
        return recipients.Select(_ => Result(c, reply)).ToList();
    }

    private static DeliveryResult Result(Connection c, Reply reply) => DeliveryResult.FromReply(c.Host, reply.Code, reply.Text, $"{c.Label} said: {reply.Text}");

    /// <summary>The first word of a greeting or EHLO reply is the peer's name (RFC 5321 §4.2); ours means a loop.</summary>
    private bool IsMyName(Reply reply) =>
        reply.Lines.Count > 0 && reply.Lines[0].Split(' ', 2)[0].TrimEnd('.').Equals(hostname, StringComparison.OrdinalIgnoreCase);

    /// <summary>Postfix's "mail for ... loops back to myself": permanent, no other MX will do better.</summary>
    private static RelaySession Loop(Connection c, string why) =>
        new(true, DeliveryResult.Permanent("5.4.6", $"mail loops back to myself: {c.Label} {why} (#5.4.6)"), [], c.Tls, Loop: true);

    private static RelaySession Early(Connection c, Reply reply, string stage) =>
        new(true, DeliveryResult.FromReply(c.Host, reply.Code, reply.Text, $"{c.Label} said: {reply.Text} (at {stage})"), [], c.Tls);

    private static Dictionary<string, string> Extensions(Reply ehlo)
    {
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in ehlo.Lines.Skip(1))
        {
            var space = line.IndexOf(' ');
            map[space < 0 ? line : line[..space]] = space < 0 ? "" : line[(space + 1)..];
        }
        return map;
    }

    private sealed record Reply(int Code, IReadOnlyList<string> Lines)
    {
        // A remote reply reaches logs, `queue list` and DSNs: printable and capped, whatever the peer sent.
        public string Text => ClientText.Printable($"{Code} {string.Join(" ", Lines)}".Trim(), 1000);
    }

    private sealed class ProtocolViolation(string message) : Exception(message);

    /// <summary>The connection: buffered writes, bounded reply reading, each read and write under the data timeout.</summary>
    private sealed class Connection(Stream stream, TimeSpan timeout, string label) : IAsyncDisposable
    {
        private Stream _stream = stream;
        private readonly byte[] _in = new byte[8192];
        private int _inStart, _inEnd;
        private readonly MemoryStream _out = new();

        public string Label { get; } = label;
        /// <summary>The host name part of the label: the DSN's Remote-MTA.</summary>
        public string Host => Label[..Math.Max(0, Label.IndexOf(" [", StringComparison.Ordinal))];
        public bool Tls { get; private set; }
        public bool TlsAttempted { get; private set; }
        public bool InTransaction { get; set; }
        public bool Greeted { get; set; }

        public void Write(string command) => _out.Write(Encoding.UTF8.GetBytes(command + "\r\n"));

        public async Task FlushAsync(CancellationToken ct)
        {
            using var t = Timed(ct);
            await _stream.WriteAsync(_out.GetBuffer().AsMemory(0, (int)_out.Length), t.Token);
            await _stream.FlushAsync(t.Token);
            _out.SetLength(0);
        }

        public async Task<Reply> CommandAsync(string command, CancellationToken ct)
        {
            Write(command);
            await FlushAsync(ct);
            return await ReadReplyAsync(ct);
        }

        public async Task StartTlsAsync(string host, CancellationToken ct, TlsRequirement? required = null)
        {
            // Opportunistic TLS (RFC 7435): encrypt when offered, without insisting on a verified name,
            // as Postfix's smtp_tls_security_level=may does; verified when required (RemoteTls.cs). TLS 1.2 and later only.
#pragma warning disable CA5359 // unverified on purpose: RFC 7435 opportunistic security; refusing would send in clear text instead
            TlsAttempted = true;
            var ssl = new SslStream(_stream, leaveInnerStreamOpen: false, required is null ? (_, _, _, _) => true : required.Trust.Validate);
#pragma warning restore CA5359
            using var t = Timed(ct);
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = required?.VerifyName ?? host.Split(' ')[0],
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            }, t.Token);
            _stream = ssl;
            _inStart = _inEnd = 0;
            Tls = true;
        }

        /// <summary>Sends the body with dot-stuffing (RFC 5321 §4.5.2), a final CRLF if missing, and the end marker.</summary>
        public async Task SendBodyAsync(Stream body, CancellationToken ct)
        {
            var input = new byte[1 << 16];
            var output = new byte[(1 << 17) + 8];
            var atLineStart = true;
            var last = (byte)'\n';
            int n;
            using var t = Timed(ct);
            while ((n = await body.ReadAsync(input, ct)) > 0)
            {
                var o = 0;
                for (var i = 0; i < n; i++)
                {
                    var b = input[i];
                    if (atLineStart && b == (byte)'.')
                        output[o++] = (byte)'.';
                    output[o++] = b;
                    atLineStart = b == (byte)'\n';
                    last = b;
                }
                t.CancelAfter(timeout);
                await _stream.WriteAsync(output.AsMemory(0, o), t.Token);
            }
            var end = last == (byte)'\n' ? ".\r\n"u8.ToArray() : "\r\n.\r\n"u8.ToArray();
            await _stream.WriteAsync(end, t.Token);
            await _stream.FlushAsync(t.Token);
        }

        public async Task<Reply> ReadReplyAsync(CancellationToken ct, TimeSpan? lineTimeout = null)
        {
            var lines = new List<string>();
            var code = 0;
            while (true)
            {
                var line = await ReadLineAsync(lineTimeout ?? timeout, ct);
                if (line.Length < 3 || !int.TryParse(line.AsSpan(0, 3), out var c) || c < 200 || c > 599 ||
                    (line.Length > 3 && line[3] != ' ' && line[3] != '-'))
                    throw new ProtocolViolation($"{Label} sent a malformed reply: {ClientText.Printable(line, 80)}");
                if (code != 0 && c != code)
                    throw new ProtocolViolation($"{Label} changed the reply code within one reply");
                code = c;
                lines.Add(line.Length > 4 ? line[4..] : "");
                if (line.Length == 3 || line[3] == ' ')
                    return new Reply(code, lines);
                if (lines.Count >= MaxReplyLines)
                    throw new ProtocolViolation($"{Label} sent a reply of more than {MaxReplyLines} lines");
            }
        }

        private async Task<string> ReadLineAsync(TimeSpan lineTimeout, CancellationToken ct)
        {
            using var t = CancellationTokenSource.CreateLinkedTokenSource(ct);
            t.CancelAfter(lineTimeout);
            var line = new List<byte>();
            while (true)
            {
                if (_inStart == _inEnd)
                {
                    _inStart = 0;
                    _inEnd = await _stream.ReadAsync(_in, t.Token);
                    if (_inEnd == 0)
                        throw new IOException($"{Label} closed the connection");
                }
                var span = _in.AsSpan(_inStart, _inEnd - _inStart);
                var lf = span.IndexOf((byte)'\n');
                var take = lf < 0 ? span.Length : lf + 1;
                line.AddRange(span[..take].ToArray());
                _inStart += take;
                if (line.Count > MaxLineBytes)
                    throw new ProtocolViolation($"{Label} sent a reply line longer than {MaxLineBytes} bytes");
                if (lf >= 0)
                    return Encoding.UTF8.GetString([.. line]).TrimEnd('\r', '\n');
            }
        }

        private CancellationTokenSource Timed(CancellationToken ct)
        {
            var t = CancellationTokenSource.CreateLinkedTokenSource(ct);
            t.CancelAfter(timeout);
            return t;
        }


        public async ValueTask DisposeAsync()
        {
            await _stream.DisposeAsync();
            _out.Dispose();
        }
    }
}
