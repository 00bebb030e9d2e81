// MessageReader reads with pread(2) itself (Libc.PRead, no lseek): front to back in blocks, at an
// offset without moving, the known size honoured without the read that says "end", and a read
// error is an IOException, not a short message; ReadWhole says when the file is shorter than asked.
using System.Text;
using Mailward.Core.MailStore;
using Mailward.Core.Posix;
using Mailward.Tests.Support;

namespace Mailward.Tests.MailStore;

public sealed class MessageReaderTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Reads_front_to_back_and_at_an_offset_through_a_handle_opened_by_openat()
    {
        var text = string.Concat(Enumerable.Range(0, 5000).Select(i => (char)('a' + i % 26)));
        File.WriteAllText(Path.Combine(_dir.Path, "m"), text);
        using var dir = Libc.Open(_dir.Path, Libc.ORdOnly | Libc.ODirectory);
        using var reader = new MessageReader(Libc.TryOpenAt(dir, "m", Libc.ORdOnly | Libc.ONoFollow, 0, out _)!, knownSize: 5000);
        var all = new MemoryStream();
        var block = new byte[777];
        int n;
        while ((n = reader.Read(block)) > 0)
            all.Write(block, 0, n);
        Assert.Equal(text, Encoding.ASCII.GetString(all.ToArray()));
        var some = new byte[10];
        Assert.Equal(10, reader.ReadAt(some, 4990));
        Assert.Equal(text[4990..], Encoding.ASCII.GetString(some));
        Assert.Equal(0, reader.ReadAt(some, 5000)); // at the end
        Assert.Equal(5000, reader.Length);
    }

    [Fact]
    public void ReadWhole_fills_the_buffer_and_says_false_when_the_file_is_shorter_than_asked()
    {
        File.WriteAllText(Path.Combine(_dir.Path, "m"), "0123456789");
        using var reader = new MessageReader(File.OpenHandle(Path.Combine(_dir.Path, "m")));
        var whole = new byte[10];
        Assert.True(reader.ReadWhole(whole));
        Assert.Equal("0123456789", Encoding.ASCII.GetString(whole));
        Assert.False(reader.ReadWhole(new byte[11])); // a name that says more than the file holds
    }

    [Fact]
    public void A_read_that_fails_is_an_error_not_an_empty_message()
    {
        var handle = Libc.Open(_dir.Path, Libc.ORdOnly | Libc.ODirectory); // a folder cannot be read: EISDIR
        using var reader = new MessageReader(handle);
        Assert.Throws<IOException>(() => reader.Read(new byte[16]));
    }
}
