#!/usr/bin/env bash
# Builds the libFuzzer targets (clang++-14, ASan + UBSan) in build-fuzz/ and
# runs each for SECONDS (default 60), niced, starting from the committed seeds
# in fuzz/corpus/TARGET plus what earlier runs found (build-fuzz/corpus/TARGET).
# Exits non-zero on the first crash, leak, sanitizer report, timeout or OOM;
# libFuzzer writes the input to build-fuzz/artifacts/. Prints each target's
# executions ("#N DONE" line).
#
# usage: fuzz/run.sh [SECONDS] [TARGET...]    e.g. fuzz/run.sh 60
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
build=${HEAPWALK_FUZZ_BUILD:-build-fuzz}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
  -DHEAPWALK_FUZZ=ON -DHEAPWALK_TESTS=OFF -DCMAKE_CXX_FLAGS=-Werror >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/fuzz_*.cc; do
    t=$(basename "$f" .cc)
    # fuzz_rules exists only once the rules parser does (fuzz/CMakeLists.txt).
    if [ "$t" = fuzz_rules ] && [ ! -f include/heapwalk/rules/rules.h ]; then continue; fi
    targets+=("$t")
  done
fi
cmake --build "$build" -j2 --target "${targets[@]}"
mkdir -p "$build/artifacts"
for t in "${targets[@]}"; do
  name=${t#fuzz_}
  corpus="$build/corpus/$name"
  mkdir -p "$corpus"
  echo "== $t: ${seconds}s"
  # -max_len: seeds are small dumps of ~10-20 KB; -rss_limit_mb and -timeout
  # make memory blow-ups and hangs findings, not stalls; detect_leaks stays on.
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    nice -n 19 "$build/fuzz/$t" -max_total_time="$seconds" -max_len=32768 -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$name-" "$corpus" "fuzz/corpus/$name" 2>"$build/$t.log" ||
    {
      tail -60 "$build/$t.log" >&2
      echo "fuzz/run.sh: $t failed (input in $build/artifacts/)" >&2
      exit 1
    }
  grep -E '^#[0-9]+\s+DONE|stat::number_of_executed_units' "$build/$t.log" || true
done
