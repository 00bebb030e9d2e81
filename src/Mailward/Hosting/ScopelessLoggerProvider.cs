// The console's logger without scope support. A provider that supports scopes makes the logger factory
// push one for every scope anyone begins, printed or not: Kestrel begins one per connection, so every
// idle IMAP session held a scope and a changed execution context (docs/imap.md). The console prints no
// scopes here (IncludeScopes is off), so without the support nothing shown changes.
using Microsoft.Extensions.Logging;

namespace Mailward.Hosting;

internal sealed class ScopelessLoggerProvider(ILoggerProvider inner) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => inner.CreateLogger(categoryName);

    // The inner provider is the container's singleton; the container disposes it (and its console queue's last lines).
    public void Dispose()
    {
    }
}
