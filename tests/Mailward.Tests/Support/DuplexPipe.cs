// Two pipes as one connection's ends, as Kestrel hands them to a session: for tests of the stream and
// the line channel over pipes with no socket.
using System.IO.Pipelines;

namespace Mailward.Tests.Support;

internal sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
{
    public PipeReader Input => input;
    public PipeWriter Output => output;
}
