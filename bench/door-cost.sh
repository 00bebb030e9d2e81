#!/usr/bin/env bash
# The door's added cost per message (issue 16): SPF at MAIL, DKIM verification and DMARC at the end
# of DATA, with warm DNS caches, as Mailward's CPU per accepted message and its acceptance rate with
# the checks on and with them off, in one run. The client is a stranger (127.0.0.9), so every check
# applies; its messages are signed by dkimpy (Debian's python3-dkim) with a 2048-bit RSA key, and
# the bench's DNS server (the tests' DnsTestServer) answers SPF, the key and p=reject DMARC.
#   bench/door-cost.sh [messages] [concurrency]
# Prints msgs/s and CPU microseconds per message for each, the added cost and the rate ratio, and
# checks that every message of the "on" run carries dkim=pass and dmarc=pass. Port 2527.
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
DNSPID=""; MWPID=""
trap 'kill -TERM $MWPID $DNSPID 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT

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

$BENCH dns --address 127.0.0.60 --seconds 3600 \
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
