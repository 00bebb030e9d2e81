#!/usr/bin/env bash
# The web admin at scale (issue 13): server time of the pages that list, at 1,000, 10,000 and
# 100,000 users in one domain and at 1,000 and 10,000 domains. For each size and page, REQUESTS
# requests by one logged-in system admin; the server time of one request is curl's
# time_starttransfer - time_pretransfer (request sent to first byte back, on loopback). Prints
# p50 and p99 in milliseconds, and the ratio of the largest size to the smallest (flat: near 1).
#   bench/web-admin.sh [requests]        # default 200
# Pages: the domain page (its first users page, the page at the middle of the list by cursor, a
# search), the users API page, the aliases page; the domain list (first page, the page after the
# middle name, a search). Users and domains are inserted straight into the SQLite store in
# batches (sqlite3), with one hash, as `mailward vadduser -e` would store them: the pages read
# the store only, never the mail folders. Port 8089 on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=${1:-200}
PORT=8089
WORK=$(mktemp -d /tmp/mailward-webbench.XXXXXX)
DATA="$WORK/data"
MWPID=""
trap 'kill -TERM $MWPID 2>/dev/null || true; rm -rf "$WORK"' EXIT
command -v sqlite3 >/dev/null || { echo "needs sqlite3 (apt-get install sqlite3)" >&2; exit 1; }

dotnet build -c Release src/Mailward >/dev/null
MW=src/Mailward/bin/Release/net10.0/mailward
ROOT=""; [ "$(id -u)" = 0 ] && ROOT=--allow-root
DB="$DATA/accounts.db"
PW='Bench-pass-1'

"$MW" --data "$DATA" domain add big.bench.test "$PW" >/dev/null
"$MW" --data "$DATA" domain add admin.bench.test "$PW" >/dev/null
"$MW" --data "$DATA" user add root@admin.bench.test "$PW" >/dev/null
"$MW" --data "$DATA" user mod root@admin.bench.test --set system-admin >/dev/null
HASH=$(sqlite3 "$DB" "SELECT password_hash FROM users WHERE local = 'root'")
BIG=$(sqlite3 "$DB" "SELECT id FROM domains WHERE name = 'big.bench.test'")

# users: up to $1 users in big.bench.test (user000001...); domains: up to $1 domains (d00001.bench.test...).
grow_users() {
  local have; have=$(sqlite3 "$DB" "SELECT COUNT(*) FROM users WHERE domain_id = $BIG")
  python3 - "$have" "$1" "$BIG" "$HASH" <<'PY' | sqlite3 "$DB"
import sys
have, want, dom, h = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
print("BEGIN;")
for i in range(have, want):
    print(f"INSERT INTO users(domain_id, local, password_hash, gecos, dir, created_at) VALUES ({dom}, 'user{i:06d}', '{h}', 'Bench User {i}', 'big.bench.test/u/user{i:06d}', 1790000000);")
# The domain's kept user count moves with the rows, as the store's own adds move it.
print(f"UPDATE domains SET user_count = (SELECT COUNT(*) FROM users WHERE domain_id = {dom}) WHERE id = {dom};")
print("UPDATE meta SET value = value + 1 WHERE key = 'generation'; COMMIT;")
PY
}
grow_domains() {
  local have; have=$(sqlite3 "$DB" "SELECT COUNT(*) FROM domains WHERE name LIKE 'd%.bench.test'")
  python3 - "$have" "$1" <<'PY' | sqlite3 "$DB"
import sys
have, want = int(sys.argv[1]), int(sys.argv[2])
print("BEGIN;")
for i in range(have, want):
    print(f"INSERT INTO domains(name, dir, created_at) VALUES ('d{i:05d}.bench.test', 'd{i:05d}.bench.test', 1790000000);")
print("UPDATE meta SET value = value + 1 WHERE key = 'generation'; COMMIT;")
PY
}

start_server() {
  "$MW" --data "$DATA" --Listen:Address=127.0.0.1 --Admin:Port=$PORT --Smtp:Enabled=false --Pop3:Enabled=false --Pop3s:Enabled=false \
    --Imap:Enabled=false --Imaps:Enabled=false --Submission:Enabled=false --Smtps:Enabled=false --Delivery:Enabled=false --Log:Level=Warning \
    serve $ROOT >"$WORK/server.log" 2>&1 &
  MWPID=$!
  for _ in $(seq 600); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.05; done
  # Log in: the login form's token cookie, then the form (curl keeps the session cookie in the jar).
  rm -f "$WORK/jar"
  token=$(curl -s -c "$WORK/jar" "http://127.0.0.1:$PORT/login" | sed -n 's/.*name="_login" value="\([^"]*\)".*/\1/p')
  curl -s -b "$WORK/jar" -c "$WORK/jar" -o /dev/null --data-urlencode "_login=$token" --data-urlencode "login=root@admin.bench.test" \
    --data-urlencode "password=$PW" "http://127.0.0.1:$PORT/login"
}
stop_server() { kill -TERM $MWPID; wait $MWPID 2>/dev/null || true; MWPID=""; }

# measure NAME PATH: REQUESTS requests (after 20 unmeasured ones), prints "NAME p50 p99" in ms.
measure() {
  local url="http://127.0.0.1:$PORT$2"
  for _ in $(seq 20); do curl -s -b "$WORK/jar" -o /dev/null "$url"; done
  for _ in $(seq "$REQUESTS"); do
    curl -s -b "$WORK/jar" -o /dev/null -w '%{http_code} %{time_pretransfer} %{time_starttransfer}\n' "$url"
  done | python3 -c '
import sys
rows = [l.split() for l in sys.stdin]
bad = [r[0] for r in rows if r[0] != "200"]
if bad: sys.exit(f"{sys.argv[1]}: status {bad[0]}")
t = sorted((float(s) - float(p)) * 1000 for _, p, s in rows)
print(f"{sys.argv[1]} {t[len(t) // 2]:.2f} {t[min(len(t) - 1, int(len(t) * 0.99))]:.2f}")' "$1"
}

RESULTS="$WORK/results"
: >"$RESULTS"
for users in 1000 10000 100000; do
  grow_users $users
  start_server
  middle=$(printf 'user%06d' $((users / 2)))
  measure "domain-page" "/domains/big.bench.test" | sed "s/^/$users users /" >>"$RESULTS"
  measure "domain-page-middle" "/domains/big.bench.test?after=$middle" | sed "s/^/$users users /" >>"$RESULTS"
  measure "domain-search" "/domains/big.bench.test?q=user0009" | sed "s/^/$users users /" >>"$RESULTS"
  measure "users-api" "/api/v1/domains/big.bench.test/users?limit=50&after=$middle" | sed "s/^/$users users /" >>"$RESULTS"
  measure "aliases-page" "/domains/big.bench.test/aliases" | sed "s/^/$users users /" >>"$RESULTS"
  stop_server
done
for domains in 1000 10000; do
  grow_domains $domains
  start_server
  middle=$(printf 'd%05d.bench.test' $((domains / 2)))
  measure "domain-list" "/domains" | sed "s/^/$domains domains /" >>"$RESULTS"
  measure "domain-list-middle" "/domains?after=$middle" | sed "s/^/$domains domains /" >>"$RESULTS"
  measure "domain-list-search" "/domains?q=d0099" | sed "s/^/$domains domains /" >>"$RESULTS"
  stop_server
done

printf '%-8s %-8s %-20s %10s %10s\n' size of page "p50 ms" "p99 ms"
while read -r size what page p50 p99; do printf '%-8s %-8s %-20s %10s %10s\n' "$size" "$what" "$page" "$p50" "$p99"; done <"$RESULTS"
echo
echo "largest / smallest size (flat: near 1.0):"
python3 - "$RESULTS" <<'PY'
import sys, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    size, what, page, p50, p99 = line.split()
    rows[page].append((int(size), float(p50), float(p99)))
for page, r in rows.items():
    r.sort()
    (s0, a50, a99), (s1, b50, b99) = r[0], r[-1]
    print(f"  {page:20} {s0:>7} -> {s1:>7}: p50 {b50 / a50:.2f}x, p99 {b99 / a99:.2f}x")
PY
