#!/usr/bin/env bash
# The accounts benchmark on SQLite and on PostgreSQL side by side (issue 14 item 7): 10,000 domains,
# checkpoints at 1,000, 100,000 and 1,000,000 users, bulk-filled (one prepared transaction on SQLite,
# COPY on PostgreSQL) with 500 users through the normal add path at each checkpoint (its adds/s);
# the first 100 domains through the normal add, the rest as rows.
#   bench/accounts.sh [users] [domains] [lookups]      # default: 1000000 10000 50000
#   CHECKPOINTS=1000,100000,1000000 ADD_SAMPLE=500 PG_ONLY=1 (PostgreSQL alone) bench/accounts.sh
# PostgreSQL is a throwaway cluster of this script's own (bench/throwaway-pg.sh), stopped and
# removed on exit, also after a failure; a PostgreSQL the machine already runs is never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${1:-1000000}
DOMAINS=${2:-10000}
LOOKUPS=${3:-50000}
CHECKPOINTS=${CHECKPOINTS:-1000,100000,1000000}
WORK=$(mktemp -d /tmp/mailward-bench-accounts.XXXXXX)
. bench/throwaway-pg.sh
trap 'pg_stop; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
pg_start "$WORK/pg"

dotnet build -c Release bench/Mailward.Bench >/dev/null
dotnet bench/Mailward.Bench/bin/Release/net10.0/Mailward.Bench.dll accounts --users "$USERS" --domains "$DOMAINS" --lookups "$LOOKUPS" \
  --checkpoints "$CHECKPOINTS" --bulk --add-sample "${ADD_SAMPLE:-500}" --commands 0 --data "$WORK/data" \
  --postgres "$PG_CONN" ${PG_ONLY:+--postgres-only}
