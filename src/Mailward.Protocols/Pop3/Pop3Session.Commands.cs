// POP3 commands by state. AUTHORIZATION: CAPA, USER, PASS, APOP, AUTH PLAIN, STLS, QUIT.
// TRANSACTION: STAT, LIST, UIDL, RETR, TOP, DELE, NOOP, RSET, CAPA, QUIT (UPDATE).
using System.Buffers;
using Mailward.Core.Accounts;
using Mailward.Core.Auth;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Locks;
using Mailward.Protocols.Common.Sasl;

namespace Mailward.Protocols.Pop3;

public sealed partial class Pop3Session
{
    private async Task<bool> AuthorizationAsync(string verb, string arg, CancellationToken ct)
    {
        switch (verb)
        {
            case "CAPA":
                Capabilities();
                return true;
            case "QUIT":
                Reply("+OK bye");
                return false;
            case "STLS" when _tls is not null:
                return Bad("-ERR already using TLS");
            case "STLS" when _info.StartTls is null:
                return Bad("-ERR STLS not available");
            case "STLS":
                // RFC 2595 §4: nothing the client pipelined behind STLS may be read as a command.
                _channel.DiscardBuffered();
                Reply("+OK begin TLS negotiation");
                await FlushAsync(ct);
                (_channel.Stream, _tls) = await _info.StartTls(_channel.Stream, ct);
                _user = null;
                return true;
            case "USER" when !PlaintextAllowed:
            case "PASS" when !PlaintextAllowed:
            case "AUTH" when arg.Length > 0 && !PlaintextAllowed:
                return Bad("-ERR [AUTH] plain text logins need TLS first (STLS)");
            case "USER" when arg.Length == 0:
                return Bad("-ERR USER needs a name");
            case "USER":
                _user = arg.Trim();
                Reply("+OK send PASS"); // the same for every name: no account oracle
                return true;
            case "PASS" when _user is null:
                return Bad("-ERR USER first");
            case "PASS":
                var user = _user;
                _user = null;
                return await LoginAsync(user, () => logins.VerifyAsync(user, arg, _info.ClientAddress, _info.ServerAddress, "pop3", UserFlags.NoPop, ct), ct);
            case "APOP" when !options.ApopOffered:
                return Bad("-ERR APOP not available");
            case "APOP":
                var parts = arg.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length != 2)
                    return Bad("-ERR APOP name digest");
                return await LoginAsync(parts[0], () => logins.VerifyApopAsync(parts[0], _timestamp, parts[1], _info.ClientAddress, _info.ServerAddress, "pop3", UserFlags.NoPop, ct), ct);
            case "AUTH":
                return await AuthAsync(arg, ct);
            default:
                return Bad(verb is "STAT" or "LIST" or "RETR" or "DELE" or "UIDL" or "TOP" or "RSET" or "NOOP"
                    ? "-ERR log in first" : "-ERR unknown command");
        }
    }

    /// <summary>RFC 5034 AUTH through the shared SASL code: only PLAIN, with the initial response on the line or after "+ ".</summary>
    private async Task<bool> AuthAsync(string arg, CancellationToken ct)
    {
        if (arg.Length == 0)
        {
            Reply("+OK mechanisms follow");
            if (PlaintextAllowed)
                Reply("PLAIN");
            Reply(".");
            return true;
        }
        var parts = arg.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || SaslServer.Find(parts[0], Mechanisms) is not { } mechanism)
            return Bad("-ERR [AUTH] unsupported mechanism");
        var sasl = await SaslServer.RunAsync(mechanism, parts.Length > 1 ? parts[1] : null, async (challenge, token) =>
        {
            Reply("+ " + challenge);
            return await ReadLineAsync(token);
        }, ct);
        switch (sasl.Result)
        {
            case SaslResult.Disconnected:
                _closeReason ??= "client disconnected";
                return false;
            case SaslResult.Cancelled:
                return Bad("-ERR [AUTH] authentication cancelled");
            case SaslResult.MalformedBase64:
                return Bad("-ERR [AUTH] malformed base64");
            case SaslResult.Malformed:
                return Bad("-ERR [AUTH] malformed PLAIN response");
        }
        return await LoginAsync(sasl.User, () => logins.VerifyAsync(sasl.User, sasl.Password, _info.ClientAddress, _info.ServerAddress, "pop3", UserFlags.NoPop, ct), ct);
    }

    private static readonly SaslMechanism[] Mechanisms = [SaslMechanism.Plain];

    private static readonly string[] FailureNames = ["ok", "bad-credentials", "service-disabled", "throttled", "store-unavailable"];

    private async Task<bool> LoginAsync(string login, Func<Task<LoginResult>> verify, CancellationToken ct)
    {
        var result = await Task.Run(verify, ct); // Argon2 takes milliseconds of CPU: off the I/O thread
        var shown = Mailward.Core.Policy.ClientText.Printable(login); // a client's string: no forged log lines
        Pop3Log.Login(logger, _info.SessionId, _client, shown, FailureNames[(int)result.Failure], result.FromCache);
        if (!result.Succeeded)
        {
            // The answer waits (checkpoppasswd's delay), without holding any thread or other session.
            await Task.Delay(options.FailedLoginDelay, _time, ct);
            return Bad(result.Failure switch
            {
                LoginFailure.ServiceDisabled => "-ERR [SYS/PERM] POP3 access is disabled for this account",
                LoginFailure.Throttled => "-ERR [AUTH] too many failed logins from your address; try again later",
                LoginFailure.Unavailable => "-ERR [SYS/TEMP] the account store is unavailable; try again later", // RFC 3206 §4
                _ => "-ERR [AUTH] invalid login or password",
            });
        }
        // RFC 1939 §8: one session at a time holds the maildrop; the lock is the mail store's, the owner the account.
        var owner = MailboxOwner.Of(result.User!);
        IMailboxLock? held;
        try
        {
            held = await locks.TryAcquireAsync(owner, $"{options.Hostname} {_info.SessionId}", options.LockStaleAfter, ct);
        }
        catch (AccountStoreUnavailableException)
        {
            return Bad("-ERR [SYS/TEMP] the account store is unavailable; try again later"); // the lock lives there (several nodes)
        }
        if (held is null)
        {
            Reply("-ERR [IN-USE] the mailbox is open in another session");
            return true;
        }
        try
        {
            _mailbox = await store.OpenAsync(owner, "INBOX", ct);
        }
        catch
        {
            held.Dispose();
            throw;
        }
        _lock = held;
        _messages = _mailbox.Entries.ToArray(); // POP3's message numbers are fixed for the session
        _address = result.User!.Address;
        Reply($"+OK {_messages.Length} messages");
        return true;
    }

    private void Capabilities()
    {
        Reply("+OK capability list follows");
        foreach (var c in new[] { "TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "EXPIRE NEVER", "IMPLEMENTATION Mailward" })
            Reply(c);
        if (_mailbox is null)
        {
            if (PlaintextAllowed)
            {
                Reply("USER");
                Reply("SASL PLAIN");
            }
            if (_tls is null && _info.StartTls is not null)
                Reply("STLS");
        }
        Reply(".");
    }

    private async Task<bool> TransactionAsync(string verb, string arg, CancellationToken ct)
    {
        var box = _mailbox!;
        _lock!.Touch();
        switch (verb)
        {
            case "STAT":
                var live = Live().ToList();
                Reply($"+OK {live.Count} {live.Sum(i => box.VirtualSizeOf(_messages[i]))}");
                return true;
            case "LIST" or "UIDL":
                if (arg.Length > 0)
                {
                    if (Number(arg) is not { } n)
                        return Bad("-ERR no such message");
                    Reply($"+OK {n + 1} {(verb == "LIST" ? box.VirtualSizeOf(_messages[n]).ToString() : _messages[n].Pop3Uidl)}");
                    return true;
                }
                Reply(verb == "LIST" ? "+OK scan listing follows" : "+OK unique-id listing follows");
                foreach (var i in Live())
                    Reply($"{i + 1} {(verb == "LIST" ? box.VirtualSizeOf(_messages[i]).ToString() : _messages[i].Pop3Uidl)}");
                Reply(".");
                return true;
            case "RETR":
                if (Number(arg) is not { } r)
                    return Bad("-ERR no such message");
                using (var message = box.OpenMessage(_messages[r].Uid))
                {
                    if (message is null)
                        return Bad("-ERR [SYS/TEMP] the message was removed by another client");
                    Reply($"+OK {box.VirtualSizeOf(_messages[r])} octets");
                    await SendMessageAsync(message, int.MaxValue, ct);
                }
                return true;
            case "TOP":
                var a = arg.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (a.Length != 2 || Number(a[0]) is not { } t || !int.TryParse(a[1], out var lines) || lines < 0)
                    return Bad("-ERR TOP message lines");
                using (var message = box.OpenMessage(_messages[t].Uid))
                {
                    if (message is null)
                        return Bad("-ERR [SYS/TEMP] the message was removed by another client");
                    Reply("+OK top of message follows");
                    await SendMessageAsync(message, lines, ct);
                }
                return true;
            case "DELE":
                if (Number(arg) is not { } d)
                    return Bad("-ERR no such message");
                _deleted.Add(d);
                Reply($"+OK message {d + 1} deleted");
                return true;
            case "NOOP":
                Reply("+OK");
                return true;
            case "RSET":
                _deleted.Clear();
                Reply($"+OK {_messages.Length} messages");
                return true;
            case "CAPA":
                Capabilities();
                return true;
            case "QUIT":
                // UPDATE (RFC 1939 §6): only now do the deletions happen.
                var gone = await box.ExpungeAsync(_deleted.Select(i => _messages[i].Uid), ct);
                Pop3Log.Update(logger, _info.SessionId, _address, gone, _messages.Length - gone);
                _mailbox = null;
                box.Dispose();
                _lock?.Dispose();
                _lock = null;
                Reply($"+OK bye; {gone} deleted");
                return false;
            default:
                return Bad("-ERR unknown command");
        }
    }

    private IEnumerable<int> Live() => Enumerable.Range(0, _messages.Length).Where(i => !_deleted.Contains(i));

    /// <summary>A message number (1-based) that exists and is not deleted, as an index.</summary>
    private int? Number(string text) =>
        int.TryParse(text.Trim(), out var n) && n >= 1 && n <= _messages.Length && !_deleted.Contains(n - 1) ? n - 1 : null;

    /// <summary>
    /// The message with CRLF line ends and byte-stuffing (RFC 1939 §3), then the terminating dot.
    /// With <paramref name="bodyLines"/> (TOP) the header, the blank line and that many body lines.
    /// Works line by line on whole spans; a line may span two reads.
    /// </summary>
    private async Task SendMessageAsync(MessageReader file, int bodyLines, CancellationToken ct)
    {
        var input = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            var atLineStart = true;
            var lineHasText = false;
            var lastWasCr = false;
            var inBody = false;
            var bodySeen = 0;
            int n;
            // Synchronous reads: small files from the page cache; async file I/O would only add a thread hop.
            while ((n = file.Read(input.AsSpan(0, 1 << 16))) > 0)
            {
                var pos = 0;
                while (pos < n)
                {
                    if (inBody && bodySeen >= bodyLines)
                        goto done;
                    if (atLineStart && input[pos] == (byte)'.')
                        _out.Write("."u8);
                    var rest = input.AsSpan(pos, n - pos);
                    var lf = rest.IndexOf((byte)'\n');
                    var segment = lf < 0 ? rest : rest[..lf];
                    if (segment.Length > 0)
                    {
                        _out.Write(segment);
                        lastWasCr = segment[^1] == (byte)'\r';
                        lineHasText = lineHasText || segment.IndexOfAnyExcept((byte)'\r') >= 0;
                        atLineStart = false;
                    }
                    if (lf < 0)
                        break;
                    _out.Write(lastWasCr ? "\n"u8 : "\r\n"u8);
                    if (inBody)
                        bodySeen++;
                    else if (!lineHasText)
                        inBody = true; // the blank line between header and body
                    atLineStart = true;
                    lineHasText = false;
                    lastWasCr = false;
                    pos += lf + 1;
                }
                if (_out.WrittenCount > 1 << 16)
                    await FlushAsync(ct);
            }
            if (!atLineStart)
                _out.Write("\r\n"u8);
        done:
            Reply(".");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
        }
    }
}
