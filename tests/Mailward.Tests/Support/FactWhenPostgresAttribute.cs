// A test that needs PostgreSQL (the throwaway cluster of PostgresServer): skipped, with the reason,
// when it cannot be had here. .ci/run installs postgresql, so CI always runs these.
namespace Mailward.Tests.Support;

public sealed class FactWhenPostgresAttribute : FactAttribute
{
    public FactWhenPostgresAttribute()
    {
        if (PostgresServer.Unavailable is { } why)
            Skip = why;
    }
}
