// The in-process change hub: delivery and sessions publish what changed in whose folder; IMAP's
// IDLE and NOOP subscribe per owner and then sync. Only a hint to look again (a sync finds what
// changed); other nodes' changes are found by that sync, not announced here.
using System.Collections.Concurrent;

namespace Mailward.Core.MailStore;

public enum MailboxChangeKind
{
    Added,
    Expunged,
    FlagsChanged,
}

public sealed record MailboxChange(string OwnerAddress, string Folder, MailboxChangeKind Kind);

/// <summary>Hears the changes of an owner's folders; handlers must not block. An IMAP session's selected
/// folder is one itself: no delegate, closure or subscription object for each of ten thousand IDLE sessions.</summary>
public interface IMailboxChangeListener
{
    void Changed(MailboxChange change);
}

public sealed class MailboxEvents
{
    private readonly ConcurrentDictionary<string, ImmutableSubscribers> _byOwner = new(StringComparer.OrdinalIgnoreCase);

    private sealed record ImmutableSubscribers(IMailboxChangeListener[] Listeners);

    // Changes published per owner, hashed into a fixed table (bounded memory; two owners sharing a
    // slot only make each other's provisional listings go sooner): docs/mail-store.md "A wave of syncs".
    private const int GenerationSlots = 1024;
    private readonly long[] _generations = new long[GenerationSlots];

    /// <summary>A number that grows with every change published for this owner (and for owners sharing its slot).</summary>
    public long Generation(string ownerAddress) => Volatile.Read(ref _generations[Slot(ownerAddress)]);

    private static int Slot(string ownerAddress) => (StringComparer.OrdinalIgnoreCase.GetHashCode(ownerAddress) & int.MaxValue) % GenerationSlots;

    /// <summary>Calls <paramref name="handler"/> for every change of this owner's folders until disposed. Handlers must not block.</summary>
    public IDisposable Subscribe(string ownerAddress, Action<MailboxChange> handler)
    {
        var listener = new ActionListener(this, ownerAddress, handler);
        Subscribe(ownerAddress, listener);
        return listener;
    }

    /// <summary>Tells <paramref name="listener"/> of every change of this owner's folders until <see cref="Unsubscribe"/>.</summary>
    public void Subscribe(string ownerAddress, IMailboxChangeListener listener) =>
        _byOwner.AddOrUpdate(ownerAddress, _ => new([listener]), (_, s) => new([.. s.Listeners, listener]));

    public void Unsubscribe(string ownerAddress, IMailboxChangeListener listener)
    {
        while (_byOwner.TryGetValue(ownerAddress, out var s))
        {
            if (Array.IndexOf(s.Listeners, listener) < 0)
                return;
            var rest = s.Listeners.Where(l => l != listener).ToArray();
            if (rest.Length == 0 ? _byOwner.TryRemove(new(ownerAddress, s)) : _byOwner.TryUpdate(ownerAddress, new(rest), s))
                return;
        }
    }

    public void Publish(MailboxChange change)
    {
        Interlocked.Increment(ref _generations[Slot(change.OwnerAddress)]); // before any handler runs, with or without subscribers
        if (!_byOwner.TryGetValue(change.OwnerAddress, out var s))
            return;
        foreach (var listener in s.Listeners)
        {
            try
            {
                listener.Changed(change);
            }
            catch (Exception)
            {
                // one subscriber's fault is not the publisher's: delivery and the other sessions go on
            }
        }
    }

    private sealed class ActionListener(MailboxEvents events, string ownerAddress, Action<MailboxChange> handler) : IMailboxChangeListener, IDisposable
    {
        private int _disposed;

        public void Changed(MailboxChange change) => handler(change);

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
                events.Unsubscribe(ownerAddress, this);
        }
    }
}
