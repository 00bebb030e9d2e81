// A test that plays a local attacker: it needs root to create that attacker's files as another
// user (nobody, through runuser), so the server, running as root, meets files it does not own.
namespace Mailward.Tests.Support;

public sealed class FactWhenRootAttribute : FactAttribute
{
    public FactWhenRootAttribute()
    {
        if (Core.Posix.Libc.EffectiveUserId != 0)
            Skip = "needs root to act as the unprivileged user nobody (run the tests as root, as .ci/run does)";
        else if (!File.Exists("/usr/sbin/runuser") && !File.Exists("/sbin/runuser"))
            Skip = "needs runuser (util-linux) to act as the unprivileged user nobody";
    }
}
