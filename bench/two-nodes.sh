#!/usr/bin/env bash
# End to end, SMTP to Maildir, with two `mailward serve` nodes on one PostgreSQL account store and
# one mail store against one node alone (issue 14's bench/ item): the same messages to the same 20
# users, from the first connection to the last message in its Maildir, msgs/s for each and the ratio.
#   bench/two-nodes.sh [messages] [concurrency]      # default: 20000 16 (each node gets half, half the concurrency)
# PostgreSQL is a throwaway cluster of this script's own (bench/throwaway-pg.sh), stopped and
# removed on exit, also after a failure. Ports 2545 and 2546. Both nodes share this machine's cores:
# the ratio shows what the second node costs or gains here, not what a second machine would add.
set -euo pipefail
cd "$(dirname "$0")/.."
MESSAGES=${1:-20000}
CONCURRENCY=${2:-16}
WORK=$(mktemp -d /tmp/mailward-two-nodes.XXXXXX)
. bench/throwaway-pg.sh
PIDS=""
trap 'kill -TERM $PIDS 2>/dev/null || true; sleep 1; pg_stop; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
pg_start "$WORK/pg"

dotnet build -c Release bench/Mailward.Bench >/dev/null
BENCH="dotnet bench/Mailward.Bench/bin/Release/net10.0/Mailward.Bench.dll"
MW=bench/Mailward.Bench/bin/Release/net10.0/mailward
[ -x "$MW" ] || MW=src/Mailward/bin/Release/net10.0/mailward
[ -x "$MW" ] || dotnet build -c Release src/Mailward >/dev/null
ROOT=""; [ "$(id -u)" = 0 ] && ROOT=--allow-root
STORE=(--Accounts:Provider=postgres "--Accounts:ConnectionString=$PG_CONN")
wait_port() { for _ in $(seq 600); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return; sleep 0.05; done; echo "port $1 did not open" >&2; exit 1; }
RCPTS=$(seq -s, -f 'u%g@bench.test' 0 19)
count_mail() { find "$1/domains/bench.test" -path '*/Maildir/new/*' -type f 2>/dev/null | wc -l; }

# Runs one round: $1 = label, $2 = number of nodes (1 or 2).
round() {
  local label=$1 nodes=$2 store="$WORK/$1-mail" i ports=() start end
  mkdir -p "$store"
  "$MW" --data "$WORK/$label-a" "${STORE[@]}" --MailStore:Path="$store/domains" vadddomain bench.test pw-bench >/dev/null
  for u in $(seq 0 19); do "$MW" --data "$WORK/$label-a" "${STORE[@]}" --MailStore:Path="$store/domains" vadduser "u$u@bench.test" pw-bench >/dev/null; done
  for i in $(seq 1 "$nodes"); do
    local port=$((2544 + i))
    "$MW" --data "$WORK/$label-n$i" "${STORE[@]}" --MailStore:Path="$store/domains" --Node:Id="$label-n$i" \
      --Listen:Address=127.0.0.1 --Smtp:Port=$port --Pop3:Port=0 --Pop3s:Port=0 --Imap:Port=0 --Imaps:Port=0 --Admin:Port=0 \
      --Submission:Port=0 --Smtps:Port=0 --Hostname=mail.bench.test --Spf:Mode=off --Dkim:Verify=false --Dmarc:Mode=off \
      --Log:Level=Warning serve $ROOT >"$WORK/$label-n$i.log" 2>&1 &
    PIDS="$PIDS $!"
    ports+=("$port")
  done
  for p in "${ports[@]}"; do wait_port "$p"; done
  # Warm-up (JIT, caches), then the round's mail store starts from what the warm-up left.
  for p in "${ports[@]}"; do $BENCH smtp --port "$p" --messages 500 --concurrency 4 --rcpt "$RCPTS" --spread >/dev/null; done
  for _ in $(seq 600); do [ "$(count_mail "$store")" -ge $((500 * nodes)) ] && break; sleep 0.1; done
  local before; before=$(count_mail "$store")
  start=$(date +%s%N)
  local loads=()
  for p in "${ports[@]}"; do
    $BENCH smtp --port "$p" --messages $((MESSAGES / nodes)) --concurrency $((CONCURRENCY / nodes)) --rcpt "$RCPTS" --spread --seconds 900 >"$WORK/$label-$p.out" &
    loads+=("$!")
  done
  for l in "${loads[@]}"; do wait "$l"; done
  local accepted=0
  for p in "${ports[@]}"; do accepted=$((accepted + $(sed -n 's/^RESULT accepted=\([0-9]*\).*/\1/p' "$WORK/$label-$p.out"))); done
  for _ in $(seq 9000); do [ "$(count_mail "$store")" -ge $((before + accepted)) ] && break; sleep 0.1; done
  end=$(date +%s%N)
  local delivered=$(( $(count_mail "$store") - before ))
  local rate; rate=$(awk -v n="$delivered" -v ns=$((end - start)) 'BEGIN { printf "%.0f", n / (ns / 1e9) }')
  echo "| $label | $nodes | $accepted | $delivered | $(awk -v ns=$((end - start)) 'BEGIN { printf "%.1f", ns / 1e9 }') | $rate |"
  echo "$rate" >"$WORK/$label.rate"
  kill -TERM $PIDS 2>/dev/null || true; wait 2>/dev/null || true; PIDS=""
}

echo "# two nodes against one: $MESSAGES messages of the load generator's default size to 20 users, concurrency $CONCURRENCY in all; $(nproc) cores; $(date -u '+%F %T')Z"
echo "| round | nodes | accepted | delivered | seconds (first connection to last delivery) | msgs/s end to end |"
echo "|---|---:|---:|---:|---:|---:|"
round one 1
"${PG_AS[@]}" "$PGBIN/psql" -h "$PGROOT/s" -U mailward -d postgres -qc "DROP DATABASE bench WITH (FORCE)" -c "CREATE DATABASE bench" >/dev/null
round two 2
echo "ratio two/one: $(awk -v a="$(cat "$WORK/two.rate")" -v b="$(cat "$WORK/one.rate")" 'BEGIN { printf "%.2f", a / b }')x"
