// The queue as the web admin and the API reach it (the system's only, as `mailward queue`): the
// running server's QueueManager listed in pages by queue id, flushed (qmail's SIGALRM), and one
// message deleted without a bounce. Flushes and deletions are changes: audited like every other.
using Mailward.Core.Accounts;
using Mailward.Core.Delivery;

namespace Mailward.Core.Admin;

public sealed partial class AccountAdmin
{
    /// <summary>One page of the queue by queue id (the cursor: the last id seen); the search matches the id, sender or a recipient.</summary>
    public Task<Page<MessageStatus>> ListQueueAsync(Actor actor, QueueManager queue, PageRequest page)
    {
        AdminAuthorizer.Authorize(actor, new AdminRequest(AdminOperation.ListQueue));
        var items = queue.Status()
            .Where(m => page.After is null || string.CompareOrdinal(m.QueueId, page.After) > 0)
            .Where(m => string.IsNullOrEmpty(page.Search) || m.QueueId.Contains(page.Search, StringComparison.OrdinalIgnoreCase)
                || m.Sender.Contains(page.Search, StringComparison.OrdinalIgnoreCase)
                || m.Recipients.Any(r => r.Address.Contains(page.Search, StringComparison.OrdinalIgnoreCase)))
            .Take(page.Size + 1).ToList();
        return Task.FromResult(items.Count > page.Size
            ? new Page<MessageStatus>(items.Take(page.Size).ToList(), items[page.Size - 1].QueueId)
            : new Page<MessageStatus>(items, null));
    }

    /// <summary>Retries every deferred message now; returns how many were waiting.</summary>
    public Task<int> FlushQueueAsync(Actor actor, QueueManager queue) => ChangeAsync(actor, AdminOperation.FlushQueue, "queue", () =>
    {
        AdminAuthorizer.Authorize(actor, new AdminRequest(AdminOperation.FlushQueue));
        return queue.Flush();
    });

    /// <summary>Removes one message without delivering it further and without a bounce (`mailward queue del`).</summary>
    public Task DeleteQueuedAsync(Actor actor, QueueManager queue, string queueId) =>
        DeleteQueuedAsync(actor, queueId, id => queue.Status().FirstOrDefault(m => m.QueueId == id), queue.DeleteAsync);

    /// <summary>
    /// The same on whatever holds the queue: the running server's QueueManager, or the queue's files
    /// when no server runs (`mailward queue del` then takes the queue's lock and removes it itself).
    /// </summary>
    /// <param name="find">The message as it is now (null: not queued), for the audit's before.</param>
    /// <param name="remove">Removes it; false: it was not queued.</param>
    public Task DeleteQueuedAsync(Actor actor, string queueId, Func<string, MessageStatus?> find, Func<string, Task<bool>> remove)
    {
        var id = queueId.TrimStart('#');
        return ChangeAsync(actor, AdminOperation.DeleteQueued, id, async () =>
        {
            AdminAuthorizer.Authorize(actor, new AdminRequest(AdminOperation.DeleteQueued));
            if (!await remove(id))
                throw new AccountException(AccountError.InvalidArgument, $"no queued message {id}");
            return true;
        }, () => QueueState(find(id)));
    }

    private static State QueueState(MessageStatus? m) => m is null ? default
        : new(null, $"from <{m.Sender}> to {string.Join(", ", m.Recipients.Select(r => $"<{r.Address}> {r.State}"))}; {m.Bytes} bytes; {m.Origin}");
}
