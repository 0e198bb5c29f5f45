#!/usr/bin/env bash
# Write a big, real Go heap dump for benchmarking heapwalk.
#
#   bench/make-big-dump.sh [-objects N] [-peers P] [SCRATCH_DIR]
#
# -objects N    heap objects to allocate (default 3500000: a dump of about
#               200 MB; 20000000 gives about 1.1 GB and needs about 1.5 GB
#               of memory; 50000000 gives 2.9 GB and needs about 2 GB)
# -peers P      also P objects forming a random graph with four random
#               pointers each (default 0): the cache-hostile worst case for
#               the graph passes; -objects 1000000 -peers 4000000 gives about
#               5M objects and 18M edges
# SCRATCH_DIR   where the dump goes (default /tmp); it needs room for the dump
#
# Writes SCRATCH_DIR/bigheap-N.heapdump and SCRATCH_DIR/bigheap-N.heapdump.json
# (counts per structure and MemStats read just before the dump) and prints
# the dump's path. Builds bench/bigheap with the Go on PATH (-trimpath,
# CGO_ENABLED=0) and runs it with an empty environment and GOMAXPROCS=2.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
N=3500000
P=0
while [ $# -gt 0 ]; do
  case "$1" in
    -objects|--objects) N="$2"; shift 2 ;;
    -objects=*|--objects=*) N="${1#*=}"; shift ;;
    -peers|--peers) P="$2"; shift 2 ;;
    -peers=*|--peers=*) P="${1#*=}"; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    -*) echo "make-big-dump.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
SCRATCH="${1:-/tmp}"
case "$N" in ''|*[!0-9]*) echo "make-big-dump.sh: -objects wants a number, got '$N'" >&2; exit 2 ;; esac
case "$P" in ''|*[!0-9]*) echo "make-big-dump.sh: -peers wants a number, got '$P'" >&2; exit 2 ;; esac
mkdir -p "$SCRATCH"
SCRATCH="$(cd "$SCRATCH" && pwd)"

WORK="$(mktemp -d "$SCRATCH/bigheap-build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
export GOCACHE="${GOCACHE:-$WORK/gocache}" GOPROXY=off GOFLAGS= CGO_ENABLED=0 GOTOOLCHAIN=local
(cd "$HERE/bigheap" && go build -trimpath -o "$WORK/bigheap" .)

OUT="bigheap-$N.heapdump"
[ "$P" = 0 ] || OUT="bigheap-$N-peers-$P.heapdump"
rm -f "$SCRATCH/$OUT" "$SCRATCH/$OUT.json"
(cd "$SCRATCH" && env -i GOMAXPROCS=2 "$WORK/bigheap" -objects "$N" -peers "$P" "$OUT")
echo "$SCRATCH/$OUT"
