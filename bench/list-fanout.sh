#!/usr/bin/env bash
# A mailing list's fan-out (issue 15 item 7, docs/lists.md "The copies"): one post to a list of
# 10,000 subscribers on 100 remote domains, delivered to a local sink MTA (every domain routed to
# it), and one post to a list of 10,000 local mailboxes. Measures the time from the post's 250 to
# the last copy (the sink's count, or the last Maildir file) and Mailward's CPU over that time.
#   bench/list-fanout.sh [remote-subscribers] [local-subscribers]
# Ports 2529 (Mailward) and 2530 (the sink). Needs python3 (the sink is a few lines of asyncio).
# The local mailboxes are inserted straight into the SQLite store in one transaction with one
# hash (as bench/web-admin.sh does; one `vadduser` each took about 20 minutes for 10,000), their
# Maildirs made by the first delivery as vdelivermail would; this setup is not measured.
set -euo pipefail
cd "$(dirname "$0")/.."
REMOTE=${1:-10000}
LOCAL=${2:-10000}
DOMAINS=100
WORK=$(mktemp -d /tmp/mailward-fanout.XXXXXX)
TICKS=$(getconf CLK_TCK)
dotnet build -c Release src/Mailward >/dev/null
MW=src/Mailward/bin/Release/net10.0/mailward
SINKPID=""; MWPID=""
trap 'kill -TERM $MWPID $SINKPID 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT

# The sink: takes every message (one transaction per VERP sender, as the list sends them) and
# counts them; prints "DONE <unix-ms>" when it has N.
cat >"$WORK/sink.py" <<'PYEOF'
import asyncio, sys, time
port, want = int(sys.argv[1]), int(sys.argv[2])
count = 0
async def session(reader, writer):
    global count
    writer.write(b"220 sink.bench.test ESMTP\r\n")
    while True:
        line = await reader.readline()
        if not line:
            break
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            writer.write(b"250-sink.bench.test\r\n250 8BITMIME\r\n")
        elif verb == b"DATA":
            writer.write(b"354 go\r\n")
            await writer.drain()
            while (await reader.readline()) not in (b".\r\n", b""):
                pass
            count += 1
            writer.write(b"250 ok\r\n")
            if count == want:
                print("DONE", int(time.time() * 1000), flush=True)
        elif verb == b"QUIT":
            writer.write(b"221 bye\r\n")
            await writer.drain()
            break
        else:
            writer.write(b"250 ok\r\n")
        await writer.drain()
    writer.close()
async def main():
    server = await asyncio.start_server(session, "127.0.0.1", port, backlog=1024)
    print("READY", flush=True)
    async with server:
        await server.serve_forever()
asyncio.run(main())
PYEOF

ticks() { awk '{print $14+$15+$16+$17}' "/proc/$1/stat"; }
wait_port() { for _ in $(seq 600); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return; sleep 0.1; done; echo "port $1 did not open" >&2; exit 1; }
now_ms() { date +%s%3N; }

# post: one message to team@bench.test over SMTP; prints the time its 250 came (unix ms).
post() {
  exec 3<>/dev/tcp/127.0.0.1/2529
  read -r _ <&3
  printf 'HELO bench.test\r\nMAIL FROM:<poster@bench.test>\r\nRCPT TO:<team@bench.test>\r\nDATA\r\n' >&3
  for _ in 1 2 3 4; do read -r _ <&3; done
  printf 'From: poster@bench.test\r\nTo: team@bench.test\r\nSubject: fan-out\r\n\r\nhello, everyone\r\n.\r\n' >&3
  read -r reply <&3
  local t; t=$(now_ms)
  printf 'QUIT\r\n' >&3; exec 3>&-
  case "$reply" in 250*) echo "$t" ;; *) echo "post refused: $reply" >&2; exit 1 ;; esac
}

# serve DATA ROUTES...: Mailward on port 2529 with delivery on.
serve() {
  local data=$1; shift
  $MW --data "$data" --Listen:Address=127.0.0.1 --Smtp:Port=2529 --Pop3:Enabled=false --Pop3s:Enabled=false --Imap:Enabled=false \
    --Imaps:Enabled=false --Submission:Enabled=false --Smtps:Enabled=false --Admin:Enabled=false --Delivery:Enabled=true --Log:Level=Warning \
    "$@" serve --allow-root >"$data.log" 2>&1 &
  MWPID=$!
  wait_port 2529
}

# --- Remote: REMOTE subscribers over DOMAINS domains, all routed to the sink.
DATA="$WORK/remote"
$MW --data "$DATA" vadddomain bench.test pw >/dev/null
$MW --data "$DATA" list add team@bench.test >/dev/null
seq 1 "$REMOTE" | awk -v d="$DOMAINS" '{print "u" $1 "@d" ($1 % d) ".bench.test"}' >"$WORK/remote.txt"
# subscribe in batches (one command line each)
xargs -n 1000 $MW --data "$DATA" list subscribe team@bench.test <"$WORK/remote.txt" >/dev/null
# One route per domain, all to the sink: Delivery:DestinationConcurrency (5) then counts per route host,
# so the copies go out at most 5 at a time, as to one real MX; each is its own transaction (VERP).
ROUTES=()
for i in $(seq 0 $((DOMAINS - 1))); do ROUTES+=("--Remote:Routes:d$i.bench.test=127.0.0.1:2530"); done
python3 "$WORK/sink.py" 2530 "$REMOTE" >"$WORK/sink.out" &
SINKPID=$!
for _ in $(seq 100); do grep -q READY "$WORK/sink.out" 2>/dev/null && break; sleep 0.1; done
serve "$DATA" "${ROUTES[@]}"
before=$(ticks $MWPID)
start=$(post)
for _ in $(seq 6000); do grep -q DONE "$WORK/sink.out" && break; sleep 0.1; done
end=$(awk '/DONE/{print $2}' "$WORK/sink.out")
after=$(ticks $MWPID)
kill -TERM $MWPID; wait $MWPID 2>/dev/null || true; MWPID=""
kill -TERM $SINKPID; wait $SINKPID 2>/dev/null || true; SINKPID=""
[ -n "$end" ] || { echo "remote: the sink did not get $REMOTE copies in 10 minutes" >&2; exit 1; }
echo "remote: $REMOTE subscribers on $DOMAINS domains: last copy $(( end - start )) ms after the post's 250; Mailward CPU $(( (after - before) * 1000 / TICKS )) ms"

# --- Local: LOCAL mailboxes at bench.test.
DATA="$WORK/local"
$MW --data "$DATA" vadddomain bench.test pw >/dev/null
$MW --data "$DATA" vadduser -e DmIMm9e5Hc8ic u1@bench.test >/dev/null
# The others as rows like u1's (its hash; a folder of their own beside its one), then the domain's kept count.
python3 - "$DATA/accounts.db" "$LOCAL" <<'PYEOF'
import sqlite3, sys
db, n = sqlite3.connect(sys.argv[1]), int(sys.argv[2])
dom, h, d = db.execute("SELECT domain_id, password_hash, dir FROM users WHERE local = 'u1'").fetchone()
base = d[: d.rindex("/") + 1] if "/" in d else ""
with db:
    db.executemany("INSERT INTO users(domain_id, local, password_hash, gecos, dir, created_at) VALUES (?, ?, ?, '', ?, 1790000000)",
                   [(dom, f"u{i}", h, f"{base}u{i}") for i in range(2, n + 1)])
    db.execute("UPDATE domains SET user_count = (SELECT COUNT(*) FROM users WHERE domain_id = ?) WHERE id = ?", (dom, dom))
    db.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
PYEOF
$MW --data "$DATA" list add team@bench.test >/dev/null
seq 1 "$LOCAL" | awk '{print "u" $1 "@bench.test"}' | xargs -n 1000 $MW --data "$DATA" list subscribe team@bench.test >/dev/null
serve "$DATA"
before=$(ticks $MWPID)
start=$(post)
end=""
for _ in $(seq 6000); do
  # every copy delivered: each of the LOCAL Maildirs has one file in new/
  if [ "$(find "$DATA/domains/bench.test" -path '*/Maildir/new/*' -type f | wc -l)" -ge "$LOCAL" ]; then end=$(now_ms); break; fi
  sleep 0.1
done
after=$(ticks $MWPID)
kill -TERM $MWPID; wait $MWPID 2>/dev/null || true; MWPID=""
[ -n "$end" ] || { echo "local: $LOCAL copies not delivered in 10 minutes" >&2; exit 1; }
echo "local: $LOCAL subscribers: last copy about $(( end - start )) ms after the post's 250 (polled every 0.1 s plus a find); Mailward CPU $(( (after - before) * 1000 / TICKS )) ms"
