#!/usr/bin/env bash
# The door's added cost per message (issue 16): SPF at MAIL, DKIM verification and DMARC at the end
# of DATA, with warm DNS caches, as Mailward's CPU per accepted message and its acceptance rate with
# the checks on and with them off, in one run. The client is a stranger (127.0.0.9), so every check
# applies; its messages are signed by dkimpy (Debian's python3-dkim) with a 2048-bit RSA key, and
# the bench's DNS server (the tests' DnsTestServer) answers SPF, the key and p=reject DMARC.
#   bench/door-cost.sh [messages] [concurrency]
# Prints msgs/s and CPU microseconds per message for each, the added cost and the rate ratio, and
# checks that every message of the "on" run carries dkim=pass and dmarc=pass. Port 2527.
# Then the same for Postfix (Debian's) with the OpenDKIM and OpenDMARC milters (OpenDMARC checking
# SPF itself with libspf2), when this machine runs no Postfix and its queue is empty (a benchmark
# never stops a service it did not start): port 2528, milters on 8895 and 8897, mail held (HOLD) as
# Mailward's is queued undelivered. The milters ask the system's resolver only, so they run in a
# private mount namespace (unshare -m) whose resolv.conf names the bench's DNS server, which
# listens on port 53 of 127.0.0.60 for Mailward too. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
MESSAGES=${1:-20000}
CONCURRENCY=${2:-16}
WORK=$(mktemp -d /tmp/mailward-door.XXXXXX)
TICKS=$(getconf CLK_TCK)
PY=/usr/bin/python3   # Debian's, where python3-dkim is

$PY -c 'import dkim' 2>/dev/null || { echo "needs python3-dkim (apt-get install python3-dkim)" >&2; exit 1; }
[ -r /usr/share/publicsuffix/public_suffix_list.dat ] || { echo "needs publicsuffix (apt-get install publicsuffix)" >&2; exit 1; }
dotnet build -c Release src/Mailward >/dev/null
dotnet build -c Release bench/Mailward.Bench >/dev/null
BENCH="dotnet bench/Mailward.Bench/bin/Release/net10.0/Mailward.Bench.dll"
MW=src/Mailward/bin/Release/net10.0/mailward
DNSPID=""; MWPID=""; MILTERS=""
PF_OURS=0   # 1 once this script owns Postfix (none ran, its queue was empty, its configuration saved)
trap 'kill -TERM $MWPID $DNSPID $MILTERS 2>/dev/null || true
      if [ "$PF_OURS" = 1 ]; then postfix stop >/dev/null 2>&1 || true; postsuper -d ALL >/dev/null 2>&1 || true
        for f in main.cf master.cf; do cp -p "$WORK/$f.orig" "/etc/postfix/$f"; done; fi
      [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT

# The sender's key and a signed message of about 2 KB, as the sender's MTA would send it.
openssl genrsa -traditional -out "$WORK/key.pem" 2048 2>/dev/null
PUB=$(openssl rsa -in "$WORK/key.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
{
  printf 'From: Ann <ann@sender.bench.test>\r\nTo: joe@bench.test\r\nSubject: door cost\r\n'
  printf 'Date: Sun, 29 Nov 2026 12:00:00 +0000\r\nMessage-ID: <door@sender.bench.test>\r\n\r\n'
  for _ in $(seq 26); do printf '%s\r\n' "$(printf 'x%.0s' $(seq 74))"; done
} >"$WORK/plain.eml"
$PY - "$WORK" <<'PYEOF'
import sys, dkim
work = sys.argv[1]
message = open(work + "/plain.eml", "rb").read()
key = open(work + "/key.pem", "rb").read()
signature = dkim.sign(message, b"s1", b"sender.bench.test", key, include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
open(work + "/signed.eml", "wb").write(signature + message)
PYEOF

$BENCH dns --address 127.0.0.60 --port 53 --seconds 3600 \
  --record sender.bench.test TXT "v=spf1 ip4:127.0.0.9 -all" \
  --record s1._domainkey.sender.bench.test TXT "v=DKIM1; k=rsa; p=$PUB" \
  --record _dmarc.sender.bench.test TXT "v=DMARC1; p=reject" >"$WORK/dns.out" &
DNSPID=$!
for _ in $(seq 100); do grep -q ENDPOINT "$WORK/dns.out" 2>/dev/null && break; sleep 0.1; done
DNS=$(awk '/ENDPOINT/{print $2}' "$WORK/dns.out")

ticks() { awk '{print $14+$15+$16+$17}' "/proc/$1/stat"; }
wait_port() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return; sleep 0.1; done; echo "port $1 did not open" >&2; exit 1; }

# run NAME CHECK-SETTINGS...: one server on a fresh data folder, a warm-up, then the measured load.
run() {
  local name=$1; shift
  local data="$WORK/$name"
  $MW --data "$data" vadddomain bench.test pw >/dev/null
  $MW --data "$data" vadduser -e DmIMm9e5Hc8ic joe@bench.test >/dev/null
  $MW --data "$data" --Listen:Address=127.0.0.1 --Smtp:Port=2527 --Pop3:Enabled=false --Pop3s:Enabled=false --Imap:Enabled=false --Imaps:Enabled=false \
    --Submission:Enabled=false --Smtps:Enabled=false --Admin:Enabled=false --Delivery:Enabled=false --Log:Level=Warning \
    --Smtp:GreetDelayMilliseconds=0 --Smtp:MaxConnectionsPerClient=500 --Smtp:MaxConnectionsPerMinutePerClient=0 \
    --Smtp:MaxMessagesPerMinutePerClient=0 --Smtp:MaxRecipientsPerMinutePerClient=0 \
    --Dns:Servers="$DNS" "$@" serve --allow-root >"$WORK/$name.log" 2>&1 &
  MWPID=$!
  wait_port 2527
  # Warm-up: JIT and the DNS caches (the key, SPF and DMARC records stay cached an hour).
  $BENCH smtp --port 2527 --bind 127.0.0.9 --messages 500 --concurrency "$CONCURRENCY" --rcpt joe@bench.test --from ann@sender.bench.test \
    --message "$WORK/signed.eml" >/dev/null
  local before after
  before=$(ticks $MWPID)
  $BENCH smtp --port 2527 --bind 127.0.0.9 --messages "$MESSAGES" --concurrency "$CONCURRENCY" --rcpt joe@bench.test --from ann@sender.bench.test \
    --message "$WORK/signed.eml" --seconds 600 >"$WORK/$name.out"
  after=$(ticks $MWPID)
  local rate accepted
  rate=$(sed -n 's/.*RESULT .* rate=\([0-9.]*\).*/\1/p' "$WORK/$name.out")
  accepted=$(sed -n 's/.*RESULT accepted=\([0-9]*\).*/\1/p' "$WORK/$name.out")
  local us=$(( (after - before) * 1000000 / TICKS / accepted ))
  # Each accepted message's Authentication-Results sits in the queue log (docs/queue-format.md, top fields).
  local passed
  passed=$(cat "$data"/queue/log/*.seg | grep -a -c "dmarc=pass (p=reject dis=none) header.from=sender.bench.test" || true)
  kill -TERM $MWPID; wait $MWPID 2>/dev/null || true; MWPID=""
  echo "$name $rate $us $accepted $passed"
}

OFF=$(run off --Spf:Mode=off --Dkim:Verify=false --Dmarc:Mode=off)
ON=$(run on --Spf:Mode=mark --Dkim:Verify=true --Dmarc:Mode=enforce)
read -r _ off_rate off_us off_acc _ <<<"$OFF"
read -r _ on_rate on_us on_acc on_pass <<<"$ON"
echo "checks off: $off_rate msgs/s, $off_us us CPU per message ($off_acc accepted)"
echo "checks on:  $on_rate msgs/s, $on_us us CPU per message ($on_acc accepted, $on_pass of them with dmarc=pass in Authentication-Results, warm-up included)"
echo "added by SPF + DKIM verify + DMARC: $(( on_us - off_us )) us CPU per message; rate on/off: $(awk -v a="$on_rate" -v b="$off_rate" 'BEGIN{printf "%.2f", a/b}')"

# --- Postfix + OpenDKIM + OpenDMARC on the same messages ------------------------------------------
if ! command -v postfix >/dev/null; then echo "postfix: not installed (apt-get install postfix); its side not measured"; exit 0; fi
if postfix status >/dev/null 2>&1; then
  echo "postfix: a Postfix runs on this machine; this benchmark will not stop it, so its side is not measured"; exit 0
fi
if [ -n "$(find /var/spool/postfix/maildrop /var/spool/postfix/incoming /var/spool/postfix/active /var/spool/postfix/deferred /var/spool/postfix/hold -type f 2>/dev/null | head -n 1)" ]; then
  echo "postfix: its queue holds mail; this benchmark will not mix with it or delete it, so its side is not measured"; exit 0
fi
if ! command -v opendkim >/dev/null || ! command -v opendmarc >/dev/null; then
  # Installed without starting their services (policy-rc.d): the script runs its own copies.
  made_policy=""
  [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq opendkim opendmarc >/dev/null
  [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
fi
for f in main.cf master.cf; do cp -p "/etc/postfix/$f" "$WORK/$f.orig"; done
PF_OURS=1
chmod 755 "$WORK"
echo "nameserver 127.0.0.60" >"$WORK/resolv.conf"
echo "192.0.2.1" >"$WORK/ignore-hosts"   # nobody: 127.0.0.9 must be checked, as Mailward checks it
cat >"$WORK/opendkim.conf" <<CONF
Mode v
Socket inet:8895@127.0.0.1
Syslog no
UserID opendkim
PidFile $WORK/opendkim.pid
AuthservID mx.bench.test
InternalHosts 192.0.2.1
# The key from a file, as a warm cache would give it: OpenDKIM's libunbound resolves from the
# root and never asks a 127/8 server unless configured, and its config parser fails here.
TestPublicKeys $WORK/keys
CONF
echo "s1._domainkey.sender.bench.test v=DKIM1; k=rsa; p=$PUB" >"$WORK/keys"
cat >"$WORK/opendmarc.conf" <<CONF
Socket inet:8897@127.0.0.1
Syslog false
UserID opendmarc
PidFile $WORK/opendmarc.pid
AuthservID mx.bench.test
TrustedAuthservIDs mx.bench.test
IgnoreHosts $WORK/ignore-hosts
PublicSuffixList /usr/share/publicsuffix/public_suffix_list.dat
RejectFailures true
SPFSelfValidate true
SPFIgnoreResults true
CONF
# unshare, sh and the milter are one process in turn (each execs the next), so $! is the milter.
PRIVATE_RESOLVER='mount --bind "$0" /etc/resolv.conf && exec "$@"'
unshare -m sh -c "$PRIVATE_RESOLVER" "$WORK/resolv.conf" opendkim -f -x "$WORK/opendkim.conf" >"$WORK/opendkim.log" 2>&1 &
DKIMPID=$!
unshare -m sh -c "$PRIVATE_RESOLVER" "$WORK/resolv.conf" opendmarc -f -c "$WORK/opendmarc.conf" >"$WORK/opendmarc.log" 2>&1 &
DMARCPID=$!
MILTERS="$DKIMPID $DMARCPID"
wait_port 8895
wait_port 8897

postconf -e "myhostname=mx.bench.test" "mydestination=" "inet_interfaces=127.0.0.1" "inet_protocols=ipv4" \
  "virtual_mailbox_domains=bench.test" "virtual_mailbox_base=$WORK" "virtual_mailbox_maps=static:pf/" \
  "virtual_uid_maps=static:5000" "virtual_gid_maps=static:5000" "mynetworks=127.0.0.1/32" \
  "smtpd_end_of_data_restrictions=check_client_access static:HOLD" \
  "default_process_limit=200" "smtpd_client_connection_count_limit=0" "smtpd_client_message_rate_limit=0" \
  "milter_default_action=tempfail" "smtpd_milters=" "non_smtpd_milters="
postconf -M "2528/inet=2528 inet n - n - - smtpd"
postfix start >/dev/null 2>&1
wait_port 2528

postfix_master() { tr -d ' ' </var/spool/postfix/pid/master.pid; }
# Postfix's master with its reaped children and every live child, plus the milters when on.
postfix_ticks() {
  local master total
  master=$(postfix_master)
  total=$(ticks "$master")
  for c in $(pgrep -P "$master"); do total=$(( total + $(awk '{print $14+$15}' "/proc/$c/stat" 2>/dev/null || echo 0) )); done
  for m in "$@"; do total=$(( total + $(ticks "$m") )); done
  echo "$total"
}
# pf_run NAME MILTERS...: warm-up, then the measured load, as for Mailward.
pf_run() {
  local name=$1; shift
  if [ $# -gt 0 ]; then postconf -e "smtpd_milters=inet:127.0.0.1:8895, inet:127.0.0.1:8897"; else postconf -e "smtpd_milters="; fi
  postfix reload >/dev/null 2>&1; sleep 2
  postsuper -d ALL hold >/dev/null 2>&1 || true
  $BENCH smtp --port 2528 --bind 127.0.0.9 --messages 500 --concurrency "$CONCURRENCY" --rcpt joe@bench.test --from ann@sender.bench.test \
    --message "$WORK/signed.eml" >/dev/null
  local before after
  before=$(postfix_ticks "$@")
  $BENCH smtp --port 2528 --bind 127.0.0.9 --messages "$MESSAGES" --concurrency "$CONCURRENCY" --rcpt joe@bench.test --from ann@sender.bench.test \
    --message "$WORK/signed.eml" --seconds 600 >"$WORK/pf-$name.out"
  sleep 1
  after=$(postfix_ticks "$@")
  local rate accepted
  rate=$(sed -n 's/.*RESULT .* rate=\([0-9.]*\).*/\1/p' "$WORK/pf-$name.out")
  accepted=$(sed -n 's/.*RESULT accepted=\([0-9]*\).*/\1/p' "$WORK/pf-$name.out")
  local us=$(( (after - before) * 1000000 / TICKS / accepted ))
  # One held message shows what the milters found.
  local id verdict=""
  id=$(find /var/spool/postfix/hold -type f | head -n 1 | xargs -r basename)
  [ -z "$id" ] || verdict=$(postcat -h -q "$id" 2>/dev/null | grep -a -E -A3 "^Authentication-Results" | tr -s ' \t\n' ' ' | cut -c1-400)
  echo "$name $rate $us $accepted $verdict"
}
PF_OFF=$(pf_run off)
PF_ON=$(pf_run on "$DKIMPID" "$DMARCPID")
read -r _ pf_off_rate pf_off_us pf_off_acc _ <<<"$PF_OFF"
read -r _ pf_on_rate pf_on_us pf_on_acc pf_verdict <<<"$PF_ON"
echo "postfix, milters off: $pf_off_rate msgs/s, $pf_off_us us CPU per message ($pf_off_acc accepted)"
echo "postfix + OpenDKIM + OpenDMARC: $pf_on_rate msgs/s, $pf_on_us us CPU per message ($pf_on_acc accepted; a held message says: $pf_verdict)"
echo "added by the milters: $(( pf_on_us - pf_off_us )) us CPU per message; rate on/off: $(awk -v a="$pf_on_rate" -v b="$pf_off_rate" 'BEGIN{printf "%.2f", a/b}')"
echo "Mailward's advantage with the checks on: rate $(awk -v a="$on_rate" -v b="$pf_on_rate" 'BEGIN{printf "%.2f", a/b}')x, CPU per message $(awk -v a="$on_us" -v b="$pf_on_us" 'BEGIN{printf "%.2f", b/a}')x, added CPU $(awk -v a="$(( on_us - off_us ))" -v b="$(( pf_on_us - pf_off_us ))" 'BEGIN{printf "%.2f", (a > 0 ? b/a : 0)}')x"
