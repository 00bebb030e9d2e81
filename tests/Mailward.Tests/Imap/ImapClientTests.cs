// IMAP with real clients over real sockets: MailKit's ImapClient (folders with special use, APPEND
// with UIDPLUS, FETCH, STORE, MOVE, EXPUNGE, IDLE woken by delivered mail, two sessions seeing each
// other's changes, QRESYNC, QUOTA with [OVERQUOTA], SORT and THREAD) and Python's imaplib.
using System.Diagnostics;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using Mailward.Tests.Delivery;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using MimeKit;

namespace Mailward.Tests.Imap;

public class ImapClientTests
{
    private static async Task<ImapClient> LoginAsync(ServerFixture server, string user = "joe@hosted.test")
    {
        var client = new ImapClient { Timeout = 15_000 };
        await client.ConnectAsync("127.0.0.1", server.Imap.Port, SecureSocketOptions.None);
        await client.AuthenticateAsync(user, "pw");
        return client;
    }

    private static MimeMessage Message(string subject, string text = "hello") => new()
    {
        From = { new MailboxAddress("A", "a@remote.test") },
        To = { new MailboxAddress("Joe", "joe@hosted.test") },
        Subject = subject,
        Body = new TextPart("plain") { Text = text },
    };

    [Fact]
    public async Task MailKit_files_reads_flags_moves_and_expunges()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"]);
        using var client = await LoginAsync(server);
        Assert.True(client.Capabilities.HasFlag(ImapCapabilities.UidPlus));
        Assert.True(client.Capabilities.HasFlag(ImapCapabilities.Move));
        Assert.True(client.Capabilities.HasFlag(ImapCapabilities.Idle));

        // The special-use folders exist from the first login and MailKit finds them by their use (RFC 6154).
        var trash = client.GetFolder(SpecialFolder.Trash)!;
        var sent = client.GetFolder(SpecialFolder.Sent)!;
        Assert.Equal("INBOX.Trash", trash.FullName);
        Assert.Equal("INBOX.Sent", sent.FullName);

        var inbox = client.Inbox;
        await inbox.OpenAsync(FolderAccess.ReadWrite);
        var first = await inbox.AppendAsync(new AppendRequest(Message("first", "one\r\n.two\r\n")));
        var second = await inbox.AppendAsync(new AppendRequest(Message("second"), MessageFlags.Seen));
        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.True(second!.Value.Id > first!.Value.Id);
        await inbox.CheckAsync();
        Assert.Equal(2, inbox.Count);

        var summaries = await inbox.FetchAsync(0, -1, MessageSummaryItems.UniqueId | MessageSummaryItems.Flags | MessageSummaryItems.Size);
        Assert.Equal([first.Value, second.Value], summaries.Select(s => s.UniqueId));
        Assert.False(summaries[0].Flags!.Value.HasFlag(MessageFlags.Seen));
        Assert.True(summaries[1].Flags!.Value.HasFlag(MessageFlags.Seen));

        var message = await inbox.GetMessageAsync(first.Value);
        Assert.Equal("first", message.Subject);
        Assert.Contains(".two", message.TextBody);
        Assert.Equal(summaries[0].Size, (uint)Measure(message));

        await inbox.AddFlagsAsync(first.Value, MessageFlags.Flagged, silent: false);
        var flags = await inbox.FetchAsync([first.Value], MessageSummaryItems.Flags);
        Assert.True(flags[0].Flags!.Value.HasFlag(MessageFlags.Flagged));

        // MOVE (RFC 6851) answers the new UID (UIDPLUS); the source loses the message.
        var moved = await inbox.MoveToAsync(second.Value, trash);
        Assert.NotNull(moved);
        Assert.Equal(1, inbox.Count);
        await trash.OpenAsync(FolderAccess.ReadWrite);
        Assert.Equal(1, trash.Count);
        Assert.Equal("second", (await trash.GetMessageAsync(moved!.Value)).Subject);

        await inbox.OpenAsync(FolderAccess.ReadWrite);
        await inbox.AddFlagsAsync(first.Value, MessageFlags.Deleted, silent: true);
        await inbox.ExpungeAsync();
        Assert.Equal(0, inbox.Count);

        var created = (await client.GetFolder(client.PersonalNamespaces[0]).CreateAsync("Projects", true))!;
        Assert.Equal("INBOX.Projects", created.FullName);
        var names = (await client.GetFolder(client.PersonalNamespaces[0]).GetSubfoldersAsync()).Select(f => f.FullName).ToList();
        Assert.Contains("INBOX.Projects", names);
        await client.DisconnectAsync(true);
    }

    private static long Measure(MimeMessage m)
    {
        using var s = new MemoryStream();
        var crlf = FormatOptions.Default.Clone();
        crlf.NewLineFormat = NewLineFormat.Dos; // RFC822.SIZE counts CRLF line ends
        m.WriteTo(crlf, s);
        return s.Length;
    }

    [Fact]
    public async Task Idle_hears_delivered_mail_and_another_sessions_changes()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Delivery:Enabled=true");
        using var watcher = await LoginAsync(server);
        using var other = await LoginAsync(server);
        var inbox = watcher.Inbox;
        await inbox.OpenAsync(FolderAccess.ReadWrite);
        Assert.Equal(0, inbox.Count);

        var arrived = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        var clock = Stopwatch.StartNew();
        inbox.CountChanged += (_, _) => arrived.TrySetResult(clock.Elapsed);
        using var done = new CancellationTokenSource();
        var idle = watcher.IdleAsync(done.Token);
        await Task.Delay(200); // IDLE is on
        var sentAt = clock.Elapsed;
        await DeliveryTestMail.SendAsync(server, "joe@hosted.test", "while idle");
        var heard = await arrived.Task.WaitAsync(TimeSpan.FromSeconds(20));
        done.Cancel();
        await idle;
        Assert.Equal(1, inbox.Count);
        // Delivery publishes on the change hub: the IDLE client hears at once, not at the 30 s poll.
        Assert.True(heard - sentAt < TimeSpan.FromSeconds(10), $"heard after {(heard - sentAt).TotalMilliseconds} ms");

        // The other session flags and expunges; the watcher hears both at its next NOOP.
        var seen = new List<int>();
        var expunged = new List<int>();
        inbox.MessageFlagsChanged += (_, e) => seen.Add(e.Index);
        inbox.MessageExpunged += (_, e) => expunged.Add(e.Index);
        await other.Inbox.OpenAsync(FolderAccess.ReadWrite);
        await other.Inbox.AddFlagsAsync(0, MessageFlags.Seen, silent: true);
        await watcher.NoOpAsync();
        Assert.Equal([0], seen);
        await other.Inbox.AddFlagsAsync(0, MessageFlags.Deleted, silent: true);
        await other.Inbox.ExpungeAsync();
        await watcher.NoOpAsync();
        Assert.Equal([0], expunged);
        Assert.Equal(0, inbox.Count);
        await watcher.DisconnectAsync(true);
        await other.DisconnectAsync(true);
    }

    /// <summary>
    /// Non-ASCII folder names (RFC 3501 §5.1.3): MailKit, an IMAP4rev1 client here, names them in
    /// modified UTF-7 on the wire; the folder it creates is found again by a second connection and
    /// holds what was appended.
    /// </summary>
    [Fact]
    public async Task MailKit_creates_and_reopens_folders_with_non_ASCII_names()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"]);
        var log = new MemoryStream();
        using (var client = new ImapClient(new ProtocolLogger(log, leaveOpen: true)) { Timeout = 15_000 })
        {
            await client.ConnectAsync("127.0.0.1", server.Imap.Port, SecureSocketOptions.None);
            await client.AuthenticateAsync("joe@hosted.test", "pw");
            var personal = client.GetFolder(client.PersonalNamespaces[0])!;
            var drafts = (await personal.CreateAsync("Entwürfe", true))!;
            var japanese = (await personal.CreateAsync("日本語", true))!;
            var child = (await japanese.CreateAsync("Tom&Jerry", true))!;
            Assert.Equal("INBOX.Entwürfe", drafts.FullName);
            Assert.Equal("INBOX.日本語.Tom&Jerry", child.FullName);
            await drafts.AppendAsync(new AppendRequest(Message("entwurf")));
            await client.DisconnectAsync(true);
        }
        var wire = System.Text.Encoding.UTF8.GetString(log.ToArray());
        Assert.Contains("CREATE INBOX.Entw&APw-rfe", wire, StringComparison.Ordinal);
        Assert.Contains("\"INBOX.&ZeVnLIqe-.Tom&-Jerry\"", wire, StringComparison.Ordinal);
        // The store holds the folder under its Unicode name (on disk: .Entw&APw-rfe, docs/mail-store.md).
        using (var accounts = new Mailward.Core.Accounts.SqliteAccountStore($"Data Source={Path.Combine(server.DataPath, "accounts.db")}"))
        {
            var layout = new Mailward.Core.MailStore.MailStoreLayout(Path.Combine(server.DataPath, "domains"));
            var maildir = Mailward.Core.MailStore.MailStoreLayout.MaildirOf(layout.Resolve(accounts.FindUser("joe", "hosted.test")!.Directory));
            Assert.True(Directory.Exists(Mailward.Core.MailStore.Maildir.MaildirStore.FolderPath(maildir, "Entwürfe")));
            Assert.True(Directory.Exists(Path.Combine(maildir, ".Entw&APw-rfe")));
        }

        using var again = await LoginAsync(server);
        var folders = await again.GetFoldersAsync(again.PersonalNamespaces[0]);
        Assert.Contains("INBOX.日本語.Tom&Jerry", folders.Select(f => f.FullName));
        var found = folders.Single(f => f.FullName == "INBOX.Entwürfe");
        Assert.Equal("Entwürfe", found.Name);
        await found.OpenAsync(FolderAccess.ReadOnly);
        Assert.Equal(1, found.Count);
        Assert.Equal("entwurf", (await found.GetMessageAsync(0)).Subject);
        await again.DisconnectAsync(true);
    }

    /// <summary>
    /// SEARCH on header fields, SORT and THREAD read the fields from the structure cache: once
    /// FETCH ENVELOPE has cached a message's structure, its file is changed in place (same length,
    /// so the store sees the same message) and the searches still see the cached fields.
    /// </summary>
    [Fact]
    public async Task Header_searches_read_the_structure_cache_not_the_message_file()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"]);
        using var client = await LoginAsync(server);
        var inbox = client.Inbox;
        await inbox.OpenAsync(FolderAccess.ReadWrite);
        var bob = Message("minutes");
        bob.From.Clear();
        bob.From.Add(new MailboxAddress("Bob", "bob@remote.test"));
        await inbox.AppendAsync(new AppendRequest(bob));
        var message = Message("quarterly report");
        message.From.Clear();
        message.From.Add(new MailboxAddress("Alice", "alice@remote.test"));
        await inbox.AppendAsync(new AppendRequest(message));
        var envelopes = await inbox.FetchAsync(0, -1, MessageSummaryItems.UniqueId | MessageSummaryItems.Envelope);
        Assert.Equal("quarterly report", envelopes[1].Envelope!.Subject);

        var file = Directory.GetFiles(server.DataPath, "*", SearchOption.AllDirectories)
            .Single(f => (f.Contains("/cur/", StringComparison.Ordinal) || f.Contains("/new/", StringComparison.Ordinal))
                && File.ReadAllText(f).Contains("alice@remote.test", StringComparison.Ordinal));
        File.WriteAllText(file, File.ReadAllText(file).Replace("alice", "zorro", StringComparison.OrdinalIgnoreCase)
            .Replace("quarterly", "biannuals", StringComparison.Ordinal));

        Assert.Single(await inbox.SearchAsync(MailKit.Search.SearchQuery.FromContains("alice")));
        Assert.Empty(await inbox.SearchAsync(MailKit.Search.SearchQuery.FromContains("zorro")));
        Assert.Single(await inbox.SearchAsync(MailKit.Search.SearchQuery.SubjectContains("quarterly")));
        Assert.Empty(await inbox.SearchAsync(MailKit.Search.SearchQuery.SubjectContains("biannuals")));
        // SORT FROM: alice (cached) before bob; the file would say zorro, after bob.
        var sorted = await inbox.SortAsync(MailKit.Search.SearchQuery.All, [MailKit.Search.OrderBy.From]);
        Assert.Equal([envelopes[1].UniqueId, envelopes[0].UniqueId], sorted);
        // TEXT reads the file (it searches every header field and the body).
        Assert.Single(await inbox.SearchAsync(MailKit.Search.SearchQuery.MessageContains("zorro")));
        await client.DisconnectAsync(true);
    }

    [Fact]
    public async Task MailKit_reads_the_quota_is_refused_past_it_and_threads_a_conversation()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test", "quota joe@hosted.test 20000S,3C"]);
        using var client = await LoginAsync(server);
        Assert.True(client.Capabilities.HasFlag(ImapCapabilities.Quota));
        Assert.True(client.Capabilities.HasFlag(ImapCapabilities.Thread));
        var inbox = client.Inbox;
        await inbox.OpenAsync(FolderAccess.ReadWrite);
        var topic = Message("Budget");
        topic.MessageId = "topic@remote.test";
        var reply = Message("Re: Budget");
        reply.MessageId = "reply@remote.test";
        reply.InReplyTo = "topic@remote.test";
        reply.References.Add("topic@remote.test");
        var other = Message("Lunch");
        other.MessageId = "lunch@remote.test";
        // Appended reply first: threads follow the references, not the order of arrival.
        var uids = new List<UniqueId>();
        foreach (var m in new[] { reply, other, topic })
            uids.Add((await inbox.AppendAsync(new AppendRequest(m)))!.Value);

        // RFC 9208 §4.2, §4.3: the user's root with STORAGE in KiB and MESSAGE as counts.
        var quota = await inbox.GetQuotaAsync();
        Assert.Equal(20000 / 1024, (int)quota.StorageLimit!.Value);
        Assert.Equal(3, (int)quota.MessageLimit!.Value);
        Assert.Equal(3, (int)quota.CurrentMessageCount!.Value);
        Assert.True(quota.CurrentStorageSize > 0);
        // A fourth message passes the message limit: APPEND is refused with [OVERQUOTA] and nothing is stored.
        var refused = await Assert.ThrowsAsync<ImapCommandException>(() => inbox.AppendAsync(new AppendRequest(Message("one too many"))));
        Assert.Equal(ImapCommandResponse.No, refused.Response);
        Assert.Contains("quota", refused.ResponseText, StringComparison.OrdinalIgnoreCase);
        await inbox.CheckAsync();
        Assert.Equal(3, inbox.Count);

        // RFC 5256: REFERENCES puts the reply under its topic; ORDEREDSUBJECT groups by base subject.
        var threads = await inbox.ThreadAsync(ThreadingAlgorithm.References, MailKit.Search.SearchQuery.All);
        Assert.Equal(2, threads.Count);
        var budget = Assert.Single(threads, t => t.UniqueId == uids[2]);
        Assert.Equal(uids[0], Assert.Single(budget.Children).UniqueId);
        Assert.Contains(threads, t => t.UniqueId == uids[1] && t.Children.Count == 0);
        threads = await inbox.ThreadAsync(ThreadingAlgorithm.OrderedSubject, MailKit.Search.SearchQuery.All);
        Assert.Equal(2, threads.Count);
        Assert.Contains(threads, t => t.Children.Count == 1);
        await client.DisconnectAsync(true);
    }

    [Fact]
    public async Task MailKit_resynchronises_with_QRESYNC_after_another_sessions_changes()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"]);
        using var other = await LoginAsync(server);
        for (var i = 0; i < 3; i++)
            await other.Inbox.AppendAsync(new AppendRequest(Message("m" + i)));

        using var client = await LoginAsync(server);
        Assert.True(client.Capabilities.HasFlag(ImapCapabilities.QuickResync));
        await client.EnableQuickResyncAsync();
        var inbox = client.Inbox;
        await inbox.OpenAsync(FolderAccess.ReadWrite);
        var validity = inbox.UidValidity;
        var modSeq = inbox.HighestModSeq;
        IList<UniqueId> uids = [.. (await inbox.FetchAsync(0, -1, MessageSummaryItems.UniqueId)).Select(m => m.UniqueId)];
        await inbox.CloseAsync();

        // Meanwhile another session flags the second message and expunges the first.
        await other.Inbox.OpenAsync(FolderAccess.ReadWrite);
        await other.Inbox.AddFlagsAsync(new UniqueId(2), MessageFlags.Flagged, silent: true);
        await other.Inbox.AddFlagsAsync(new UniqueId(1), MessageFlags.Deleted, silent: true);
        await other.Inbox.ExpungeAsync();

        var vanished = new List<UniqueId>();
        var flagged = new List<(UniqueId? Uid, ulong? ModSeq)>();
        inbox.MessagesVanished += (_, e) => vanished.AddRange(e.UniqueIds);
        inbox.MessageFlagsChanged += (_, e) => flagged.Add((e.UniqueId, e.ModSeq));
        await inbox.OpenAsync(FolderAccess.ReadWrite, validity, modSeq, uids);
        Assert.Equal([new UniqueId(1)], vanished);
        var change = Assert.Single(flagged);
        Assert.Equal(new UniqueId(2), change.Uid);
        Assert.True(change.ModSeq > modSeq);
        Assert.True(inbox.HighestModSeq >= change.ModSeq);
        Assert.Equal(2, inbox.Count);
        await client.DisconnectAsync(true);
        await other.DisconnectAsync(true);
    }

    [Fact]
    public async Task Pythons_imaplib_appends_fetches_stores_and_expunges()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"]);
        var script = $$"""
            import imaplib, email
            m = imaplib.IMAP4('127.0.0.1', {{server.Imap.Port}}, timeout=15)
            m.login('joe@hosted.test', 'pw')
            typ, data = m.append('INBOX', '(\\Flagged)', None, b'Subject: py\r\n\r\nfrom python\r\n')
            assert typ == 'OK' and b'APPENDUID' in data[0], data
            typ, data = m.select('INBOX')
            assert data[0] == b'1', data
            typ, data = m.fetch('1', '(FLAGS RFC822.SIZE BODY.PEEK[])')
            assert b'\\Flagged' in data[0][0] and data[0][1] == b'Subject: py\r\n\r\nfrom python\r\n', data
            typ, data = m.uid('STORE', '1', '+FLAGS', '(\\Deleted)')
            assert typ == 'OK', data
            typ, data = m.expunge()
            assert data == [b'1'], data
            typ, data = m.list('""', '"INBOX.*"')
            assert any(b'\\Trash' in l for l in data), data
            m.logout()
            print('ok')
            """;
        Assert.Equal("ok", await ExternalProgram.PythonAsync(script));
    }
}
