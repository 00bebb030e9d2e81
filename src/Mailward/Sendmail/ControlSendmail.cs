// The server's end of sendmail on the control and submission sockets: a `sendmail` request carries one submission
// record (docs/pickup-format.md), queued through SendmailIntake as the kernel-named caller
// (SO_PEERCRED: the record's own uid is not believed); `smtp` (sendmail -bs) runs the real
// SmtpSession over the connection for a trusted user, as if from 127.0.0.1.
using System.Net;
using Mailward.Control;
using Mailward.Core.Policy;
using Mailward.Core.Queue;
using Mailward.Core.Sendmail;
using Mailward.Protocols.Smtp;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mailward.Sendmail;

internal static class ControlSendmail
{
    private const int SolSocket = 1, SoPeerCred = 17; // Linux: struct ucred { pid, uid, gid }

    public static async Task<ControlAnswer> SubmitAsync(IServiceProvider services, ConnectionContext connection, Stream stream, ReadOnlyMemory<byte> already) =>
        Peer(connection) is { } peer
            ? await SubmitAsync(services, peer, stream, already)
            : new ControlAnswer(false, "cannot tell which local user is asking", ExitCode: SendmailExit.NoPermission);

    /// <summary>One submission record from <paramref name="peer"/>, read within the size bound before any of it is kept, then queued.</summary>
    public static async Task<ControlAnswer> SubmitAsync(IServiceProvider services, (uint Uid, string Login) peer, Stream stream, ReadOnlyMemory<byte> already)
    {
        var intake = services.GetRequiredService<SendmailIntake>();
        var max = PickupRecord.MaxPayload(intake.Options.MaxMessageBytes);
        var source = new Source(stream, already);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        var header = new byte[PickupRecord.HeaderSize];
        await source.ReadExactlyAsync(header, timeout.Token);
        var length = PickupRecord.PayloadLength(header, max);
        if (length < 0)
            return new ControlAnswer(false, $"not a submission record, or larger than Smtp:MaxMessageBytes ({intake.Options.MaxMessageBytes} bytes) allows",
                ExitCode: SendmailExit.DataError);
        var record = new byte[PickupRecord.HeaderSize + length + PickupRecord.TrailerSize];
        header.CopyTo(record, 0);
        await source.ReadExactlyAsync(record.AsMemory(PickupRecord.HeaderSize), timeout.Token);
        SendmailRequest request;
        try
        {
            request = PickupRecord.Read(record, max) with { Uid = peer.Uid, Login = peer.Login };
        }
        catch (InvalidDataException e)
        {
            return new ControlAnswer(false, "damaged submission record: " + e.Message, ExitCode: SendmailExit.Software);
        }
        var outcome = await intake.SubmitAsync(request, ct: Stopping(services));
        var message = string.Join("\n", (outcome.Warnings ?? []).Append(outcome.Message));
        return new ControlAnswer(outcome.Queued, message, ExitCode: outcome.ExitCode);
    }

    public static async Task SmtpAsync(IServiceProvider services, ConnectionContext connection, Stream stream, ReadOnlyMemory<byte> already)
    {
        var intake = services.GetRequiredService<SendmailIntake>();
        var peer = Peer(connection);
        string? refusal = peer is not { } p ? "cannot tell which local user is asking"
            : !intake.Options.Rules.MayRun(p.Uid, p.Login) ? $"user {p.Login} may not send mail (Sendmail:AllowedUsers)"
            : !intake.Options.Rules.IsTrusted(p.Uid, p.Login) ? $"user {p.Login} may not speak SMTP (sendmail -bs is for Sendmail:TrustedUsers)"
            : already.Length > 0 ? "nothing may be sent before the greeting" : null;
        if (refusal is not null)
        {
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"554 5.7.1 {refusal}\r\n"));
            await stream.FlushAsync();
            return;
        }
        var time = services.GetRequiredService<TimeProvider>();
        var session = new SmtpSession(services.GetRequiredService<SmtpOptions>(), services.GetRequiredService<ISmtpPolicy>(),
            services.GetRequiredService<QueueStore>(), services.GetRequiredService<ILogger<SmtpSession>>(), time);
        var id = "L" + SendmailRequest.NewId(time.GetUtcNow())[..15];
        await session.RunAsync(stream, new SmtpSessionInfo(id, IPAddress.Loopback, 0), Stopping(services));
    }

    private static CancellationToken Stopping(IServiceProvider services) => services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;

    /// <summary>The connecting process's uid as the kernel tells it, and its login name.</summary>
    internal static (uint Uid, string Login)? Peer(ConnectionContext connection)
    {
        if (connection.Features.Get<IConnectionSocketFeature>()?.Socket is not { } socket)
            return null;
        Span<byte> cred = stackalloc byte[12];
        if (socket.GetRawSocketOption(SolSocket, SoPeerCred, cred) < 12)
            return null;
        var uid = BitConverter.ToUInt32(cred[4..8]);
        return (uid, LocalUsers.NameOf(uid));
    }

    /// <summary>Bytes already read with the request line, then the stream.</summary>
    private sealed class Source(Stream stream, ReadOnlyMemory<byte> already)
    {
        private ReadOnlyMemory<byte> _already = already;

        public async Task ReadExactlyAsync(Memory<byte> into, CancellationToken ct)
        {
            var n = Math.Min(_already.Length, into.Length);
            _already[..n].CopyTo(into);
            _already = _already[n..];
            if (n < into.Length)
                await stream.ReadExactlyAsync(into[n..], ct);
        }
    }
}
