#!/usr/bin/env bash
# Times heapwalk's verbs on one dump the way a user runs them, against md5sum
# reading the same file: median of RUNS runs of /usr/bin/time, and peak RSS.
# Rows: summary and top without the analysis cache, their first run writing
# it, and later runs restoring it (plus paths and cycles warm). Give an older
# heapwalk as BEFORE to time its summary and top beside them.
#
#   bench/time-verbs.sh DUMP [BEFORE_HEAPWALK]      (RUNS=5 by default)
#
# Figures are only worth recording from an idle machine.
set -euo pipefail
dump=$1
before=${2:-}
here="$(cd "$(dirname "$0")/.." && pwd)"
heapwalk=${HEAPWALK:-$here/build/heapwalk}
runs=${RUNS:-5}
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT

row() { # LABEL FRESH_CACHE(0|1) COMMAND...
  local label=$1 fresh=$2
  shift 2
  local times=() peak=0
  for _ in $(seq "$runs"); do
    [ "$fresh" = 1 ] && rm -rf "$cache" && mkdir -p "$cache"
    /usr/bin/time -f "%e %M" -o "$cache.time" "$@" >/dev/null 2>&1
    read -r t kb <"$cache.time"
    times+=("$t")
    [ "$kb" -gt "$peak" ] && peak=$kb
  done
  rm -f "$cache.time"
  local median
  median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  printf "%-34s %6s s   peak RSS %6d MiB   [%s]\n" "$label" "$median" $((peak / 1024)) "${times[*]}"
}

cat "$dump" >/dev/null  # into the page cache, as md5sum will find it
row "md5sum" 0 md5sum "$dump"
if [ -n "$before" ]; then
  row "before: summary" 0 "$before" summary "$dump"
  row "before: top" 0 "$before" top "$dump"
fi
row "summary --no-cache" 0 "$heapwalk" summary --no-cache "$dump"
row "top --no-cache" 0 "$heapwalk" top --no-cache "$dump"
row "summary, first run (writes cache)" 1 "$heapwalk" summary --cache-dir "$cache" "$dump"
row "top, first run (writes cache)" 1 "$heapwalk" top --cache-dir "$cache" "$dump"
"$heapwalk" top --cache-dir "$cache" "$dump" >/dev/null
row "summary, cache warm" 0 "$heapwalk" summary --cache-dir "$cache" "$dump"
row "top, cache warm" 0 "$heapwalk" top --cache-dir "$cache" "$dump"
row "paths, cache warm" 0 "$heapwalk" paths --cache-dir "$cache" "$dump"
row "cycles, cache warm" 0 "$heapwalk" cycles --cache-dir "$cache" "$dump"
echo "cache: $(du -sb "$cache" | cut -f1) bytes; RSS budget (file + 48 B/object + 8 B/edge): see heapwalk_bench"
