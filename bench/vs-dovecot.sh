#!/usr/bin/env bash
# Side by side, in one run: Mailward's POP3 and Dovecot's (Debian's dovecot-pop3d) on the same
# Maildirs with the same Argon2id password hashes, driven by the same C# load generator.
#   bench/vs-dovecot.sh [rounds] [login-seconds]     # default: 10 10
# Retrieval: 1,000 messages of 2 KiB and 200 of 100 KiB (login, LIST, UIDL, RETR all, QUIT;
# nothing deleted), `rounds` times each after five warm-up rounds. Logins: USER/PASS/QUIT at
# concurrency 16 over 16 users. Needs root (installs and starts Dovecot; mail owned by uid 5000).
# Ports: Mailward SMTP 2525 (to fill the mailboxes) and POP3 2110; Dovecot POP3 2111.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-10}
LOGIN_SECONDS=${2:-10}
WORK=$(mktemp -d /tmp/mailward-pop3bench.XXXXXX)
chmod 755 "$WORK"

# A Dovecot the machine runs is left alone: this one has its own base_dir and port (2111).
source bench/private-dovecot.sh
dovecot_install dovecot-pop3d
bench_build

# --- the same accounts and mail for both -----------------------------------------------------
$MW domain add bench.test pw >/dev/null
LOGIN_USERS=""
for u in small big $(seq -f 'l%g' 0 15); do
  echo pw | $MW user add "$u@bench.test" >/dev/null   # Argon2id, Mailward's default cost (m=19456, t=2, p=1)
  case $u in l*) LOGIN_USERS="$LOGIN_USERS,$u@bench.test";; esac
done
LOGIN_USERS=${LOGIN_USERS#,}
$MW --Listen:Address=127.0.0.1 --Smtp:Port=2525 --Pop3:Port=2110 --Pop3s:Enabled=false --Imap:Enabled=false --Imaps:Enabled=false --Submission:Enabled=false --Smtps:Enabled=false --Log:Level=Warning --Admin:Enabled=false serve --allow-root >"$WORK/mw.log" 2>&1 &  # the script runs as root (Dovecot needs it)
MWPID=$!
DOVECOT_PID=""
trap 'kill -TERM $MWPID 2>/dev/null || true; [ -n "$DOVECOT_PID" ] && kill "$DOVECOT_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
wait_port 2525
wait_port 2110
$BENCH smtp --port 2525 --messages 1000 --size 2048 --concurrency 8 --rcpt small@bench.test >/dev/null
$BENCH smtp --port 2525 --messages 200 --size 102400 --concurrency 8 --rcpt big@bench.test >/dev/null
for _ in $(seq 600); do [ "$(count_mail small)" -ge 1000 ] && [ "$(count_mail big)" -ge 200 ] && break; sleep 0.1; done
echo "mailboxes: small $(count_mail small) messages, big $(count_mail big) messages"

# --- Dovecot on the same Maildirs --------------------------------------------------------------
dovecot_share_store
dovecot_passwd ARGON2ID
{ dovecot_conf pop3 ARGON2ID; cat <<EOF
pop3_uidl_format = %f
service pop3-login {
  inet_listener pop3 {
    port = 2111
  }
  inet_listener pop3s {
    port = 0
  }
}
EOF
} >"$WORK/dovecot.conf"
dovecot_start 2111

# --- the runs ----------------------------------------------------------------------------------
result() { sed -n 's/^RESULT //p'; }
TICKS=$(getconf CLK_TCK)
ticks() { awk '{print $14+$15+$16+$17}' "/proc/$1/stat"; }
# A server's CPU: Mailward's one process; Dovecot's master with its reaped children and live ones.
server_ticks() {
  if [ "$1" = mailward ]; then ticks $MWPID; return; fi
  local master total
  master=$(cat "$WORK/dovecot-run/master.pid")
  total=$(ticks "$master")
  for c in $(pgrep -P "$master"); do total=$(( total + $(awk '{print $14+$15}' "/proc/$c/stat" 2>/dev/null || echo 0) )); done
  echo "$total"
}
echo "| what | server | msgs/s | MB/s | logins/s | server CPU s |"
echo "|---|---|---:|---:|---:|---:|"
for box in small big; do
  for server in mailward dovecot; do
    port=2110; [ $server = dovecot ] && port=2111
    # Warm-up: Dovecot builds its index; .NET's tiered JIT finishes compiling the hot paths (a
    # profile of a 1-round warm-up showed 40% of Mailward's CPU in the JIT). Servers run for days.
    $BENCH pop3 retrieve --port $port --users "$box@bench.test" --rounds 5 >/dev/null
    before=$(server_ticks $server)
    eval "$($BENCH pop3 retrieve --port $port --users "$box@bench.test" --rounds "$ROUNDS" | result)"
    sleep 0.5; cpu=$(awk -v t=$(( $(server_ticks $server) - before )) -v hz="$TICKS" 'BEGIN { printf "%.2f", t / hz }')
    printf '| retrieve %s | %s | %.0f | %.1f | | %s |\n' "$box" "$server" "$rate" "$mbps" "$cpu"
    eval "r_${box}_${server}=$rate; m_${box}_${server}=$mbps"
  done
done
for server in mailward dovecot; do
  port=2110; [ $server = dovecot ] && port=2111
  before=$(server_ticks $server)
  eval "$($BENCH pop3 logins --port $port --users "$LOGIN_USERS" --concurrency 16 --seconds "$LOGIN_SECONDS" | result)"
  sleep 0.5; cpu=$(awk -v t=$(( $(server_ticks $server) - before )) -v hz="$TICKS" 'BEGIN { printf "%.2f", t / hz }')
  printf '| logins c=16 | %s | | | %.0f | %s |\n' "$server" "$rate" "$cpu"
  eval "l_${server}=$rate"
done
awk -v a="$r_small_mailward" -v b="$r_small_dovecot" -v c="$r_big_mailward" -v d="$r_big_dovecot" \
    -v e="$m_big_mailward" -v f="$m_big_dovecot" -v g="$l_mailward" -v h="$l_dovecot" 'BEGIN {
  printf "ratios mailward/dovecot: 2 KiB msgs/s %.2f, 100 KiB msgs/s %.2f (MB/s %.2f), logins/s %.2f\n", a / b, c / d, e / f, g / h }'
grep -c "Error\|Fatal" "$WORK/dovecot.log" >/dev/null && grep "Error\|Fatal" "$WORK/dovecot.log" | head -3 || true
