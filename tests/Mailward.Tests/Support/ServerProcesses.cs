// The `mailward serve` child processes a test started, killed at the end even when the test failed
// half-way (by then its Process objects are disposed, so they are remembered by id).
using System.Diagnostics;

namespace Mailward.Tests.Support;

public sealed class ServerProcesses : IDisposable
{
    private readonly List<int> _started = [];

    public Process Track(Process p)
    {
        _started.Add(p.Id);
        return p;
    }

    public void Dispose()
    {
        foreach (var pid in _started)
        {
            try
            {
                using var p = Process.GetProcessById(pid);
                if (!p.HasExited && p.ProcessName == "mailward")
                    p.Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // gone already
            }
        }
    }
}
