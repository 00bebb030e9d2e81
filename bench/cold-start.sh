#!/usr/bin/env bash
# Cold start against warm: the first N messages a freshly started `mailward serve` accepts, then
# the next N in the same process, for each build of the program:
#   jit    the framework-dependent build (dotnet build -c Release): every method JIT-compiled
#   r2r    the package (packaging/publish.sh linux-x64): single file, ReadyToRun
#   r2r-off the same file with DOTNET_ReadyToRun=0 (the precompiled code ignored: single file alone)
# Also the time from the start of the process to its SMTP port accepting.
#   bench/cold-start.sh [messages] [size] [concurrency]      # default: 10000 2048 1
# Uses packaging/out/linux-x64/mailward when present (run packaging/publish.sh linux-x64 first, it
# takes minutes), else publishes it. Port 2525 on 127.0.0.1; runs the servers with --allow-root when root.
set -euo pipefail
cd "$(dirname "$0")/.."
MESSAGES=${1:-10000}
SIZE=${2:-2048}
CONCURRENCY=${3:-1}
WORK=$(mktemp -d /tmp/mailward-cold.XXXXXX)
PORT=2525
trap 'kill -TERM $MWPID 2>/dev/null || true; rm -rf "$WORK"' EXIT
MWPID=""

dotnet build -c Release src/Mailward >/dev/null
dotnet build -c Release bench/Mailward.Bench >/dev/null
[ -x packaging/out/linux-x64/mailward ] || bash packaging/publish.sh linux-x64 >/dev/null
LOAD="dotnet bench/Mailward.Bench/bin/Release/net10.0/Mailward.Bench.dll smtp --port $PORT --rcpt u@cold.bench.test --size $SIZE --concurrency $CONCURRENCY --messages $MESSAGES"
ROOT=""; [ "$(id -u)" = 0 ] && ROOT=--allow-root
now_ms() { date +%s%3N; }
wait_port() { for _ in $(seq 600); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return; sleep 0.01; done; echo "port $1 did not open" >&2; exit 1; }
rate() { sed -n 's/^RESULT .* rate=\([0-9.]*\).*/\1/p'; }

printf '%-8s %12s %14s %14s %8s\n' build "listen ms" "cold msgs/s" "warm msgs/s" warm/cold
for build in jit r2r r2r-off; do
  case $build in
    jit) MW=src/Mailward/bin/Release/net10.0/mailward; ENV=() ;;
    r2r) MW=packaging/out/linux-x64/mailward; ENV=() ;;
    r2r-off) MW=packaging/out/linux-x64/mailward; ENV=(DOTNET_ReadyToRun=0) ;;
  esac
  data="$WORK/$build"
  "$MW" --data "$data" vadddomain cold.bench.test pw >/dev/null
  "$MW" --data "$data" vadduser -e DmIMm9e5Hc8ic u@cold.bench.test >/dev/null
  # Everything cached that can be (the program file, the data folder), so only the process is cold.
  cat "$MW" >/dev/null
  start=$(now_ms)
  env "${ENV[@]}" "$MW" --data "$data" --Listen:Address=127.0.0.1 --Smtp:Port=$PORT --Pop3:Enabled=false --Pop3s:Enabled=false --Imap:Enabled=false \
    --Imaps:Enabled=false --Submission:Enabled=false --Smtps:Enabled=false --Admin:Enabled=false --Delivery:Enabled=false --Log:Level=Warning \
    serve $ROOT >"$WORK/$build.log" 2>&1 &
  MWPID=$!
  wait_port $PORT
  listen=$(( $(now_ms) - start ))
  cold=$($LOAD | tee -a "$WORK/load.log" | rate)
  warm=$($LOAD | tee -a "$WORK/load.log" | rate)
  kill -TERM $MWPID; wait $MWPID || true; MWPID=""
  printf '%-8s %12s %14s %14s %8s\n' $build "$listen" "$cold" "$warm" "$(awk -v c="$cold" -v w="$warm" 'BEGIN { printf "%.2f", w / c }')"
done
