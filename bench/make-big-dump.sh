#!/usr/bin/env bash
# Write a big, real Go heap dump for benchmarking heapwalk.
#
#   bench/make-big-dump.sh [-objects N] [SCRATCH_DIR]
#
# -objects N    heap objects to allocate (default 3500000: a dump of about
#               200 MB; 20000000 gives about 1.1 GB and needs about 1.5 GB
#               of memory)
# SCRATCH_DIR   where the dump goes (default /tmp); it needs room for the dump
#
# Writes SCRATCH_DIR/bigheap-N.heapdump and SCRATCH_DIR/bigheap-N.heapdump.json
# (counts per structure and MemStats read just before the dump) and prints
# the dump's path. Builds bench/bigheap with the Go on PATH (-trimpath,
# CGO_ENABLED=0) and runs it with an empty environment and GOMAXPROCS=2.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
N=3500000
while [ $# -gt 0 ]; do
  case "$1" in
    -objects|--objects) N="$2"; shift 2 ;;
    -objects=*|--objects=*) N="${1#*=}"; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    -*) echo "make-big-dump.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
SCRATCH="${1:-/tmp}"
case "$N" in ''|*[!0-9]*) echo "make-big-dump.sh: -objects wants a number, got '$N'" >&2; exit 2 ;; esac
mkdir -p "$SCRATCH"
SCRATCH="$(cd "$SCRATCH" && pwd)"

WORK="$(mktemp -d "$SCRATCH/bigheap-build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
export GOCACHE="${GOCACHE:-$WORK/gocache}" GOPROXY=off GOFLAGS= CGO_ENABLED=0 GOTOOLCHAIN=local
(cd "$HERE/bigheap" && go build -trimpath -o "$WORK/bigheap" .)

OUT="bigheap-$N.heapdump"
rm -f "$SCRATCH/$OUT" "$SCRATCH/$OUT.json"
(cd "$SCRATCH" && env -i GOMAXPROCS=2 "$WORK/bigheap" -objects "$N" "$OUT")
echo "$SCRATCH/$OUT"
