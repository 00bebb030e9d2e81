# Sourced by bench/vs-dovecot*.sh: one private Dovecot beside Mailward on the same Maildirs, with
# its own base_dir, log and port, so a Dovecot the machine runs is left alone; and the helpers both
# benchmarks share (build, ports, counting mail, the passwd-file from Mailward's accounts).
# Expects WORK (the run's folder) to be set; sets BENCH and MW.

# bench_build: Release builds of the server and the load generator.
bench_build() {
  dotnet build -c Release src/Mailward >/dev/null
  dotnet build -c Release bench/Mailward.Bench >/dev/null
  BENCH="dotnet bench/Mailward.Bench/bin/Release/net10.0/Mailward.Bench.dll"
  MW="src/Mailward/bin/Release/net10.0/mailward --data $WORK/mw"
}

# dovecot_install PACKAGE: Debian's package when it is not there.
dovecot_install() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" ||
    { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null; }
}

wait_port() { for _ in $(seq 300); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return; sleep 0.1; done; echo "port $1 did not open" >&2; exit 1; }

# count_mail USER: messages in the user's Maildir (new/ and cur/ of every folder).
count_mail() { find "$WORK/mw/domains" -path "*/$1/Maildir/*" -type f \( -path '*/new/*' -o -path '*/cur/*' \) | wc -l; }

# dovecot_passwd SCHEME: $WORK/passwd for Dovecot's passwd-file from Mailward's accounts (the same
# hashes, under Dovecot's SCHEME name) and $WORK/maildirs (address TAB Maildir), read before a
# first login upgrades Mailward's copies.
dovecot_passwd() {
  python3 - "$WORK" "$1" <<'PY'
import sqlite3, sys, os
work, scheme = sys.argv[1], sys.argv[2]
db = sqlite3.connect(f"{work}/mw/accounts.db")
with open(f"{work}/passwd", "w") as f, open(f"{work}/maildirs", "w") as m:
    for local, domain, hash_, d in db.execute("SELECT u.local, d.name, u.password_hash, u.dir FROM users u JOIN domains d ON d.id = u.domain_id"):
        home = d if os.path.isabs(d) else f"{work}/mw/domains/{d}"
        f.write(f"{local}@{domain}:{{{scheme}}}{hash_}:5000:5000::{home}::\n")
        m.write(f"{local}@{domain}\t{home}/Maildir\n")
PY
}

# dovecot_share_store: Dovecot will not serve mail as root, so the mail store goes to uid 5000
# (Mailward, as root, still reads it); the data folder is owner-only (0700, docs/security.md) and
# uid 5000 must pass through it.
dovecot_share_store() {
  chown -R 5000:5000 "$WORK/mw/domains"
  chmod 711 "$WORK/mw"
}

# dovecot_conf PROTOCOL SCHEME: the settings both benchmarks give Dovecot; each appends its services.
dovecot_conf() {
  mkdir -p "$WORK/dovecot-run"
  cat <<CONF
protocols = $1
listen = 127.0.0.1
base_dir = $WORK/dovecot-run
log_path = $WORK/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# Dovecot's auth cache, the model of Mailward's: both spare repeated password-hash work.
auth_cache_size = 10M
auth_cache_ttl = 1 min
first_valid_uid = 5000
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=$2 $WORK/passwd
}
userdb {
  driver = passwd-file
  args = $WORK/passwd
}
CONF
}

# dovecot_start PORT: starts Dovecot with $WORK/dovecot.conf; DOVECOT_PID is known from then on,
# so the caller's exit trap stops it, also after a failure.
dovecot_start() {
  dovecot -c "$WORK/dovecot.conf"
  wait_port "$1"
  DOVECOT_PID=$(cat "$WORK/dovecot-run/master.pid")
}
