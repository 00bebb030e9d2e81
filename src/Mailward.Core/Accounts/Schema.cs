// Versioned schema migrations, recorded in the database itself (schema_migrations). Each step runs
// once, in order, inside a transaction. One list for both providers: the SQL keeps to what SQLite
// and PostgreSQL share (TEXT, INTEGER, no AUTOINCREMENT, no SQLite-only functions), and
// Postgres/PostgresDialect translates the rest (INTEGER is BIGINT, INTEGER PRIMARY KEY an identity).
namespace Mailward.Core.Accounts;

internal static class Schema
{
    public static readonly IReadOnlyList<(int Version, string Sql)> Migrations =
    [
        (1, """
            CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
            INSERT INTO meta(key, value) VALUES ('generation', 0), ('next_domain_slot', 0);
            CREATE TABLE domains(
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                dir TEXT NOT NULL,
                next_user_slot INTEGER NOT NULL DEFAULT 0,
                catchall_kind INTEGER NOT NULL DEFAULT 0,
                catchall_target TEXT,
                max_users INTEGER, max_aliases INTEGER, max_forwards INTEGER,
                max_autoresponders INTEGER, max_lists INTEGER,
                quota_bytes INTEGER NOT NULL DEFAULT 0, quota_messages INTEGER NOT NULL DEFAULT 0,
                default_quota_bytes INTEGER NOT NULL DEFAULT 0, default_quota_messages INTEGER NOT NULL DEFAULT 0,
                created_at INTEGER NOT NULL);
            CREATE TABLE domain_aliases(
                name TEXT PRIMARY KEY,
                domain_id INTEGER NOT NULL REFERENCES domains(id));
            CREATE INDEX domain_aliases_domain ON domain_aliases(domain_id);
            CREATE TABLE users(
                id INTEGER PRIMARY KEY,
                domain_id INTEGER NOT NULL REFERENCES domains(id),
                local TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                clear_password TEXT,
                gecos TEXT NOT NULL DEFAULT '',
                quota_bytes INTEGER NOT NULL DEFAULT 0,
                quota_messages INTEGER NOT NULL DEFAULT 0,
                flags INTEGER NOT NULL DEFAULT 0,
                dir TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                last_auth_at INTEGER, last_auth_address TEXT, last_auth_service TEXT,
                UNIQUE(domain_id, local));
            CREATE TABLE aliases(
                id INTEGER PRIMARY KEY,
                domain_id INTEGER NOT NULL REFERENCES domains(id),
                local TEXT NOT NULL,
                line TEXT NOT NULL,
                UNIQUE(domain_id, local, line));
            CREATE TABLE relay_rules(
                network TEXT PRIMARY KEY,
                action INTEGER NOT NULL,
                comment TEXT NOT NULL DEFAULT '',
                created_at INTEGER NOT NULL);
            INSERT INTO relay_rules(network, action, comment, created_at) VALUES
                ('127.0.0.1/32', 1, 'default: loopback', 0), ('::1/128', 1, 'default: loopback', 0);
            CREATE TABLE ip_map(
                address TEXT NOT NULL,
                domain TEXT NOT NULL,
                PRIMARY KEY(address, domain));
            CREATE TABLE folder_intents(
                id INTEGER PRIMARY KEY,
                kind INTEGER NOT NULL,
                path TEXT NOT NULL,
                created_at INTEGER NOT NULL);
            """),
        (2, """
            CREATE TABLE roaming(
                address TEXT PRIMARY KEY,
                login TEXT NOT NULL,
                expires_at INTEGER NOT NULL);
            CREATE INDEX roaming_expiry ON roaming(expires_at);
            """),
        // 3: a grant names its user (issue 18): a roaming session sends as that user, with its
        // rights and limits, and users behind one address (a NAT) each keep their own grant.
        (3, """
            CREATE TABLE roaming_by_user(
                address TEXT NOT NULL,
                user_id INTEGER NOT NULL,
                login TEXT NOT NULL,
                expires_at INTEGER NOT NULL,
                PRIMARY KEY(address, user_id));
            INSERT INTO roaming_by_user(address, user_id, login, expires_at)
                SELECT r.address, u.id, r.login, r.expires_at
                FROM roaming r JOIN users u ON 1 = 1 JOIN domains d ON d.id = u.domain_id
                WHERE u.local || '@' || d.name = r.login;
            DROP TABLE roaming;
            ALTER TABLE roaming_by_user RENAME TO roaming;
            CREATE INDEX roaming_expiry ON roaming(expires_at);
            """),
        // 4: autoresponders (issue 15, docs/autoresponder.md): one per user or alias address, and the
        // senders each one answered, remembered until the interval ends.
        (4, """
            CREATE TABLE autoresponders(
                domain_id INTEGER NOT NULL REFERENCES domains(id),
                local TEXT NOT NULL,
                subject TEXT NOT NULL,
                body TEXT NOT NULL,
                starts_at INTEGER,
                ends_at INTEGER,
                interval_days INTEGER NOT NULL,
                deliver INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY(domain_id, local));
            CREATE TABLE autoresponder_replies(
                id INTEGER PRIMARY KEY,
                domain_id INTEGER NOT NULL,
                local TEXT NOT NULL,
                sender TEXT NOT NULL,
                replied_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL,
                UNIQUE(domain_id, local, sender));
            CREATE INDEX autoresponder_replies_expiry ON autoresponder_replies(expires_at);
            """),
        // 5: greylisting's state (issue 16 item 6; docs/mail-auth.md): triplets of client network,
        // sender and recipient, and the networks that passed (postgrey's auto-allow).
        (5, """
            CREATE TABLE greylist_triplets(
                client TEXT NOT NULL,
                sender TEXT NOT NULL,
                recipient TEXT NOT NULL,
                first_seen INTEGER NOT NULL,
                last_seen INTEGER NOT NULL,
                passed INTEGER NOT NULL,
                PRIMARY KEY(client, sender, recipient));
            CREATE INDEX greylist_triplets_last_seen ON greylist_triplets(last_seen);
            CREATE INDEX greylist_triplets_unpassed ON greylist_triplets(passed, first_seen);
            CREATE TABLE greylist_clients(
                client TEXT PRIMARY KEY,
                passes INTEGER NOT NULL,
                last_seen INTEGER NOT NULL,
                counted_at INTEGER NOT NULL);
            CREATE INDEX greylist_clients_last_seen ON greylist_clients(last_seen);
            """),
        // 6: the web admin's access (issue 13, docs/web-admin.md): API keys (only a hash of the
        // secret) and the domains a scoped key reaches, the domains an account administers beyond
        // its own, and TOTP second factors with the last time step used (no code twice).
        (6, """
            CREATE TABLE api_keys(
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                secret_hash TEXT NOT NULL,
                system_scope INTEGER NOT NULL,
                read_only INTEGER NOT NULL,
                created_by TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL,
                revoked_at INTEGER);
            CREATE TABLE api_key_domains(
                key_id TEXT NOT NULL,
                domain_id INTEGER NOT NULL,
                PRIMARY KEY(key_id, domain_id));
            CREATE INDEX api_key_domains_domain ON api_key_domains(domain_id);
            CREATE TABLE admin_grants(
                user_id INTEGER NOT NULL,
                domain_id INTEGER NOT NULL,
                PRIMARY KEY(user_id, domain_id));
            CREATE INDEX admin_grants_domain ON admin_grants(domain_id);
            CREATE TABLE totp(
                user_id INTEGER PRIMARY KEY,
                secret TEXT NOT NULL,
                confirmed INTEGER NOT NULL,
                last_step INTEGER NOT NULL,
                created_at INTEGER NOT NULL);
            """),
        // 8: the nodes that serve this store (issue 14, docs/multi-node.md): each Node:Id with its
        // last start; on PostgreSQL a live node holds a session advisory lock on its row's id.
        (8, """
            CREATE TABLE nodes(
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                host TEXT NOT NULL,
                pid INTEGER NOT NULL,
                version TEXT NOT NULL,
                started_at INTEGER NOT NULL);
            """),
        // 9: the admin audit log (docs/web-admin.md "The audit log"); at in Unix milliseconds, domain a name (rows outlive the domain).
        (9, """
            CREATE TABLE audit_log(
                id INTEGER PRIMARY KEY,
                at INTEGER NOT NULL,
                actor TEXT NOT NULL,
                actor_kind TEXT NOT NULL,
                origin TEXT NOT NULL,
                operation TEXT NOT NULL,
                target TEXT NOT NULL,
                domain TEXT,
                outcome TEXT NOT NULL,
                detail TEXT,
                before_value TEXT,
                after_value TEXT);
            CREATE INDEX audit_log_domain ON audit_log(domain, id);
            """),
        // 10: counts every node must agree on (docs/multi-node.md; ISharedCounters): the login
        // throttles' fixed-window counters and the sending limits' sent messages, times in Unix
        // milliseconds, expires_at for the bounded clean-up by the writes that add rows. Used on
        // PostgreSQL; a SQLite store (one node) keeps these counts in its process and the tables empty.
        (10, """
            CREATE TABLE shared_counters(
                kind TEXT NOT NULL,
                key TEXT NOT NULL,
                count INTEGER NOT NULL,
                since INTEGER NOT NULL,
                expires_at INTEGER NOT NULL,
                PRIMARY KEY(kind, key));
            CREATE INDEX shared_counters_expiry ON shared_counters(expires_at);
            CREATE TABLE shared_events(
                id INTEGER PRIMARY KEY,
                kind TEXT NOT NULL,
                key TEXT NOT NULL,
                at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL);
            CREATE INDEX shared_events_key ON shared_events(kind, key, at);
            CREATE INDEX shared_events_expiry ON shared_events(expires_at);
            """),
        // 11: each domain's number of users, kept in the transaction that adds or deletes one (issue 13:
        // the domain page and the MaxUsers check read it instead of counting 100,000 index entries).
        (11, """
            ALTER TABLE domains ADD COLUMN user_count INTEGER NOT NULL DEFAULT 0;
            UPDATE domains SET user_count = (SELECT COUNT(*) FROM users WHERE users.domain_id = domains.id);
            """),
        // 12: trigram indexes for the admin lists' contains-search (issue 13: a search matching less
        // than a page walked the whole domain's index). SQLite's text; PostgreSQL runs SearchIndexPostgres.
        (12, SearchIndexSqlite),
        // 13: the same trigram index over aliases.local (issue 13: the aliases page's search walked
        // the domain's aliases), and each user's last login per service (issue 13: "last login per
        // service"; users.last_auth_* keeps the last of any). SQLite's text; PostgreSQL runs Migration13Postgres.
        (13, Migration13Sqlite),
    ];

    /// <summary>
    /// Migration 12 on SQLite: FTS5 tables with the trigram tokenizer over users.local and
    /// domains.name (external content: they hold only the index), kept in step by triggers, so every
    /// add, delete and rename, from the commands, the web or a straight INSERT, moves them in its
    /// own transaction.
    /// </summary>
    public const string SearchIndexSqlite = """
        CREATE VIRTUAL TABLE users_search USING fts5(local, content='users', content_rowid='id', tokenize='trigram');
        INSERT INTO users_search(users_search) VALUES ('rebuild');
        CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
            INSERT INTO users_search(rowid, local) VALUES (new.id, new.local); END;
        CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
            INSERT INTO users_search(users_search, rowid, local) VALUES ('delete', old.id, old.local); END;
        CREATE TRIGGER users_search_update AFTER UPDATE OF id, local ON users BEGIN
            INSERT INTO users_search(users_search, rowid, local) VALUES ('delete', old.id, old.local);
            INSERT INTO users_search(rowid, local) VALUES (new.id, new.local); END;
        CREATE VIRTUAL TABLE domains_search USING fts5(name, content='domains', content_rowid='id', tokenize='trigram');
        INSERT INTO domains_search(domains_search) VALUES ('rebuild');
        CREATE TRIGGER domains_search_insert AFTER INSERT ON domains BEGIN
            INSERT INTO domains_search(rowid, name) VALUES (new.id, new.name); END;
        CREATE TRIGGER domains_search_delete AFTER DELETE ON domains BEGIN
            INSERT INTO domains_search(domains_search, rowid, name) VALUES ('delete', old.id, old.name); END;
        CREATE TRIGGER domains_search_update AFTER UPDATE OF id, name ON domains BEGIN
            INSERT INTO domains_search(domains_search, rowid, name) VALUES ('delete', old.id, old.name);
            INSERT INTO domains_search(rowid, name) VALUES (new.id, new.name); END;
        """;

    /// <summary>
    /// Migration 13 on SQLite: an FTS5 trigram table over aliases.local, kept as users_search is.
    /// An address with several lines is several rows, each indexed (a search names each once: DISTINCT).
    /// And user_logins: a user's last login per service (LoginService writes it with users.last_auth_*
    /// in one transaction), begun from the one login each user has so far.
    /// </summary>
    public const string Migration13Sqlite = """
        CREATE VIRTUAL TABLE aliases_search USING fts5(local, content='aliases', content_rowid='id', tokenize='trigram');
        INSERT INTO aliases_search(aliases_search) VALUES ('rebuild');
        CREATE TRIGGER aliases_search_insert AFTER INSERT ON aliases BEGIN
            INSERT INTO aliases_search(rowid, local) VALUES (new.id, new.local); END;
        CREATE TRIGGER aliases_search_delete AFTER DELETE ON aliases BEGIN
            INSERT INTO aliases_search(aliases_search, rowid, local) VALUES ('delete', old.id, old.local); END;
        CREATE TRIGGER aliases_search_update AFTER UPDATE OF id, local ON aliases BEGIN
            INSERT INTO aliases_search(aliases_search, rowid, local) VALUES ('delete', old.id, old.local);
            INSERT INTO aliases_search(rowid, local) VALUES (new.id, new.local); END;
        """ + UserLoginsSql;

    /// <summary>Migration 13's user_logins, in words both dialects take (its ids written BIGINT-safe: INTEGER is 64-bit in SQLite).</summary>
    private const string UserLoginsSql = """

        CREATE TABLE user_logins(
            user_id BIGINT NOT NULL,
            service TEXT NOT NULL,
            at BIGINT NOT NULL,
            address TEXT NOT NULL,
            PRIMARY KEY(user_id, service));
        INSERT INTO user_logins(user_id, service, at, address)
            SELECT id, last_auth_service, last_auth_at, COALESCE(last_auth_address, '') FROM users
            WHERE last_auth_at IS NOT NULL AND last_auth_service IS NOT NULL;
        """;

    /// <summary>
    /// Migration 13 on PostgreSQL: a pg_trgm GIN index over aliases.local, as migration 12's. The
    /// extension is asked for again (a store that lacked it at 12 may have it now); without it the
    /// step leaves a notice and the aliases search stays a scan.
    /// </summary>
    public const string Migration13Postgres = """
        DO '
        BEGIN
            BEGIN
                CREATE EXTENSION IF NOT EXISTS pg_trgm;
            EXCEPTION WHEN OTHERS THEN
                RAISE NOTICE ''pg_trgm not available (%), the aliases search stays a scan'', SQLERRM;
            END;
            IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = ''pg_trgm'') THEN
                CREATE INDEX aliases_local_trigram ON aliases USING gin (local gin_trgm_ops);
            END IF;
        END';
        """ + UserLoginsSql;

    /// <summary>
    /// Migration 12 on PostgreSQL: pg_trgm's GIN indexes, which serve the unchanged LIKE '%text%'
    /// (the planner picks them when the text is selective, the (domain_id, local) index when it is
    /// not). pg_trgm is a trusted extension since PostgreSQL 13 (a database owner without superuser
    /// may create it); where it cannot be created (no contrib package, no CREATE right) the step
    /// records a notice and leaves the search a scan of the index, as before.
    /// </summary>
    // The body is a quoted string, not $$-quoted: every statement passes the $name -> @name
    // parameter translation, which would take a dollar quote for a parameter.
    public const string SearchIndexPostgres = """
        DO '
        BEGIN
            BEGIN
                CREATE EXTENSION IF NOT EXISTS pg_trgm;
            EXCEPTION WHEN OTHERS THEN
                RAISE NOTICE ''pg_trgm not available (%), the admin search stays a scan'', SQLERRM;
            END;
            IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = ''pg_trgm'') THEN
                CREATE INDEX users_local_trigram ON users USING gin (local gin_trgm_ops);
                CREATE INDEX domains_name_trigram ON domains USING gin (name gin_trgm_ops);
            END IF;
        END';
        """;
}
