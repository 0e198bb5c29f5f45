#!/usr/bin/env bash
# Regenerate every heapwalk sample: build each program under go/ with the Go
# on PATH, run it with an empty environment in a temporary folder, and store
# its dump (zstd -19) and truth file in go/<name>/.
#
#   samples/make.sh [NAME...]        default: every sample
#
# sessionleak is a Go TEST (the README's CI example): it is built with
# `go test -c` and run twice, a short and a long load, for two dumps
# (sessionleak.short.*, sessionleak.long.*) that `heapwalk diff` compares.
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
ALL="ctxleak blockedgoroutines growingmap garbage finalizers sessionleak"
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
  for p in $PROGRAMS; do
    if [ "$p" = sessionleak ]; then go test -c -trimpath -o "$BIN/$p" "./$p"
    else go build -trimpath -o "$BIN/$p" "./$p"; fi
  done)

# store DIR NAME: move RUN/NAME.heapdump (zstd) and its truth file into go/DIR/.
store() {
  local p="$1" name="$2" out="$HERE/go/$1" run="$WORK/run-$1"
  head=$(head -c 16 "$run/$name.heapdump")
  if [ "$head" != "go1.7 heap dump" ]; then echo "make.sh: $name: bad dump header" >&2; exit 1; fi
  rm -f "$out/$name.heapdump.zst" "$out/$name.truth.json"
  zstd -q -19 "$run/$name.heapdump" -o "$out/$name.heapdump.zst"
  cp "$run/$name.truth.json" "$out/$name.truth.json"
  size=$(stat -c %s "$out/$name.heapdump.zst")
  echo "  $name: $(stat -c %s "$out/$name.truth.json") B truth, $size B dump.zst"
  if [ "$size" -gt "$LIMIT" ]; then echo "make.sh: warning: $name dump.zst is over 300 KB" >&2; fi
}

for p in $PROGRAMS; do
  run="$WORK/run-$p"
  mkdir -p "$run"
  if [ "$p" = sessionleak ]; then
    # The CI example: the load test writes the dump at its end.
    (cd "$run" && env -i GOMAXPROCS=2 "$BIN/$p" -test.run TestLoad -sessions 150 -dump "$p.short")
    (cd "$run" && env -i GOMAXPROCS=2 "$BIN/$p" -test.run TestLoad -sessions 600 -dump "$p.long")
    store "$p" "$p.short"
    store "$p" "$p.long"
  else
    (cd "$run" && env -i GOMAXPROCS=2 "$BIN/$p" "$p")
    store "$p" "$p"
  fi
  rm -rf "$run"
done
du -sh "$HERE"
