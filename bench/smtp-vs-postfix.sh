#!/usr/bin/env bash
# Side by side: durable SMTP acceptance of Mailward and of Postfix (Debian's package, virtual
# mailbox domains, Maildir delivery) on loopback, with the same load generator in the same run.
# Prints accepted msgs/s for each, the ratio, and each server's CPU per message.
#   bench/smtp-vs-postfix.sh [messages] [size] [concurrency...]
# Needs root (installs and starts Postfix). Uses ports 2525 (Mailward) and 2526 (Postfix).
set -euo pipefail
cd "$(dirname "$0")/.."
MESSAGES=${1:-20000}
SIZE=${2:-2048}
shift $(( $# > 2 ? 2 : $# )) || true
CONCURRENCY=${*:-"1 8 32"}
WORK=$(mktemp -d /tmp/mailward-bench.XXXXXX)
TICKS=$(getconf CLK_TCK)

command -v postfix >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null; }
dotnet build -c Release src/Mailward >/dev/null
dotnet build -c Release bench/Mailward.Bench >/dev/null
LOAD="dotnet bench/Mailward.Bench/bin/Release/net10.0/Mailward.Bench.dll smtp"
MW=src/Mailward/bin/Release/net10.0/mailward

# CPU ticks of a process and its reaped children (fields 14-17 of /proc/PID/stat).
ticks() { awk '{print $14+$15+$16+$17}' "/proc/$1/stat"; }
# Postfix: master with its reaped children, plus every live child.
postfix_ticks() {
  local master total
  master=$(cat /var/spool/postfix/pid/master.pid | tr -d ' ')
  total=$(ticks "$master")
  for c in $(pgrep -P "$master"); do total=$(( total + $(awk '{print $14+$15}' "/proc/$c/stat" 2>/dev/null || echo 0) )); done
  echo "$total"
}

# --- Mailward ------------------------------------------------------------------------------
$MW --data "$WORK/mw" vadddomain bench.test pw >/dev/null
$MW --data "$WORK/mw" vadduser -e DmIMm9e5Hc8ic joe@bench.test >/dev/null
$MW --data "$WORK/mw" --Listen:Address=127.0.0.1 --Smtp:Port=2525 --Smtp:MaxConnectionsPerClient=200 --Log:Level=Warning serve >"$WORK/mw.log" 2>&1 &
MWPID=$!
trap 'kill -TERM $MWPID 2>/dev/null || true; postfix stop >/dev/null 2>&1 || true' EXIT
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/2525) 2>/dev/null && break; sleep 0.1; done

# --- Postfix -------------------------------------------------------------------------------
postfix stop >/dev/null 2>&1 || true
mkdir -p "$WORK/pf" && chown 5000:5000 "$WORK/pf"
postconf -e "maillog_file=/var/log/postfix-bench.log"
echo "joe@bench.test bench.test/joe/" > /etc/postfix/vmailbox
postconf -e "myhostname=postfix.bench.test" "mydestination=" "inet_interfaces=127.0.0.1" "inet_protocols=ipv4" \
  "virtual_mailbox_domains=bench.test" "virtual_mailbox_base=$WORK/pf" "virtual_mailbox_maps=hash:/etc/postfix/vmailbox" \
  "virtual_uid_maps=static:5000" "virtual_gid_maps=static:5000" "mynetworks=127.0.0.0/8" \
  "default_process_limit=200" "smtpd_client_connection_count_limit=0" "smtpd_client_message_rate_limit=0" \
  "message_size_limit=26214400"
postmap /etc/postfix/vmailbox
postconf -M "2526/inet=2526 inet n - n - - smtpd"
newaliases 2>/dev/null || true
postfix start >/dev/null 2>&1
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/2526) 2>/dev/null && break; sleep 0.1; done

echo "| server | concurrency | accepted msgs/s | p50 ms | p99 ms | server CPU ms/msg |"
echo "|---|---:|---:|---:|---:|---:|"
for c in $CONCURRENCY; do
  for name in mailward postfix; do
    if [ $name = mailward ]; then port=2525; before=$(ticks $MWPID); else port=2526; before=$(postfix_ticks); fi
    line=$($LOAD --port $port --messages "$MESSAGES" --size "$SIZE" --concurrency "$c" --rcpt joe@bench.test | grep '^RESULT')
    if [ $name = mailward ]; then after=$(ticks $MWPID); else sleep 2; after=$(postfix_ticks); fi
    eval "$(sed 's/^RESULT //' <<<"$line")"
    cpu=$(awk -v t=$((after - before)) -v n="$accepted" -v hz="$TICKS" 'BEGIN { printf "%.3f", n ? t * 1000 / hz / n : 0 }')
    printf '| %s | %s | %.0f | %s | %s | %s |\n' "$name" "$c" "$rate" "$p50ms" "$p99ms" "$cpu"
    eval "rate_${name}_$c=$rate"
  done
  awk -v a="$(eval echo \$rate_mailward_$c)" -v b="$(eval echo \$rate_postfix_$c)" -v c="$c" \
    'BEGIN { printf "ratio at concurrency %s: mailward/postfix = %.2f\n", c, (b > 0 ? a / b : 0) }' >>"$WORK/ratios"
done
cat "$WORK/ratios"
echo "(Postfix's CPU includes delivering each message to its Maildir meanwhile; Mailward's queue keeps them until delivery lands.)"
rm -rf "$WORK"
