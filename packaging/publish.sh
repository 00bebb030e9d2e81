#!/usr/bin/env bash
# Publishes the package: a self-contained, single-file, ReadyToRun `mailward` for each runtime
# (default: linux-x64 and linux-arm64) into packaging/out/<rid>/, with SQLite's native library
# beside it, and a tarball of both files per runtime. Usage: packaging/publish.sh [RID ...]
# The project's publish settings are in src/Mailward/Mailward.csproj (the RuntimeIdentifier group).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
rids=("$@")
[ ${#rids[@]} -gt 0 ] || rids=(linux-x64 linux-arm64)
version=$(git describe --always --dirty 2>/dev/null || echo unknown)
for rid in "${rids[@]}"; do
  out=packaging/out/$rid
  rm -rf "$out"
  start=$(date +%s)
  # DebugType=embedded: stack traces keep their line numbers without .pdb files beside the program.
  dotnet publish src/Mailward -c Release -r "$rid" -o "$out" -p:DebugType=embedded --nologo -v quiet
  echo "$rid: published in $(( $(date +%s) - start )) s"
  tar -C "$out" -czf "packaging/out/mailward-$version-$rid.tar.gz" mailward libe_sqlite3.so
  ls -l "$out"
done
