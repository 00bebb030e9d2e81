// IMAP's not-authenticated state and the commands of any state: STARTTLS (RFC 9051 §6.2.1),
// LOGIN (§6.2.3), AUTHENTICATE PLAIN with SASL-IR (§6.2.2, RFC 4959), ID (RFC 2971), ENABLE
// (RFC 5161; IMAP4rev2, CONDSTORE and QRESYNC of RFC 7162). Logins go through LoginService as POP3's do.
using Mailward.Core.Accounts;
using Mailward.Core.Auth;
using Mailward.Core.MailStore;
using Mailward.Protocols.Common.Sasl;

namespace Mailward.Protocols.Imap;

public sealed partial class ImapSession
{
    private static readonly SaslMechanism[] Mechanisms = [SaslMechanism.Plain];
    private static readonly string[] FailureNames = ["ok", "bad-credentials", "service-disabled", "throttled", "store-unavailable"];

    private async Task<bool> StartTlsAsync(string tag, IReadOnlyList<ImapToken> args, CancellationToken ct)
    {
        if (args.Count > 0)
            return Bad(tag, "STARTTLS takes no arguments");
        if (_tls is not null)
            return Bad(tag, "TLS is already active");
        if (_info.StartTls is null)
            return Bad(tag, "STARTTLS is not available");
        // RFC 9051 §6.2.1: nothing the client sent after STARTTLS before the handshake counts.
        _channel.DiscardBuffered();
        Tagged(tag, "OK begin TLS negotiation now");
        await _channel.FlushAsync(ct);
        (_channel.Stream, _tls) = await _info.StartTls(_channel.Stream, ct);
        return true;
    }

    private async Task<bool> LoginCommandAsync(string tag, IReadOnlyList<ImapToken> args, CancellationToken ct)
    {
        if (args.Count != 2 || args[0].AString is not { } user || args[1].AString is not { } password)
            return Bad(tag, "LOGIN user password");
        if (!PlaintextAllowed)
            return No(tag, "[PRIVACYREQUIRED] plain text logins need TLS first (STARTTLS)");
        return await LoginAsync(tag, user, password, ct);
    }

    private async Task<bool> AuthenticateAsync(string tag, IReadOnlyList<ImapToken> args, CancellationToken ct)
    {
        if (args.Count is < 1 or > 2 || args[0].Kind != ImapTokenKind.Atom)
            return Bad(tag, "AUTHENTICATE mechanism [initial-response]");
        if (!PlaintextAllowed)
            return No(tag, "[PRIVACYREQUIRED] authentication needs TLS first (STARTTLS)");
        if (SaslServer.Find(args[0].Text, Mechanisms) is not { } mechanism)
            return No(tag, "[CANNOT] unsupported authentication mechanism");
        // SASL-IR (RFC 4959): "=" is an empty initial response.
        var initial = args.Count == 2 ? args[1].Text : null;
        var sasl = await SaslServer.RunAsync(mechanism, initial, async (challenge, token) =>
        {
            _channel.Reply("+ " + challenge);
            var line = await _channel.ReadLineAsync(token);
            return ReferenceEquals(line, Common.LineChannel.LongLine) ? "" : line;
        }, ct);
        switch (sasl.Result)
        {
            case SaslResult.Disconnected:
                _closeReason = "client disconnected";
                return false;
            case SaslResult.Cancelled:
                return Bad(tag, "authentication cancelled");
            case SaslResult.MalformedBase64:
                return Bad(tag, "malformed base64");
            case SaslResult.Malformed:
                return Bad(tag, "malformed PLAIN response");
        }
        return await LoginAsync(tag, sasl.User, sasl.Password, ct);
    }

    private async Task<bool> LoginAsync(string tag, string login, string password, CancellationToken ct)
    {
        // Argon2 takes milliseconds of CPU: off the I/O thread.
        var result = await Task.Run(() => services.Logins.VerifyAsync(login, password, _info.ClientAddress, _info.ServerAddress, "imap", UserFlags.NoImap, ct), ct);
        var shown = Core.Policy.ClientText.Printable(login); // a client's string: no forged log lines
        ImapLog.Login(logger, _info.SessionId, _client, shown, FailureNames[(int)result.Failure], result.FromCache);
        if (!result.Succeeded)
        {
            // The answer waits (checkpassword's delay) without holding a thread or any other session.
            await Task.Delay(options.FailedLoginDelay, _time, ct);
            var answer = result.Failure switch
            {
                LoginFailure.ServiceDisabled => "NO [CONTACTADMIN] IMAP access is disabled for this account",
                LoginFailure.Throttled => "NO [UNAVAILABLE] too many failed logins from your address; try again later",
                LoginFailure.Unavailable => "NO [UNAVAILABLE] the account store is unavailable; try again later", // RFC 5530 §3
                _ => "NO [AUTHENTICATIONFAILED] invalid login or password",
            };
            if (_badCommands.CountAndCheck())
            {
                Tagged(tag, answer);
                Untagged("BYE too many failed commands; closing connection");
                _closeReason = "too many bad commands";
                return false;
            }
            Tagged(tag, answer);
            return true;
        }
        var user = result.User!;
        // UserRecord.Address makes a new string at each call: the owner's is the one the connection
        // slot and the session keep too, so an idle session holds one copy, not three.
        var owner = MailboxOwner.Of(user);
        if (services.UserConnections?.TryEnter(owner.Address, _info.ClientAddress) is not { } slot)
        {
            if (services.UserConnections is not null)
                return No(tag, "[LIMIT] too many connections for this user from your address");
            slot = null;
        }
        _userSlot = slot;
        _owner = owner;
        _address = owner.Address;
        _channel.CommandTimeout = options.AutologoutTimeout;
        await EnsureSpecialUseFoldersAsync(ct);
        Tagged(tag, $"OK [CAPABILITY {Capabilities()}] logged in");
        return true;
    }

    private bool Id(string tag, IReadOnlyList<ImapToken> args)
    {
        // RFC 2971: the client's fields are only read (nothing from them is logged raw); ours are few.
        if (args.Count != 1 || !(args[0].IsNil || args[0].Kind == ImapTokenKind.List))
            return Bad(tag, "ID (field value ...) or ID NIL");
        Untagged("ID (\"name\" \"Mailward\")");
        return Ok(tag, "ID completed");
    }

    private bool Enable(string tag, IReadOnlyList<ImapToken> args)
    {
        if (args.Count == 0)
            return Bad(tag, "ENABLE capability ...");
        var enabled = new List<string>();
        foreach (var a in args)
        {
            if (a.IsAtom("IMAP4rev2") && !_rev2)
            {
                _rev2 = _utf8 = true;
                enabled.Add("IMAP4rev2");
            }
            else if (a.IsAtom("CONDSTORE") && !_condstore)
            {
                EnableCondStore();
                enabled.Add("CONDSTORE");
            }
            else if (a.IsAtom("QRESYNC") && !_qresync)
            {
                EnableCondStore();
                _qresync = true;
                if (_selected is { } s)
                    s.View.QResync = true;
                enabled.Add("QRESYNC");
            }
        }
        Untagged("ENABLED" + string.Concat(enabled.Select(e => " " + e)));
        return Ok(tag, "ENABLE completed");
    }
}
