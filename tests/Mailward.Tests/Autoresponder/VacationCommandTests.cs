// mailward vacation set|show|off|list and user mod --vacation-*: the commands over the real store.
using Mailward.Tests.Support;

namespace Mailward.Tests.Autoresponder;

public sealed class VacationCommandTests : IDisposable
{
    private readonly MailwardRunner _m = new();

    public void Dispose() => _m.Dispose();

    [Fact]
    public async Task Set_show_list_and_off()
    {
        (await _m.Run("domain", "add", "hosted.test", "pw")).Ok();
        (await _m.Run("user", "add", "joe@hosted.test", "pw")).Ok();
        Assert.Contains("joe@hosted.test: no autoresponder", (await _m.Run("vacation", "show", "joe@hosted.test")).Ok().Out);
        Assert.Contains("joe@hosted.test: autoresponder on", (await _m.Run("vacation", "set", "joe@hosted.test", "--text", "Away until Monday.", "--interval", "3", "--subject", "Away")).Ok().Out);
        var show = (await _m.Run("vacation", "show", "joe@hosted.test")).Ok().Out;
        Assert.Contains("subject: Away\n", show);
        Assert.Contains("interval: 3 days\n", show);
        Assert.Contains("deliver: yes\n", show);
        Assert.Contains("start: none\n", show);
        Assert.EndsWith("text:\nAway until Monday.\n", show);
        Assert.Contains("starts 2099-01-01 00:00:00 UTC",
            (await _m.RunWithInput("From a file.\n", "vacation", "set", "joe@hosted.test", "--text-file", "-", "--start", "2099-01-01", "--no-deliver")).Ok().Out);
        show = (await _m.Run("vacation", "show", "joe@hosted.test")).Ok().Out;
        Assert.Contains("deliver: no\n", show);
        Assert.Contains("interval: 3 days\n", show); // kept
        Assert.EndsWith("text:\nFrom a file.\n", show);
        Assert.Equal("joe@hosted.test\tstarts 2099-01-01 00:00:00 UTC\tAway\n", (await _m.Run("vacation", "list", "hosted.test")).Ok().Out);
        Assert.Contains("autoresponder removed", (await _m.Run("vacation", "off", "joe@hosted.test")).Ok().Out);
        Assert.Equal("", (await _m.Run("vacation", "list", "hosted.test")).Ok().Out);
    }

    [Fact]
    public async Task User_mod_sets_and_removes_the_users_autoresponder()
    {
        (await _m.Run("domain", "add", "hosted.test", "pw")).Ok();
        (await _m.Run("user", "add", "joe@hosted.test", "pw")).Ok();
        Assert.Contains("joe@hosted.test: autoresponder on", (await _m.Run("user", "mod", "joe@hosted.test", "--vacation-text", "Gone fishing.", "--vacation-interval", "2")).Ok().Out);
        Assert.Contains("interval: 2 days", (await _m.Run("vacation", "show", "joe@hosted.test")).Ok().Out);
        // With a flag in the same command, both change.
        Assert.Contains("joe@hosted.test: flags no-pop", (await _m.Run("user", "mod", "joe@hosted.test", "--set", "no-pop", "--vacation-off")).Ok().Out);
        Assert.Contains("no autoresponder", (await _m.Run("vacation", "show", "joe@hosted.test")).Ok().Out);
    }

    [Fact]
    public async Task Errors_have_the_admin_errors_exit_statuses()
    {
        (await _m.Run("domain", "add", "hosted.test", "pw")).Ok();
        (await _m.Run("user", "add", "joe@hosted.test", "pw")).Ok();
        Assert.Equal(13, (await _m.Run("vacation", "set", "ghost@hosted.test", "--text", "x")).Code); // user-not-found
        Assert.Equal(20, (await _m.Run("vacation", "set", "joe@hosted.test", "--text", "x", "--interval", "0")).Code); // invalid-argument
        Assert.Equal(20, (await _m.Run("vacation", "set", "joe@hosted.test")).Code); // no text
        Assert.Equal(20, (await _m.Run("vacation", "set", "joe@hosted.test", "--text", "x", "--end", "someday")).Code);
        Assert.Equal(1, (await _m.Run("vacation", "set", "joe@hosted.test", "--text", "x", "--deliver", "--no-deliver")).Code);
        Assert.Contains("no autoresponder", (await _m.Run("vacation", "off", "joe@hosted.test")).Ok().Out);
    }
}
