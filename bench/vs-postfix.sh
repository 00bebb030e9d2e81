#!/usr/bin/env bash
# Side by side, in one run: Mailward and Postfix (Debian's package; virtual mailbox domains, Maildir
# delivery by virtual(8)) on loopback, driven by the same C# load generator.
#   bench/vs-postfix.sh accept  [messages] [size] [concurrency...]   durable SMTP acceptance (250s/s)
#   bench/vs-postfix.sh deliver [messages] [size] [concurrency...]   SMTP in to durable Maildir out, 100 users in 10 domains
# Prints msgs/s for each, the ratio, server CPU per message and (deliver) peak memory.
# Needs root (installs and starts Postfix). Ports 2525 (Mailward) and 2526 (Postfix).
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-accept}
MESSAGES=${2:-20000}
SIZE=${3:-2048}
shift $(( $# > 3 ? 3 : $# )) || true
CONCURRENCY=${*:-"1 8 32"}
WORK=$(mktemp -d /tmp/mailward-bench.XXXXXX)
TICKS=$(getconf CLK_TCK)

command -v postfix >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null; }
dotnet build -c Release src/Mailward >/dev/null
dotnet build -c Release bench/Mailward.Bench >/dev/null
LOAD="dotnet bench/Mailward.Bench/bin/Release/net10.0/Mailward.Bench.dll smtp"
MW=src/Mailward/bin/Release/net10.0/mailward

# Recipients: one user for accept; 100 users in 10 domains for deliver.
if [ "$MODE" = deliver ]; then DOMAINS=$(seq 0 9); USERS=$(seq 0 9); else DOMAINS=0; USERS=0; fi
RCPTS=""
for d in $DOMAINS; do for u in $USERS; do RCPTS="$RCPTS,u$u@d$d.bench.test"; done; done
RCPTS=${RCPTS#,}

# CPU ticks of a process and its reaped children (fields 14-17 of /proc/PID/stat).
ticks() { awk '{print $14+$15+$16+$17}' "/proc/$1/stat"; }
postfix_master() { tr -d ' ' </var/spool/postfix/pid/master.pid; }
# Postfix: master with its reaped children, plus every live child.
postfix_ticks() {
  local master total
  master=$(postfix_master)
  total=$(ticks "$master")
  for c in $(pgrep -P "$master"); do total=$(( total + $(awk '{print $14+$15}' "/proc/$c/stat" 2>/dev/null || echo 0) )); done
  echo "$total"
}
postfix_rss_kib() { local t=0; for p in $(postfix_master) $(pgrep -P "$(postfix_master)"); do t=$(( t + $(awk '/VmRSS/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0) )); done; echo $t; }
delivered() { find "$1" -path '*/new/*' -type f 2>/dev/null | wc -l; }
wait_port() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return; sleep 0.1; done; echo "port $1 did not open" >&2; exit 1; }

# --- Mailward ------------------------------------------------------------------------------
for d in $DOMAINS; do
  $MW --data "$WORK/mw" vadddomain "d$d.bench.test" pw >/dev/null
  for u in $USERS; do $MW --data "$WORK/mw" vadduser -e DmIMm9e5Hc8ic "u$u@d$d.bench.test" >/dev/null; done
done
HOLD=true; [ "$MODE" = deliver ] || HOLD=false
$MW --data "$WORK/mw" --Listen:Address=127.0.0.1 --Smtp:Port=2525 --Pop3:Enabled=false --Pop3s:Enabled=false --Imap:Enabled=false --Imaps:Enabled=false --Submission:Enabled=false --Smtps:Enabled=false --Smtp:MaxConnectionsPerClient=200 \
  --Delivery:Enabled=$HOLD --Log:Level=Warning --Admin:Enabled=false serve --allow-root >"$WORK/mw.log" 2>&1 &  # the script runs as root (Postfix needs it)
MWPID=$!
# On exit: stop what this script started and give the machine's Postfix its configuration back.
PF_OURS=0   # 1 once this script owns Postfix (none ran, its queue was empty, its configuration saved)
trap 'kill -TERM $MWPID 2>/dev/null || true
      if [ "$PF_OURS" = 1 ]; then postfix stop >/dev/null 2>&1 || true; postsuper -d ALL >/dev/null 2>&1 || true
        for f in main.cf master.cf; do cp -p "$WORK/$f.orig" "/etc/postfix/$f"; done; fi
      rm -rf "$WORK"' EXIT
wait_port 2525

# --- Postfix -------------------------------------------------------------------------------
# A benchmark never stops a service it did not start, nor touches mail it did not send: with a
# Postfix running, or mail in its queue, it refuses; the configuration it changes is restored on exit.
if postfix status >/dev/null 2>&1; then
  echo "a Postfix is running on this machine; this benchmark will not stop it (stop it yourself, or run where none runs)" >&2; exit 1
fi
if [ -n "$(find /var/spool/postfix/maildrop /var/spool/postfix/incoming /var/spool/postfix/active /var/spool/postfix/deferred /var/spool/postfix/hold -type f 2>/dev/null | head -n 1)" ]; then
  echo "Postfix's queue holds mail; this benchmark will not mix with it or delete it" >&2; exit 1
fi
for f in main.cf master.cf; do cp -p "/etc/postfix/$f" "$WORK/$f.orig"; done
PF_OURS=1
chmod 755 "$WORK"; mkdir -p "$WORK/pf" && chown 5000:5000 "$WORK/pf"
: > /etc/postfix/vmailbox
for d in $DOMAINS; do for u in $USERS; do echo "u$u@d$d.bench.test d$d.bench.test/u$u/" >> /etc/postfix/vmailbox; done; done
postconf -e "myhostname=postfix.bench.test" "mydestination=" "inet_interfaces=127.0.0.1" "inet_protocols=ipv4" \
  "virtual_mailbox_domains=$(for d in $DOMAINS; do printf 'd%s.bench.test ' "$d"; done)" "virtual_mailbox_base=$WORK/pf" \
  "virtual_mailbox_maps=hash:/etc/postfix/vmailbox" "virtual_uid_maps=static:5000" "virtual_gid_maps=static:5000" \
  "mynetworks=127.0.0.0/8" "default_process_limit=200" "smtpd_client_connection_count_limit=0" \
  "smtpd_client_message_rate_limit=0" "message_size_limit=26214400"
postmap /etc/postfix/vmailbox
postconf -M "2526/inet=2526 inet n - n - - smtpd"
newaliases 2>/dev/null || true
postfix start >/dev/null 2>&1
wait_port 2526

echo "mode $MODE: $MESSAGES messages of $SIZE bytes to $(tr ',' '\n' <<<"$RCPTS" | wc -l) recipient(s)"
echo "| server | concurrency | msgs/s | p50 ms | p99 ms | server CPU ms/msg |"
echo "|---|---:|---:|---:|---:|---:|"
for c in $CONCURRENCY; do
  for name in mailward postfix; do
    if [ $name = mailward ]; then port=2525; box="$WORK/mw/domains"; before=$(ticks $MWPID); else port=2526; box="$WORK/pf"; before=$(postfix_ticks); fi
    had=$(delivered "$box")
    start=$(date +%s.%N)
    line=$($LOAD --port $port --messages "$MESSAGES" --size "$SIZE" --concurrency "$c" --rcpt "$RCPTS" --spread | grep '^RESULT')
    eval "$(sed 's/^RESULT //' <<<"$line")"
    if [ "$MODE" = deliver ]; then
      for _ in $(seq 6000); do [ $(( $(delivered "$box") - had )) -ge "$accepted" ] && break; sleep 0.1; done
      rate=$(awk -v n="$accepted" -v s="$(date +%s.%N)" -v t="$start" 'BEGIN { printf "%.1f", n / (s - t) }')
    fi
    if [ $name = mailward ]; then after=$(ticks $MWPID); else sleep 1; after=$(postfix_ticks); fi
    cpu=$(awk -v t=$((after - before)) -v n="$accepted" -v hz="$TICKS" 'BEGIN { printf "%.3f", n ? t * 1000 / hz / n : 0 }')
    printf '| %s | %s | %.0f | %s | %s | %s |\n' "$name" "$c" "$rate" "$p50ms" "$p99ms" "$cpu"
    eval "rate_${name}_$c=$rate"
  done
  awk -v a="$(eval echo \$rate_mailward_$c)" -v b="$(eval echo \$rate_postfix_$c)" -v c="$c" \
    'BEGIN { printf "ratio at concurrency %s: mailward/postfix = %.2f\n", c, (b > 0 ? a / b : 0) }' >>"$WORK/ratios"
done
cat "$WORK/ratios"
echo "peak memory: mailward $(awk '/VmHWM/{print $2}' /proc/$MWPID/status) KiB (VmHWM); postfix $(postfix_rss_kib) KiB (sum of VmRSS of its processes at the end)"
[ "$MODE" = deliver ] || echo "(accept: Postfix also delivers to its Maildirs meanwhile; Mailward holds its queue: Delivery:Enabled=false)"
