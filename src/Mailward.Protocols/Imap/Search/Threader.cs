// THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256 §4), and the THREAD command's parse.
// REFERENCES follows the section's steps 1-6 (links from References or In-Reply-To, dummies for
// missing parents, no loops, pruning, sorting by sent date, gathering by base subject). Every walk
// over the tree is iterative: a mailbox can carry reply chains many thousands deep.
namespace Mailward.Protocols.Imap.Search;

public enum ThreadAlgorithm
{
    OrderedSubject,
    References,
}

/// <summary>A THREAD command's arguments: algorithm charset search-keys (RFC 5256 §4).</summary>
public sealed record ThreadRequest(ThreadAlgorithm Algorithm, SearchQuery Query)
{
    public static ThreadRequest? Parse(IReadOnlyList<ImapToken> args, int start, out SearchError? error, SearchParseOptions? options = null)
    {
        ThreadAlgorithm? algorithm = start < args.Count && args[start].Kind == ImapTokenKind.Atom
            ? args[start].Text.ToUpperInvariant() switch
            {
                "ORDEREDSUBJECT" => ThreadAlgorithm.OrderedSubject,
                "REFERENCES" => ThreadAlgorithm.References,
                _ => null,
            }
            : null;
        if (algorithm is null)
        {
            error = SearchError.Bad("THREAD needs ORDEREDSUBJECT or REFERENCES");
            return null;
        }
        if (start + 1 >= args.Count || args[start + 1].AString is not { } charset)
        {
            error = SearchError.Bad("THREAD needs a charset");
            return null;
        }
        var query = SearchQuery.ParseKeys(args, start + 2, charset, null, options ?? new SearchParseOptions(), out error);
        return query is null ? null : new ThreadRequest(algorithm.Value, query);
    }
}

public static class Threader
{
    /// <summary>How far up the tree a loop check looks before it declines a link: it bounds the cost of
    /// a crafted chain (n messages × this) while real threads are never this deep.</summary>
    public const int MaxLoopCheck = 4096;

    /// <summary>The threads of these messages (the ones the search matched), in THREAD order.</summary>
    public static IReadOnlyList<ThreadNode> Thread(IEnumerable<ISearchMessage> messages, ThreadAlgorithm algorithm) =>
        algorithm == ThreadAlgorithm.OrderedSubject ? OrderedSubject(messages) : References(messages);

    /// <summary>RFC 5256 §4 ORDEREDSUBJECT: by base subject, then sent date; the first of each subject is the
    /// root and the rest its children; threads in order of their first message's sent date.</summary>
    private static List<ThreadNode> OrderedSubject(IEnumerable<ISearchMessage> messages)
    {
        var sorted = messages.Select(m => (Message: m, Subject: Sorter.SubjectOf(m), Date: Sorter.SentOrInternal(m).UtcTicks))
            .OrderBy(x => x.Subject, StringComparer.Ordinal).ThenBy(x => x.Date).ThenBy(x => x.Message.Sequence).ToList();
        var threads = new List<(ThreadNode Node, long Date, uint Sequence)>();
        ThreadNode? root = null;
        string? subject = null;
        foreach (var (m, s, d) in sorted)
        {
            if (root is not null && s == subject)
            {
                root.Children.Add(new ThreadNode(m) { Parent = root });
                continue;
            }
            root = new ThreadNode(m);
            subject = s;
            threads.Add((root, d, m.Sequence));
        }
        return [.. threads.OrderBy(t => t.Date).ThenBy(t => t.Sequence).Select(t => t.Node)];
    }

    private sealed class Container(ISearchMessage? message)
    {
        public ISearchMessage? Message { get; set; } = message;
        public Container? Parent { get; set; }
        public List<Container> Children { get; set; } = [];
        public bool IsDummy => Message is null;
        public long Date;
        public uint Sequence;
        public string Subject = "";
        public bool IsReplyOrForward;

        /// <summary>What a top-level sort compares: a dummy by its first child (RFC 5256 §4 steps 4 and 6).</summary>
        public Container SortProxy => IsDummy && Children.Count > 0 ? Children[0] : this;
    }

    private static readonly Comparison<Container> BySentDate = (a, b) =>
    {
        var x = a.SortProxy;
        var y = b.SortProxy;
        var c = x.Date.CompareTo(y.Date);
        return c != 0 ? c : x.Sequence.CompareTo(y.Sequence); // RFC 5256 §2.2: equal dates keep sequence order
    };

    private static List<ThreadNode> References(IEnumerable<ISearchMessage> messages)
    {
        var byId = new Dictionary<string, Container>(StringComparer.Ordinal);
        var all = new List<Container>();

        // (1) link each message under its references
        foreach (var m in messages)
        {
            var subject = Sorter.SubjectOf(m, out var refwd);
            var id = m.HeaderValues("Message-ID") is { Count: > 0 } mid ? MessageFacts.MessageIds(mid[0]).FirstOrDefault() : null;
            Container self;
            if (id is not null && byId.TryGetValue(id, out var known) && known.IsDummy)
                self = known; // a dummy made for this id by an earlier reference
            else
            {
                // no valid Message-ID, or a duplicate of one already used: a unique one of its own
                self = new Container(null);
                all.Add(self);
                if (id is not null && !byId.ContainsKey(id))
                    byId[id] = self;
            }
            self.Message = m;
            self.Date = Sorter.SentOrInternal(m).UtcTicks;
            self.Sequence = m.Sequence;
            self.Subject = subject;
            self.IsReplyOrForward = refwd;

            var refs = m.HeaderValues("References").SelectMany(MessageFacts.MessageIds).ToList();
            if (refs.Count == 0 && m.HeaderValues("In-Reply-To") is { Count: > 0 } irt && MessageFacts.MessageIds(irt[0]) is { Count: > 0 } parents)
                refs = [parents[0]]; // no usable References: the first In-Reply-To id is the only reference
            // (A) each reference the parent of the next, keeping links that exist and making no loops
            Container? previous = null;
            foreach (var r in refs)
            {
                if (!byId.TryGetValue(r, out var c))
                {
                    c = new Container(null);
                    byId[r] = c;
                    all.Add(c);
                }
                if (previous is not null && c.Parent is null && !WouldLoop(previous, c))
                    Link(c, previous);
                previous = c;
            }
            // (B) the last reference is the message's parent, replacing any parent it had
            if (self.Parent is not null)
                Unlink(self);
            if (previous is not null && !WouldLoop(previous, self))
                Link(self, previous);
        }

        // (2) the messages without a parent are the root's children
        var roots = all.Where(c => c.Parent is null).ToList();

        // (3) prune dummies: childless ones go, the others give way to their children unless they
        // stand at the top with several children. Children lists are pruned before their parents'.
        foreach (var c in PostOrder(roots))
            c.Children = Prune(c.Children, topLevel: false, c);
        roots = Prune(roots, topLevel: true, null);

        // (4) sort the top level by sent date (a dummy by its first child, its children sorted first)
        foreach (var r in roots.Where(r => r.IsDummy))
            r.Children.Sort(BySentDate);
        roots.Sort(BySentDate);

        // (5) gather threads by base subject
        var table = new Dictionary<string, Container>(StringComparer.Ordinal);
        foreach (var r in roots)
        {
            var s = r.SortProxy.Subject;
            if (s.Length == 0)
                continue;
            if (!table.TryGetValue(s, out var t))
                table[s] = r;
            else if (!t.IsDummy && (r.IsDummy || (t.IsReplyOrForward && !r.IsReplyOrForward)))
                table[s] = r;
        }
        var merged = new List<Container>();
        var gone = new HashSet<Container>();
        foreach (var r in roots.ToList())
        {
            if (gone.Contains(r))
                continue;
            var s = r.SortProxy.Subject;
            if (s.Length == 0 || table[s] == r)
                continue;
            var t = table[s];
            if (t.IsDummy && r.IsDummy)
            {
                foreach (var child in r.Children)
                    Adopt(t, child);
                r.Children.Clear();
            }
            else if (t.IsDummy || (r.IsReplyOrForward && !t.IsReplyOrForward && !r.IsDummy))
                Adopt(t, r);
            else
            {
                var dummy = new Container(null);
                roots[roots.IndexOf(t)] = dummy;
                Adopt(dummy, t);
                Adopt(dummy, r);
                table[s] = dummy;
            }
            gone.Add(r);
        }
        roots = [.. roots.Where(r => !gone.Contains(r))];

        // (6) sort every set of siblings by sent date, the deepest first
        foreach (var c in PostOrder(roots))
            c.Children.Sort(BySentDate);
        roots.Sort(BySentDate);

        return ToNodes(roots);
    }

    /// <summary>True when making <paramref name="parent"/> the parent of <paramref name="child"/> closes a loop
    /// (the child is the parent or one of its ancestors), or when the ancestors run deeper than MaxLoopCheck.</summary>
    private static bool WouldLoop(Container parent, Container child)
    {
        var steps = 0;
        for (var p = parent; p is not null; p = p.Parent)
        {
            if (p == child || ++steps > MaxLoopCheck)
                return true;
        }
        return false;
    }

    private static void Link(Container child, Container parent)
    {
        child.Parent = parent;
        parent.Children.Add(child);
    }

    private static void Unlink(Container child)
    {
        child.Parent!.Children.Remove(child);
        child.Parent = null;
    }

    private static void Adopt(Container parent, Container child)
    {
        child.Parent?.Children.Remove(child);
        Link(child, parent);
    }

    private static List<Container> Prune(List<Container> list, bool topLevel, Container? parent)
    {
        var kept = new List<Container>(list.Count);
        foreach (var c in list)
        {
            if (!c.IsDummy || (topLevel && c.Children.Count > 1))
            {
                kept.Add(c);
                continue;
            }
            foreach (var child in c.Children) // a childless dummy adds nothing and is gone
            {
                child.Parent = parent;
                kept.Add(child);
            }
        }
        return kept;
    }

    /// <summary>Every container below the roots, each after all of its descendants.</summary>
    private static List<Container> PostOrder(List<Container> roots)
    {
        var order = new List<Container>();
        var stack = new Stack<Container>(roots);
        while (stack.TryPop(out var c))
        {
            order.Add(c);
            foreach (var child in c.Children)
                stack.Push(child);
        }
        order.Reverse(); // reversed pre-order: children come before their parent
        return order;
    }

    private static List<ThreadNode> ToNodes(List<Container> roots)
    {
        var result = new List<ThreadNode>();
        var stack = new Stack<(Container C, ThreadNode? Parent)>();
        for (var i = roots.Count - 1; i >= 0; i--)
            stack.Push((roots[i], null));
        while (stack.TryPop(out var item))
        {
            var node = new ThreadNode(item.C.Message) { Parent = item.Parent };
            if (item.Parent is null)
                result.Add(node);
            else
                item.Parent.Children.Add(node);
            for (var i = item.C.Children.Count - 1; i >= 0; i--)
                stack.Push((item.C.Children[i], node));
        }
        return result;
    }
}
