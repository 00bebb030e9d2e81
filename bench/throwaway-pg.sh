# Sourced by the benchmarks that need PostgreSQL: a throwaway cluster of the script's own (Debian's
# initdb and pg_ctl) in "$1" (a folder of the caller's temp folder), reached only through a Unix
# socket there, run as the postgres user when the script is root. pg_start sets PG_CONN (database
# "bench") and PG_OURS=1; pg_stop stops only that cluster (call it from the caller's EXIT trap).
# A PostgreSQL the machine already runs is never touched.
PG_OURS=0
pg_start() {
  PGROOT=$1
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -x "$PGBIN/initdb" ] || { echo "needs PostgreSQL (apt-get install postgresql)" >&2; return 1; }
  PG_AS=()
  if [ "$(id -u)" = 0 ]; then PG_AS=(runuser -u postgres --); fi
  mkdir -p "$PGROOT/s"
  chmod 755 "$(dirname "$PGROOT")"
  if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$PGROOT"; fi
  "${PG_AS[@]}" "$PGBIN/initdb" -D "$PGROOT/data" -A trust -U mailward -E UTF8 --locale=C >/dev/null
  # Defaults but for the socket (no TCP) and a shared_buffers that holds a 1M-user table's indexes,
  # as an operator sizes it; fsync stays on, so a commit costs what it costs on SQLite.
  "${PG_AS[@]}" "$PGBIN/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/log" -w \
    -o "-c listen_addresses='' -c unix_socket_directories='$PGROOT/s' -c shared_buffers=512MB -c max_connections=300" start >/dev/null
  PG_OURS=1
  "${PG_AS[@]}" "$PGBIN/psql" -h "$PGROOT/s" -U mailward -d postgres -qc "CREATE DATABASE bench" >/dev/null
  PG_CONN="Host=$PGROOT/s;Username=mailward;Database=bench;Timeout=30;Command Timeout=3600"
}
pg_stop() {
  if [ "$PG_OURS" = 1 ]; then "${PG_AS[@]}" "$PGBIN/pg_ctl" -D "$PGROOT/data" -m immediate -w stop >/dev/null 2>&1 || true; PG_OURS=0; fi
}
