// Logged-in browser sessions, held in memory: a random id in an HttpOnly, SameSite=Strict cookie,
// an anti-forgery token per session, an idle and an absolute timeout, and a bound on how many are
// held (the oldest goes first), and logins waiting for their second factor (TOTP) after the
// password, each for a few minutes. A session remembers a fingerprint of the account's password hash
// and flags at login: when either changes (a new password, a flag set or cleared) the session
// ends at its next request. A restart ends every session.
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Mailward.Core.Accounts;

namespace Mailward.Web.Sessions;

public sealed class WebSession(string id, long userId, string local, string domain, string fingerprint, DateTimeOffset created)
{
    public string Id { get; } = id;
    public long UserId { get; } = userId;
    public string Local { get; } = local;
    public string Domain { get; } = domain;
    public string Address => $"{Local}@{Domain}";

    /// <summary>Of the password hash and flags at login; a change ends the session.</summary>
    public string Fingerprint { get; } = fingerprint;

    /// <summary>The synchronizer token every unsafe request of this session must carry.</summary>
    public string CsrfToken { get; } = WebSessions.NewToken();

    public DateTimeOffset Created { get; } = created;
    public DateTimeOffset LastSeen { get; set; } = created;

    /// <summary>One message for the next page (post/redirect/get).</summary>
    public string? Flash { get; set; }
    public bool FlashIsError { get; set; }
}

/// <summary>A login whose password was right, waiting for its TOTP code (no session yet).</summary>
public sealed record PendingLogin(string Id, long UserId, string Local, string Domain, string Fingerprint, DateTimeOffset Created);

public sealed class WebSessions(TimeSpan idle, TimeSpan max, int capacity, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, WebSession> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PendingLogin> _pending = new(StringComparer.Ordinal);

    /// <summary>How long a login waits for its second factor.</summary>
    public TimeSpan SecondFactorWait { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The password step done: a pending login (bounded like the sessions; expired ones go first).</summary>
    public PendingLogin StartPending(UserRecord user)
    {
        var now = time.GetUtcNow();
        if (_pending.Count >= capacity)
        {
            foreach (var p in _pending.Values.Where(p => now - p.Created > SecondFactorWait))
                _pending.TryRemove(p.Id, out _);
            foreach (var p in _pending.Values.OrderBy(p => p.Created).Take(Math.Max(0, _pending.Count - capacity + 1)))
                _pending.TryRemove(p.Id, out _);
        }
        var pending = new PendingLogin(NewToken(), user.Id, user.Local, user.Domain, FingerprintOf(user), now);
        _pending[pending.Id] = pending;
        return pending;
    }

    /// <summary>The pending login for a token, while it waits; null when unknown or too old (then dropped).</summary>
    public PendingLogin? FindPending(string? id)
    {
        if (string.IsNullOrEmpty(id) || !_pending.TryGetValue(id, out var p))
            return null;
        if (time.GetUtcNow() - p.Created > SecondFactorWait)
        {
            _pending.TryRemove(id, out _);
            return null;
        }
        return p;
    }

    public void EndPending(string id) => _pending.TryRemove(id, out _);

    public int Count => _sessions.Count;

    /// <summary>A 256-bit random token, base64url.</summary>
    public static string NewToken() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string FingerprintOf(UserRecord user) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{user.Id}\0{user.PasswordHash}\0{(int)user.Flags}")));

    /// <summary>A new session for a login (never an old id handed back: no session fixation).</summary>
    public WebSession Start(UserRecord user)
    {
        var now = time.GetUtcNow();
        if (_sessions.Count >= capacity)
            Sweep(now, evictOldest: true);
        var s = new WebSession(NewToken(), user.Id, user.Local, user.Domain, FingerprintOf(user), now);
        _sessions[s.Id] = s;
        return s;
    }

    /// <summary>The live session for a cookie value, touched; null when unknown or timed out (then dropped).</summary>
    public WebSession? Find(string? id)
    {
        if (string.IsNullOrEmpty(id) || !_sessions.TryGetValue(id, out var s))
            return null;
        var now = time.GetUtcNow();
        if (now - s.LastSeen > idle || now - s.Created > max)
        {
            _sessions.TryRemove(id, out _);
            return null;
        }
        s.LastSeen = now;
        return s;
    }

    public void End(string id) => _sessions.TryRemove(id, out _);

    /// <summary>Every session of one account ends (its password changed elsewhere, or it was deleted).</summary>
    public void EndAll(long userId)
    {
        foreach (var s in _sessions.Values.Where(s => s.UserId == userId))
            _sessions.TryRemove(s.Id, out _);
    }

    private void Sweep(DateTimeOffset now, bool evictOldest)
    {
        foreach (var s in _sessions.Values.Where(s => now - s.LastSeen > idle || now - s.Created > max))
            _sessions.TryRemove(s.Id, out _);
        if (evictOldest && _sessions.Count >= capacity)
            foreach (var s in _sessions.Values.OrderBy(s => s.LastSeen).Take(_sessions.Count - capacity + 1))
                _sessions.TryRemove(s.Id, out _);
    }
}
