// How an admin action is given a password: clear text, a ready hash (vadduser -e), none
// (vadduser -n: the account cannot log in), or a random one (-r[len]) that is shown once.
namespace Mailward.Core.Admin;

public abstract record PasswordInput
{
    public sealed record Clear(string Password) : PasswordInput;
    public sealed record Hashed(string Hash) : PasswordInput;
    public sealed record NoPassword : PasswordInput;
    public sealed record Random(int Length) : PasswordInput;
}
