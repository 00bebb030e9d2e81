// How a protocol joins the server: one call per protocol registers its services and names its
// listeners; the host binds each enabled one (Section:Enabled, Section:Port) and hands it the
// connections. The settings a protocol needs are read here, from the catalogue, in one place.
using Mailward.Core.Configuration;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Mailward.Protocols.Hosting;

/// <summary>One listener: the name Endpoint(name) finds, the settings section that enables it and
/// holds its port, and what serves a connection (resolved once the services are built). A listener
/// whose sessions wait idle by the thousand (IMAP) asks for <paramref name="Streams"/>: its
/// connections are read straight off the socket (SocketStreamTransport), not through Kestrel's pipes.</summary>
public sealed record MailListener(string Name, string Section, Func<IServiceProvider, Func<ConnectionContext, Task>> Serve, bool Streams = false);

public interface IMailProtocol
{
    /// <summary>Registers the protocol's services, reading its settings, and returns its listeners.</summary>
    static abstract IReadOnlyList<MailListener> Register(IServiceCollection services, MailwardSettings settings);
}

public static class MailProtocolRegistration
{
    /// <summary>Registers <typeparamref name="TProtocol"/> and returns the listeners the host should bind.</summary>
    public static IReadOnlyList<MailListener> AddMailProtocol<TProtocol>(this IServiceCollection services, MailwardSettings settings)
        where TProtocol : IMailProtocol
    {
        services.TryAddSingleton<Common.ProtocolEdge>();
        return TProtocol.Register(services, settings);
    }
}
