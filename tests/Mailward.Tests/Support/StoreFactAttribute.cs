// A test of a suite that runs against each account provider (a class per provider deriving the
// suite): skipped, and reported as skipped with the reason, in the classes marked
// [NeedsPostgres] when PostgreSQL cannot be had here; run everywhere else.
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Mailward.Tests.Support;

[XunitTestCaseDiscoverer("Mailward.Tests.Support.StoreFactDiscoverer", "Mailward.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class StoreFactAttribute : FactAttribute;

/// <summary>Marks the PostgreSQL class of a suite that runs against both providers.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class NeedsPostgresAttribute : Attribute;

public sealed class StoreFactDiscoverer(IMessageSink diagnostics) : FactDiscoverer(diagnostics)
{
    private readonly IMessageSink _diagnostics = diagnostics;

    public override IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        if (testMethod.TestClass.Class.GetCustomAttributes(typeof(NeedsPostgresAttribute)).Any() && PostgresServer.Unavailable is { } why)
            return [new XunitSkippedDataRowTestCase(_diagnostics, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, why)];
        return base.Discover(discoveryOptions, testMethod, factAttribute);
    }
}
