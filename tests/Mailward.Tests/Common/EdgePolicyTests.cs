// The edge's exception policy and refusals on its own, over a connection's pipes: a session that
// fails with an unexpected error is one error line and its slot comes back; a full listener
// answers with its refusal line on a plain port and says nothing on an implicit-TLS one.
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Mailward.Protocols.Common;
using Mailward.Protocols.Hosting;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mailward.Tests.Common;

public class EdgePolicyTests
{
    private sealed record Duplex(PipeReader Input, PipeWriter Output) : IDuplexPipe;

    private sealed class Lifetime : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => CancellationToken.None;
        public CancellationToken ApplicationStopping => CancellationToken.None;
        public CancellationToken ApplicationStopped => CancellationToken.None;
        public void StopApplication()
        {
        }
    }

    private sealed class Lines : ILogger<ProtocolEdge>
    {
        public ConcurrentQueue<(LogLevel Level, string Text)> All { get; } = new();
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            All.Enqueue((logLevel, formatter(state, exception) + (exception is null ? "" : " " + exception.GetType().Name)));
    }

    /// <summary>A connection from 192.0.2.7 whose client side is <paramref name="fromServer"/> (what the server wrote).</summary>
    private static DefaultConnectionContext Connection(out Pipe fromServer)
    {
        var toServer = new Pipe();
        fromServer = new Pipe();
        toServer.Writer.Complete(); // the client says nothing
        return new DefaultConnectionContext("c1", new Duplex(toServer.Reader, fromServer.Writer), new Duplex(fromServer.Reader, toServer.Writer))
        {
            RemoteEndPoint = new IPEndPoint(IPAddress.Parse("192.0.2.7"), 40000),
            LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 25),
        };
    }

    private static string Written(Pipe fromServer) =>
        fromServer.Reader.TryRead(out var result) ? Encoding.ASCII.GetString(System.Buffers.BuffersExtensions.ToArray(result.Buffer)) : "";

    [Fact]
    public async Task A_session_that_fails_unexpectedly_is_one_error_line_and_gives_its_slot_back()
    {
        var log = new Lines();
        var edge = new ProtocolEdge(TranscriptHarness.TestCertificate.Value, new Lifetime(), log);
        var slots = new ConnectionLimiter(10, 10);
        var listener = new EdgeListener("smtp", false, slots, "421 4.7.0 full");
        var ran = false;
        await edge.RunAsync(Connection(out _), listener, (_, c, _) =>
        {
            ran = true;
            Assert.Equal(IPAddress.Parse("192.0.2.7"), c.Client);
            Assert.NotNull(c.StartTls); // a plain listener offers STARTTLS
            throw new InvalidOperationException("a bug");
        });
        Assert.True(ran);
        var line = Assert.Single(log.All);
        Assert.Equal(LogLevel.Error, line.Level);
        Assert.Equal("smtp session failed client=192.0.2.7 InvalidOperationException", line.Text);
        Assert.Equal(0, slots.Open);
    }

    [Theory]
    [InlineData(false, "421 4.7.0 full\r\n")]
    [InlineData(true, "")] // before a handshake nothing can be said
    public async Task A_full_listener_refuses_with_its_line_on_a_plain_port_only(bool implicitTls, string expected)
    {
        var log = new Lines();
        var edge = new ProtocolEdge(TranscriptHarness.TestCertificate.Value, new Lifetime(), log);
        var slots = new ConnectionLimiter(1, 1);
        Assert.Null(slots.TryEnter(IPAddress.Parse("192.0.2.99"))); // the one slot is taken
        var ran = false;
        await edge.RunAsync(Connection(out var fromServer), new EdgeListener("smtp", implicitTls, slots, "421 4.7.0 full"), (_, _, _) =>
        {
            ran = true;
            return Task.CompletedTask;
        });
        Assert.False(ran);
        Assert.Equal(expected, Written(fromServer));
        Assert.Equal("smtp connection from 192.0.2.7 refused: too many connections", Assert.Single(log.All).Text);
        Assert.Equal(1, slots.Open);
    }
}
