// Domain limits under concurrent admins: the checks run inside the store's write transaction, so
// adds racing each other through AccountAdmin (threads with their own stores, or separate
// `mailward` processes) cannot pass MaxUsers or MaxForwards. (Store-level races, same-name adds
// among them: AccountStoreContract.)
using System.Diagnostics;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Core.MailStore;
using Mailward.Core.Passwords;
using Mailward.Tests.Support;

namespace Mailward.Tests.Accounts;

public sealed class WriteLimitTests : IDisposable
{
    private readonly MailwardRunner _m = new();

    public WriteLimitTests() => _m.Run("domain", "add", "example.com", "pw").GetAwaiter().GetResult().Ok(); // one user: postmaster

    public void Dispose() => _m.Dispose();

    private string Db => $"Data Source={Path.Combine(_m.Data, "accounts.db")}";

    /// <summary>Runs <paramref name="add"/> on <paramref name="count"/> threads at once, each with its own store; the errors they ended in.</summary>
    private async Task<List<AccountError?>> RaceAsync(int count, Action<AccountAdmin, int> add)
    {
        using var start = new Barrier(count);
        var tasks = Enumerable.Range(0, count).Select(i => Task.Factory.StartNew(() =>
        {
            using var store = new SqliteAccountStore(Db);
            var admin = new AccountAdmin(store, new MailStoreLayout(_m.MailStore, 100), new PasswordHasher(new PasswordOptions { Argon2MemoryKiB = 64, Argon2Iterations = 1 }));
            start.SignalAndWait(TimeSpan.FromSeconds(30));
            try
            {
                add(admin, i);
                return (AccountError?)null;
            }
            catch (AccountException e)
            {
                return e.Error;
            }
        }, TaskCreationOptions.LongRunning)).ToList();
        return [.. await Task.WhenAll(tasks)];
    }

    [Fact]
    public async Task Concurrent_adds_cannot_pass_MaxUsers()
    {
        (await _m.Run("domain", "limits", "example.com", "--max-users", "5")).Ok();
        var results = await RaceAsync(16, (admin, i) => admin.AddUserAsync(Actor.System, $"u{i}@example.com", new PasswordInput.Clear("pw")).GetAwaiter().GetResult());

        Assert.Equal(4, results.Count(r => r is null)); // 5 with the postmaster
        Assert.All(results.Where(r => r is not null), r => Assert.Equal(AccountError.LimitReached, r));
        Assert.Equal(5, _m.Store.CountUsers(_m.Store.FindDomain("example.com")!.Id));
        // Every refused add removed the folder it had made.
        Assert.Equal(5, Directory.GetDirectories(Path.GetDirectoryName(_m.UserFolder("postmaster@example.com"))!).Length);
    }

    [Fact]
    public async Task Concurrent_adds_of_one_name_make_one_user_and_leave_its_folder_in_place()
    {
        // All four compute the same folder: exactly one makes it (one mkdir), and the losers neither
        // remove the winner's folder nor call a name being added a storage failure.
        for (var round = 0; round < 10; round++)
        {
            var address = $"same{round}@example.com";
            var messages = new System.Collections.Concurrent.ConcurrentBag<string>();
            var results = await RaceAsync(4, (admin, _) =>
            {
                try
                {
                    admin.AddUserAsync(Actor.System, address, new PasswordInput.Clear("pw")).GetAwaiter().GetResult();
                }
                catch (AccountException e)
                {
                    messages.Add(e.Message);
                    throw;
                }
            });
            Assert.True(results.Count(r => r is null) == 1 && results.All(r => r is null or AccountError.UserExists), string.Join(" | ", messages));
            Assert.True(Directory.Exists(Path.Combine(_m.UserFolder(address), "Maildir", "new")), $"round {round}: the user's Maildir is gone");
        }
    }

    [Fact]
    public async Task Concurrent_mailward_processes_cannot_pass_MaxUsers()
    {
        (await _m.Run("domain", "limits", "example.com", "--max-users", "3")).Ok();
        var processes = Enumerable.Range(0, 6).Select(i =>
        {
            var psi = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "mailward"))
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in (string[])["--data", _m.Data, .. MailwardRunner.FastHashes, "vadduser", "-e", "DmIMm9e5Hc8ic", $"p{i}@example.com"])
                psi.ArgumentList.Add(a);
            psi.Environment["DOTNET_EnableDiagnostics"] = "0";
            return Process.Start(psi)!;
        }).ToList();
        var codes = new List<int>();
        foreach (var p in processes)
        {
            using (p)
            {
                await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
                codes.Add(p.ExitCode);
            }
        }

        Assert.Equal(2, codes.Count(c => c == 0));
        Assert.All(codes.Where(c => c != 0), c => Assert.Equal((int)AccountError.LimitReached, c));
        Assert.Equal(3, _m.Store.CountUsers(_m.Store.FindDomain("example.com")!.Id));
    }

    [Fact]
    public async Task Concurrent_forwards_cannot_pass_MaxForwards()
    {
        (await _m.Run("domain", "limits", "example.com", "--max-forwards", "3")).Ok();
        var results = await RaceAsync(12, (admin, i) => admin.AddAliasLineAsync(Actor.System, $"f{i}@example.com", $"&far{i}@remote.test").GetAwaiter().GetResult());

        Assert.Equal(3, results.Count(r => r is null));
        Assert.All(results.Where(r => r is not null), r => Assert.Equal(AccountError.LimitReached, r));
        Assert.Equal(3, _m.Store.ListAliases(_m.Store.FindDomain("example.com")!.Id).Count(a => a.IsForward));
    }
}
