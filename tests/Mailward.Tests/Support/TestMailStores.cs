// The real Maildir mail store and its file locks over a test's mail store folder, as `mailward
// serve` composes them (node "test-node", host mail.test).
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Locks;
using Mailward.Core.MailStore.Maildir;

namespace Mailward.Tests.Support;

public static class TestMailStores
{
    public static IMailStore Store(MailStoreLayout layout) => new MaildirStore(layout, "test-node", "mail.test");

    public static IMailboxLocks Locks(MailStoreLayout layout) => new MaildirLocks(layout, ProcessIdentity.Current("test-node"));
}
