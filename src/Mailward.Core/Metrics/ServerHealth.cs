// What /healthz answers (docs/metrics.md): whether the queue can take mail (its writer runs and its
// folder takes a new file), whether the mail store's folder takes a new file, and whether the
// listeners are bound and serving. Each call costs one small probe file per folder (created,
// written, removed; no fsync) and nothing else: safe to ask every few seconds.
namespace Mailward.Core.Metrics;

/// <param name="queueAccepting">The queue's writer runs and the queue is open.</param>
/// <param name="listenersProblem">Null while every enabled listener is bound and the server is not stopping; else why not.</param>
public sealed class ServerHealth(string queuePath, string mailStorePath, Func<bool> queueAccepting, Func<string?> listenersProblem)
{
    /// <summary>The probe's name in each folder (docs/queue-format.md and docs/mail-store.md list it).</summary>
    public const string ProbeName = "healthz.probe";

    /// <summary>One line per part: its name and null when it works, or what failed.</summary>
    public IReadOnlyList<(string Part, string? Problem)> Check() =>
    [
        ("queue", queueAccepting() ? ProbeFolder(queuePath) : "the queue is closed"),
        ("store", ProbeFolder(mailStorePath)),
        ("listeners", listenersProblem()),
    ];

    /// <summary>Null when a new file can be made and written in <paramref name="folder"/>; else the error.</summary>
    public static string? ProbeFolder(string folder)
    {
        var probe = Path.Combine(folder, ProbeName);
        try
        {
            using (var f = new FileStream(probe, new FileStreamOptions
            {
                Mode = FileMode.Create,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            }))
                f.WriteByte((byte)'\n');
            File.Delete(probe);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"{folder} is not writable: {e.Message}";
        }
    }
}
