// An IMAP server session (RFC 9051 IMAP4rev2, RFC 3501 IMAP4rev1) as a state machine over a byte
// stream: not authenticated → authenticated → selected → logout (RFC 9051 §3). Commands arrive
// through the pure ImapCommandParser, literals through the line channel (synchronizing ones get
// "+", non-synchronizing ones are always read, even for a command that fails); replies are
// buffered and flushed before a read that could block. No sockets, no files: folders and
// messages come from IMailStore, logins from LoginService. Commands by family: ImapSession.*.cs.
using System.Net;
using System.Text;
using Mailward.Core.Auth;
using Mailward.Core.MailStore;
using Mailward.Protocols.Common;
using Microsoft.Extensions.Logging;

namespace Mailward.Protocols.Imap;

public sealed record ImapSessionInfo(string SessionId, IPAddress ClientAddress, IPAddress? ServerAddress)
{
    public Func<Stream, CancellationToken, Task<(Stream Stream, string Description)>>? StartTls { get; init; }
    public string? TlsDescription { get; init; }
}

/// <summary>What a session needs besides its options: the logins, the mail store, the change hub, and the per-user connection count.</summary>
public sealed record ImapServices(LoginService Logins, IMailStore Store, MailboxEvents? Events = null, ImapUserConnections? UserConnections = null,
    Fetch.RenderedStructures? Renders = null);

public sealed partial class ImapSession(ImapOptions options, ImapServices services, ILogger logger, TimeProvider? time = null) : IDisposable
{
    private const int IdleBufferSize = 2048; // the input buffer while commands are read (none during IDLE); it grows only for a long line

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ImapCommandParser _parser = new(options.ParserLimits);
    private readonly BadCommandLimit _badCommands = new(options.MaxBadCommands);
    private LineChannel _channel = null!;
    private ImapSessionInfo _info = null!;
    private string? _tls;
    private string _client = "";
    private string _closeReason = "";
    private IDisposable? _userSlot;

    // Authenticated state
    private MailboxOwner? _owner;
    private string _address = "";
    private bool _rev2; // ENABLE IMAP4rev2 (RFC 9051 §6.3.1)
    private bool _condstore; // RFC 7162 §3.1: turned on by ENABLE or the first command that uses a mod-sequence
    private bool _qresync; // RFC 7162 §3.2.3: ENABLE QRESYNC (implies CONDSTORE)
    private bool _utf8; // IMAP4rev2 enabled: mailbox names travel as UTF-8, not modified UTF-7 (RFC 9051 §5.1)

    private bool PlaintextAllowed => options.AllowPlaintextAuth.Allows(_tls is not null, _info.ClientAddress);

    private bool Authenticated => _owner is not null;

    public async Task RunAsync(Stream stream, ImapSessionInfo info, CancellationToken ct)
    {
        _channel = new LineChannel(stream, IdleBufferSize, options.MaxLineBytes, options.LoginTimeout, Encoding.UTF8);
        _info = info;
        _tls = info.TlsDescription;
        _client = info.ClientAddress.ToString();
        var end = "closed";
        ImapLog.SessionStarted(logger, info.SessionId, _client);
        try
        {
            Untagged($"OK [CAPABILITY {Capabilities()}] Mailward IMAP ready; session {info.SessionId}");
            while (true)
            {
                var command = await ReadCommandAsync(ct);
                if (command is null)
                {
                    end = _closeReason.Length > 0 ? _closeReason : "client disconnected";
                    break;
                }
                if (!await HandleAsync(command, ct))
                {
                    end = _closeReason.Length > 0 ? _closeReason : "logout";
                    break;
                }
            }
            await _channel.FlushAsync(ct);
        }
        catch (TimeoutException)
        {
            end = "autologout";
            await _channel.TryFinalReplyAsync("* BYE autologout; idle for too long");
        }
        catch (DataRateTooLowException)
        {
            end = "data rate too low";
            await _channel.TryFinalReplyAsync("* BYE data arrives too slowly");
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            end = "server shutdown";
            await _channel.TryFinalReplyAsync("* BYE [UNAVAILABLE] server shutting down");
        }
        catch (IOException e)
        {
            end = "connection lost: " + e.Message;
        }
        catch (InvalidDataException)
        {
            end = "damaged compressed data"; // nothing more can be read, nor answered in a form the client could trust
        }
        catch (ObjectDisposedException) when (_compressed is not null)
        {
            end = "connection lost"; // a compressed write failed before and the stream refuses more
        }
        finally
        {
            _compressed?.Dispose();
            CloseSelected();
            _userSlot?.Dispose();
            ImapLog.SessionEnded(logger, info.SessionId, _address, end);
        }
    }

    /// <summary>Closes the selected mailbox; RunAsync does it at its end too.</summary>
    public void Dispose() => CloseSelected();

    /// <summary>A parsed command: its tag, name and arguments; Error when it did not parse (the tag may be known).</summary>
    private sealed record ImapCommand(string Tag, string Name, IReadOnlyList<ImapToken> Args, string? Error = null);

    // IDLE runs straight from the command loop: an idle session waits with no dispatch frames under
    // it (docs/imap.md: what an IDLE session costs). It names no folder and stores nothing, so the
    // folder and quota errors answered below cannot arise in it.
    private Task<bool> HandleAsync(ImapCommand command, CancellationToken ct) =>
        command is { Error: null, Name: "IDLE" } && Authenticated ? IdleAsync(command.Tag, ct) : HandleCommandAsync(command, ct);

    private async Task<bool> HandleCommandAsync(ImapCommand command, CancellationToken ct)
    {
        if (command.Error is not null)
            return Bad(command.Tag, command.Error);
        try
        {
            return await DispatchAsync(command.Tag, command.Name, command.Args, ct);
        }
        catch (ImapFolderException e)
        {
            Tagged(command.Tag, "NO " + e.Message);
            return true;
        }
        catch (MailboxOverQuotaException)
        {
            Tagged(command.Tag, "NO [OVERQUOTA] the mailbox is over its quota");
            return true;
        }
    }

    private async Task<bool> DispatchAsync(string tag, string name, IReadOnlyList<ImapToken> args, CancellationToken ct)
    {
        switch (name)
        {
            // Any state (RFC 9051 §6.1)
            case "CAPABILITY":
                Untagged("CAPABILITY " + Capabilities());
                return Ok(tag, "CAPABILITY completed");
            case "NOOP" or "CHECK" when Authenticated:
                await AnnounceChangesAsync(allowExpunge: true, ct);
                return Ok(tag, name + " completed");
            case "NOOP":
                return Ok(tag, "NOOP completed");
            case "LOGOUT":
                Untagged("BYE logging out");
                Tagged(tag, "OK LOGOUT completed");
                return false;
            case "ID":
                return Id(tag, args);
        }
        if (!Authenticated)
        {
            return name switch
            {
                "STARTTLS" => await StartTlsAsync(tag, args, ct),
                "LOGIN" => await LoginCommandAsync(tag, args, ct),
                "AUTHENTICATE" => await AuthenticateAsync(tag, args, ct),
                _ => Bad(tag, KnownCommands.Contains(name) ? "log in first" : "unknown command"),
            };
        }
        switch (name)
        {
            case "ENABLE":
                return Enable(tag, args);
            case "SELECT" or "EXAMINE":
                return await SelectAsync(tag, args, readOnly: name == "EXAMINE", ct);
            case "CREATE":
                return await CreateAsync(tag, args, ct);
            case "DELETE":
                return await DeleteAsync(tag, args, ct);
            case "RENAME":
                return await RenameAsync(tag, args, ct);
            case "SUBSCRIBE" or "UNSUBSCRIBE":
                return await SubscribeAsync(tag, args, name == "SUBSCRIBE", ct);
            case "LIST" or "LSUB":
                return await ListAsync(tag, args, lsub: name == "LSUB", ct);
            case "NAMESPACE":
                Untagged($"NAMESPACE ((\"{Quote(options.NamespacePrefix)}\" \"{Quote(options.Separator.ToString())}\")) NIL NIL");
                return Ok(tag, "NAMESPACE completed");
            case "STATUS":
                return await StatusAsync(tag, args, ct);
            case "COMPRESS":
                return await CompressAsync(tag, args, ct);
            case "GETQUOTA" or "GETQUOTAROOT":
                return await QuotaAsync(tag, name, args, ct);
            case "SETQUOTA":
                return No(tag, "[NOPERM] quotas are set by the administrator");
            case "STARTTLS" or "LOGIN" or "AUTHENTICATE":
                return Bad(tag, "already authenticated");
        }
        if (_selected is null)
            return Bad(tag, SelectedCommands.Contains(name) ? "no mailbox selected" : "unknown command");
        return name switch
        {
            "CLOSE" => await CloseAsync(tag, expunge: !_selected.ReadOnly, ct),
            "UNSELECT" => await CloseAsync(tag, expunge: false, ct),
            "EXPUNGE" => await ExpungeAsync(tag, null, ct),
            "UID EXPUNGE" => await UidExpungeAsync(tag, args, ct),
            "FETCH" or "UID FETCH" => await FetchAsync(tag, args, uid: name != "FETCH", ct),
            "STORE" or "UID STORE" => await StoreAsync(tag, args, uid: name != "STORE", ct),
            "COPY" or "UID COPY" => await CopyAsync(tag, args, uid: name != "COPY", move: false, ct),
            "MOVE" or "UID MOVE" => await CopyAsync(tag, args, uid: name != "MOVE", move: true, ct),
            "SEARCH" or "UID SEARCH" => await SearchAsync(tag, args, uid: name != "SEARCH", ct),
            "SORT" or "UID SORT" => await SortAsync(tag, args, uid: name != "SORT", ct),
            "THREAD" or "UID THREAD" => await ThreadAsync(tag, args, uid: name != "THREAD", ct),
            _ => Bad(tag, "unknown command"),
        };
    }

    private static readonly HashSet<string> KnownCommands =
    [
        "CHECK", "ENABLE", "SELECT", "EXAMINE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE", "LIST", "LSUB", "NAMESPACE", "STATUS",
        "APPEND", "IDLE", "GETQUOTA", "GETQUOTAROOT", "SETQUOTA", "CLOSE", "UNSELECT", "EXPUNGE", "SEARCH", "FETCH", "STORE", "COPY", "MOVE",
        "UID FETCH", "UID STORE", "UID COPY", "UID MOVE", "UID SEARCH", "UID EXPUNGE", "SORT", "UID SORT", "THREAD", "UID THREAD", "COMPRESS",
    ];

    private static readonly HashSet<string> SelectedCommands =
        ["CLOSE", "UNSELECT", "EXPUNGE", "SEARCH", "FETCH", "STORE", "COPY", "MOVE", "UID FETCH", "UID STORE", "UID COPY", "UID MOVE", "UID SEARCH", "UID EXPUNGE",
            "SORT", "UID SORT", "THREAD", "UID THREAD"];

    private string Capabilities()
    {
        var caps = new StringBuilder("IMAP4rev1 IMAP4rev2");
        if (!Authenticated)
        {
            if (_tls is null && _info.StartTls is not null)
                caps.Append(" STARTTLS");
            caps.Append(PlaintextAllowed ? " AUTH=PLAIN SASL-IR" : " LOGINDISABLED");
        }
        caps.Append(" ID ENABLE IDLE LITERAL+ NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN SPECIAL-USE LIST-EXTENDED LIST-STATUS ESEARCH SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES STATUS=SIZE CONDSTORE QRESYNC QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE");
        caps.Append(" BINARY"); // RFC 3516 §4.1: rev1 clients learn of it here; IMAP4rev2 includes it (RFC 9051 §6.4.5)
        caps.Append(" APPENDLIMIT=").Append(options.AppendLimit);
        if (Authenticated && options.AllowCompress && _compressed is null)
            caps.Append(" COMPRESS=DEFLATE"); // RFC 4978 §3: a command of the authenticated state; gone once active
        return caps.ToString();
    }

    // --- replies -------------------------------------------------------------------------------

    private void Untagged(string text) => _channel.Reply("* " + text);

    private void Tagged(string tag, string text) => _channel.Reply(tag + " " + text);

    private bool Ok(string tag, string text)
    {
        Tagged(tag, "OK " + text);
        return true;
    }

    /// <summary>Answers BAD; false (close) when it is the one past Imap:MaxBadCommands.</summary>
    private bool Bad(string tag, string text)
    {
        if (_badCommands.CountAndCheck())
        {
            Untagged("BYE too many bad commands; closing connection");
            _closeReason = "too many bad commands";
            return false;
        }
        Tagged(tag, "BAD " + text);
        return true;
    }

    private bool No(string tag, string text)
    {
        Tagged(tag, "NO " + text);
        return true;
    }

    /// <summary>The inside of a quoted string (RFC 9051 §4.3): backslash and quote escaped.</summary>
    private static string Quote(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);

    /// <summary>An IMAP string for a reply: quoted when it can be, a literal otherwise (CR, LF, NUL, 8-bit before UTF-8 is on, or long).</summary>
    private string AString(string s)
    {
        var quotable = s.Length < 1024 && s.All(c => c is not ('\r' or '\n' or '\0') && (c < 0x80 || _utf8));
        if (quotable)
            return "\"" + Quote(s) + "\"";
        return "{" + Encoding.UTF8.GetByteCount(s) + "}\r\n" + s;
    }

    // --- reading commands ------------------------------------------------------------------------

    /// <summary>
    /// The next command, its literals read; null at end of input or when the session must close.
    /// An APPEND stops at its message literal: the session streams it (ImapSession.Append.cs).
    /// </summary>
    private async Task<ImapCommand?> ReadCommandAsync(CancellationToken ct)
    {
        while (true)
        {
            _parser.Reset();
            var line = await ReadLineAsync(ct);
            if (line is null)
                return null;
            if (ReferenceEquals(line, LineChannel.LongLine))
            {
                // The tag went with the discarded line: an untagged BAD (RFC 9051 §7.1.3).
                if (_badCommands.CountAndCheck())
                {
                    Untagged("BYE too many bad commands; closing connection");
                    _closeReason = "too many bad commands";
                    return null;
                }
                Untagged("BAD line too long");
                continue;
            }
            if (line.Length == 0)
                continue; // an empty line is no command; ignore it as other servers do
            while (true)
            {
                var step = _parser.Feed(line);
                if (step.Status == ParseStatus.Complete)
                    return new ImapCommand(_parser.Tag!, _parser.Name, [.. _parser.Arguments]);
                if (step.Status == ParseStatus.Error)
                {
                    if (!await DrainLiteralsAsync(line, ct))
                        return null;
                    return new ImapCommand(_parser.Tag ?? "*", _parser.Name, [], step.Error);
                }
                if (_parser.Name == "APPEND" && !_parser.InList && _parser.Tag is { } appendTag)
                {
                    // The message: streamed into the mailbox, never held (RFC 9051 §6.3.12).
                    if (!await AppendAsync(appendTag, [.. _parser.Arguments], step.LiteralSize, step.Synchronizing, step.Binary, ct))
                        return null;
                    goto nextCommand;
                }
                if (step.LiteralSize > options.MaxLiteralBytes)
                {
                    if (!step.Synchronizing)
                        return await TooBigAndCloseAsync(ct);
                    // A synchronizing literal is refused before it is sent; the client drops the command.
                    if (!Bad(_parser.Tag!, "[TOOBIG] literal larger than " + options.MaxLiteralBytes + " octets"))
                        return null;
                    goto nextCommand;
                }
                if (step.Synchronizing)
                {
                    _channel.Reply("+ Ready for literal data");
                    await _channel.FlushAsync(ct);
                }
                var text = await ReadLiteralTextAsync((int)step.LiteralSize, ct);
                if (text is null)
                    return null;
                _parser.AddLiteral(text);
                line = await ReadLineAsync(ct);
                if (line is null)
                    return null;
                if (ReferenceEquals(line, LineChannel.LongLine))
                {
                    if (!Bad(_parser.Tag!, "line too long"))
                        return null;
                    goto nextCommand;
                }
            }
        nextCommand:;
        }
    }

    /// <summary>A line in the current state's limits: shorter lines and a shorter wait before login.</summary>
    private async Task<string?> ReadLineAsync(CancellationToken ct)
    {
        var line = await _channel.ReadLineAsync(ct);
        if (line is not null && !Authenticated && !ReferenceEquals(line, LineChannel.LongLine) && Encoding.UTF8.GetByteCount(line) > options.MaxPreLoginLineBytes)
            return LineChannel.LongLine;
        return line;
    }

    /// <summary>After a command failed to parse: a non-synchronizing literal the line announced is still read and dropped (RFC 7888 §4), so its bytes are never taken for commands.</summary>
    private async Task<bool> DrainLiteralsAsync(string line, CancellationToken ct)
    {
        while (true)
        {
            var brace = line.LastIndexOf('{');
            if (brace < 0 || ImapCommandParser.LiteralAt(line, brace) is not { Sync: false } literal)
                return true;
            if (literal.Size > Math.Max(options.MaxLiteralBytes, options.AppendLimit))
            {
                await TooBigAndCloseAsync(ct);
                return false;
            }
            if (!await SkipAsync(literal.Size, ct))
                return false;
            var next = await _channel.ReadLineAsync(ct);
            if (next is null || ReferenceEquals(next, LineChannel.LongLine))
                return next is not null;
            line = next;
        }
    }

    /// <summary>A non-synchronizing literal over every limit: the client will send it anyway, so the only safe answer is to close (RFC 7888 §4).</summary>
    private async Task<ImapCommand?> TooBigAndCloseAsync(CancellationToken ct)
    {
        Untagged("BYE [TOOBIG] literal too large; closing connection");
        _closeReason = "literal too large";
        await _channel.FlushAsync(ct);
        return null;
    }

    private async Task<string?> ReadLiteralTextAsync(int size, CancellationToken ct)
    {
        var bytes = new byte[size];
        var rate = new MinDataRate(options.MinDataRateBytesPerSecond, options.MinDataRateGrace);
        var got = 0;
        while (got < size)
        {
            if (_channel.Buffered.Length == 0 && await rate.ReadMoreAsync(_channel, CurrentTimeout, ct) == 0)
                return null;
            var take = Math.Min(size - got, _channel.Buffered.Length);
            _channel.Buffered[..take].CopyTo(bytes.AsSpan(got));
            _channel.Consume(take);
            got += take;
        }
        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>Reads and drops <paramref name="size"/> octets; false at end of input.</summary>
    private async Task<bool> SkipAsync(long size, CancellationToken ct)
    {
        var rate = new MinDataRate(options.MinDataRateBytesPerSecond, options.MinDataRateGrace);
        while (size > 0)
        {
            if (_channel.Buffered.Length == 0 && await rate.ReadMoreAsync(_channel, CurrentTimeout, ct) == 0)
                return false;
            var take = (int)Math.Min(size, _channel.Buffered.Length);
            _channel.Consume(take);
            size -= take;
        }
        return true;
    }

    private TimeSpan CurrentTimeout => Authenticated ? options.AutologoutTimeout : options.LoginTimeout;
}

/// <summary>A folder command's refusal, with its response code (RFC 5530): thrown by the name mapping, answered NO.</summary>
public sealed class ImapFolderException(string message) : Exception(message);
