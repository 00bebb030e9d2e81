// Connections per user and client address, Dovecot's mail_max_userip_connections: one user's
// clients on one address (a phone, a laptop, a misconfigured sync tool) cannot take every slot.
using System.Collections.Concurrent;
using System.Net;
using Mailward.Core.Policy;

namespace Mailward.Protocols.Imap;

public sealed class ImapUserConnections(int maxPerUserAndClient)
{
    private readonly ConcurrentDictionary<(string User, IPAddress Client), int> _open = new();

    /// <summary>A slot for this user from this address, released by disposing it; null when all are taken.</summary>
    public IDisposable? TryEnter(string user, IPAddress client)
    {
        var key = (user.ToLowerInvariant(), ClientGroup.Of(client));
        if (_open.AddOrUpdate(key, 1, (_, n) => n + 1) > maxPerUserAndClient)
        {
            Leave(key);
            return null;
        }
        return new Slot(() => Leave(key));
    }

    private void Leave((string, IPAddress) key)
    {
        while (_open.TryGetValue(key, out var n))
        {
            if (n <= 1 ? _open.TryRemove(new KeyValuePair<(string, IPAddress), int>(key, n)) : _open.TryUpdate(key, n - 1, n))
                return;
        }
    }

    private sealed class Slot(Action leave) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
                leave();
        }
    }
}
