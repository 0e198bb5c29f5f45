#!/usr/bin/env bash
# Regenerate every heapwalk sample: build each program under go/ with the Go
# on PATH, run it with an empty environment in a temporary folder, and store
# its dump (zstd -19) and truth file in go/<name>/.
#
#   samples/make.sh [NAME...]        default: every sample
#
# FORCE=1           accept a Go that is not go1.19.x (the checked-in samples
#                   and their READMEs describe Go 1.19 dumps)
# KEEP_BINARIES=1   leave the built executables in samples/build/ (never
#                   commit them); useful to name globals via the ELF symbols
# Needs go, zstd. Standard library only: GOPROXY=off, no network.
#
# The dump holds the process's memory, so each program runs under
# `env -i GOMAXPROCS=2` (no environment) in a temporary folder with a
# relative output path, built with -trimpath and CGO_ENABLED=0: no machine
# paths or variables end up in it.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ALL="ctxleak blockedgoroutines growingmap garbage finalizers"
PROGRAMS="${*:-$ALL}"
LIMIT=$((300 * 1024))

ver=$(go env GOVERSION)
case "$ver" in
  go1.19|go1.19.*) ;;
  *) if [ "${FORCE:-}" != 1 ]; then
       echo "make.sh: go on PATH is $ver, not go1.19.x (FORCE=1 to use it anyway)" >&2; exit 1
     fi ;;
esac
command -v zstd >/dev/null || { echo "make.sh: zstd not found" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export GOCACHE="${GOCACHE:-$WORK/gocache}" GOPROXY=off GOFLAGS= CGO_ENABLED=0 GOTOOLCHAIN=local GOEXPERIMENT=
BIN="$WORK/bin"
if [ "${KEEP_BINARIES:-}" = 1 ]; then BIN="$HERE/build"; fi
mkdir -p "$BIN"

echo "== $(go version)"
# -lostcancel=false: ctxleak drops cancel funcs on purpose (that is the leak)
(cd "$HERE/go" && go vet -lostcancel=false ./... &&
  for p in $PROGRAMS; do go build -trimpath -o "$BIN/$p" "./$p"; done)

for p in $PROGRAMS; do
  out="$HERE/go/$p" run="$WORK/run-$p"
  mkdir -p "$run"
  (cd "$run" && env -i GOMAXPROCS=2 "$BIN/$p" "$p")
  head=$(head -c 16 "$run/$p.heapdump")
  if [ "$head" != "go1.7 heap dump" ]; then echo "make.sh: $p: bad dump header" >&2; exit 1; fi
  rm -f "$out/$p.heapdump.zst" "$out/$p.truth.json"
  zstd -q -19 "$run/$p.heapdump" -o "$out/$p.heapdump.zst"
  cp "$run/$p.truth.json" "$out/$p.truth.json"
  rm -rf "$run"
  size=$(stat -c %s "$out/$p.heapdump.zst")
  echo "  $p: $(stat -c %s "$out/$p.truth.json") B truth, $size B dump.zst"
  if [ "$size" -gt "$LIMIT" ]; then echo "make.sh: warning: $p dump.zst is over 300 KB" >&2; fi
done
du -sh "$HERE"
