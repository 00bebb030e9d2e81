// Folder intents in the SQL account store: the records that keep the store and the mail store's
// folders consistent across crashes (docs/mail-store.md).
using System.Data.Common;

namespace Mailward.Core.Accounts;

public abstract partial class SqlAccountStore
{
    public long RecordFolderIntent(FolderIntentKind kind, string path) => Write((c, tx) => InsertIntent(c, tx, kind, path));

    public void CompleteFolderIntent(long intentId) => Write((c, tx) => CompleteIntent(c, tx, intentId));

    public IReadOnlyList<FolderIntent> ListFolderIntents() =>
        Query("SELECT id, kind, path, created_at FROM folder_intents ORDER BY id",
            r => new FolderIntent(r.GetInt64(0), (FolderIntentKind)r.GetInt32(1), r.GetString(2), FromUnix(r.GetInt64(3))));

    public bool IsFolderInUse(string path)
    {
        using var c = Open();
        return Scalar(c, null, "SELECT 1 FROM domains WHERE dir = $p UNION ALL SELECT 1 FROM users WHERE dir = $p", ("$p", path)) is not null;
    }

    private long InsertIntent(DbConnection c, DbTransaction tx, FolderIntentKind kind, string path) =>
        Convert.ToInt64(Scalar(c, tx, "INSERT INTO folder_intents(kind, path, created_at) VALUES ($k, $p, $t) RETURNING id",
            ("$k", (int)kind), ("$p", path), ("$t", Now())));

    private void CompleteIntent(DbConnection c, DbTransaction tx, long intentId)
    {
        if (intentId > 0)
            Exec(c, tx, "DELETE FROM folder_intents WHERE id = $id", ("$id", intentId));
    }
}
