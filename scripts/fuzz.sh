#!/usr/bin/env bash
# The libFuzzer targets in Fuzz/ (docs/reliability.md, "Fuzzing").
#
#   scripts/fuzz.sh build  [TARGET...]  build the libraries with -sanitize=fuzzer,address into
#                                       $FUZZ_SCRATCH (.build-fuzz) and link each target there
#   scripts/fuzz.sh run    [TARGET...]  fuzz each target for $FUZZ_SECONDS (default 60) seconds
#   scripts/fuzz.sh replay [TARGET...]  run every committed seed and regression input once
#   scripts/fuzz.sh smoke               build, replay, then fuzz every target for
#                                       $FUZZ_SMOKE_SECONDS (default 20), two at a time (CI)
#
# TARGET is safetensors, gguf, container or batch (default: all four). Any crash, trap, leak,
# input slower than $FUZZ_TIMEOUT seconds or allocation above $FUZZ_RSS_MB MB fails the command;
# the input that caused it is written to $FUZZ_SCRATCH/findings/TARGET/ (commit it to
# Fuzz/regressions/TARGET/ with the fix). Extra libFuzzer flags: FUZZ_FLAGS="-jobs=2 ...".
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_TARGETS=(safetensors gguf container batch)
SCRATCH=${FUZZ_SCRATCH:-.build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-60}
SMOKE_SECONDS=${FUZZ_SMOKE_SECONDS:-20}
TIMEOUT=${FUZZ_TIMEOUT:-10}
RSS_MB=${FUZZ_RSS_MB:-2048}
SWIFT=${SWIFT:-swift}
SWIFTC=${SWIFTC:-swiftc}
SANITIZE=-sanitize=fuzzer,address
FUZZ_BIN="$SCRATCH/fuzz"
LIMITS=(-timeout="$TIMEOUT" -rss_limit_mb="$RSS_MB" -malloc_limit_mb="$RSS_MB")
# Swift's backtracer would catch a trap before libFuzzer does, and under ASan it reports a
# false error of its own while reading memory; libFuzzer prints the stack instead.
export SWIFT_BACKTRACE=enable=no

# The library modules each target links, lowest first. EMoECore hashes through swift-crypto.
CRYPTO="CCryptoBoringSSL CCryptoBoringSSLShims CryptoBoringWrapper Crypto"
modules_for() {
  case "$1" in
  safetensors | gguf | container) echo "$CRYPTO EMoECore EMoEFormats" ;;
  batch) echo "$CRYPTO EMoECore EMoEFormats _NumericsShims RealModule EMoENumerics EMoEModel EMoEConvert EMoERunner EMoEVerify EMoETokenizers EMoEEvaluate EMoECalibrate EMoEBatch" ;;
  *) echo "unknown fuzz target '$1' (expected: ${ALL_TARGETS[*]})" >&2; exit 64 ;;
  esac
}

targets() { if [ $# -eq 0 ]; then echo "${ALL_TARGETS[@]}"; else echo "$@"; fi; }

build() {
  local started=$SECONDS
  # One SwiftPM build of every library the targets need, instrumented for coverage and ASan.
  # Only library targets are built: a linked executable would bring its own main().
  "$SWIFT" build -c release --scratch-path "$SCRATCH" -j "${FUZZ_BUILD_JOBS:-1}" \
    -Xswiftc "$SANITIZE" --target EMoEBatch
  mkdir -p "$FUZZ_BIN"
  local products target module objects
  products=$("$SWIFT" build -c release --scratch-path "$SCRATCH" --show-bin-path)
  for target in $(targets "$@"); do
    objects=()
    for module in $(modules_for "$target"); do
      # C targets keep objects in subfolders (BoringSSL's generated assembly among them).
      while IFS= read -r object; do objects+=("$object"); done \
        < <(find "$products/$module.build" -name '*.o' | sort)
    done
    # libFuzzer supplies main(), so the entry point is compiled as a library file.
    "$SWIFTC" -O "$SANITIZE" -parse-as-library -module-name "Fuzz_$target" \
      -I "$products/Modules" -I Sources/CZstd -I Sources/CJSONC -I Sources/COpenBLAS \
      -I "$SCRATCH/checkouts/swift-numerics/Sources/_NumericsShims/include" \
      -I "$SCRATCH/checkouts/swift-crypto/Sources/CCryptoBoringSSL/include" \
      -I "$SCRATCH/checkouts/swift-crypto/Sources/CCryptoBoringSSLShims/include" \
      Fuzz/Support/*.swift "Fuzz/$target/"*.swift "${objects[@]}" \
      -lzstd -ljson-c -lopenblas -o "$FUZZ_BIN/fuzz-$target" \
      2> >(grep -v "Cannot export local symbol '__asan" >&2)
  done
  echo "fuzz build: $((SECONDS - started)) s"
}

# Runs $1 for $2 seconds from the committed seeds plus what earlier runs found.
fuzz_one() {
  local target=$1 seconds=$2
  local work="$SCRATCH/corpus/$target" findings="$SCRATCH/findings/$target/"
  mkdir -p "$work" "$findings"
  nice -n "${FUZZ_NICE:-10}" "$FUZZ_BIN/fuzz-$target" -max_total_time="$seconds" "${LIMITS[@]}" \
    -print_final_stats=1 -dict="Fuzz/dict/$target.dict" -artifact_prefix="$findings" ${FUZZ_FLAGS:-} \
    "$work" "Fuzz/corpus/$target"
}

run() {
  local target
  for target in $(targets "$@"); do
    echo "== fuzz-$target: ${SECONDS_EACH} s"
    fuzz_one "$target" "$SECONDS_EACH"
  done
}

replay() {
  local target inputs
  for target in $(targets "$@"); do
    mapfile -t inputs < <(find "Fuzz/corpus/$target" "Fuzz/regressions/$target" -type f \
      ! -name '.*' 2>/dev/null | sort)
    echo "== fuzz-$target: replaying ${#inputs[@]} inputs"
    [ ${#inputs[@]} -gt 0 ] || continue
    "$FUZZ_BIN/fuzz-$target" "${LIMITS[@]}" "${inputs[@]}" > "$SCRATCH/replay-$target.log" 2>&1 || {
      tail -60 "$SCRATCH/replay-$target.log"
      echo "fuzz replay failed for $target (log: $SCRATCH/replay-$target.log)" >&2
      return 1
    }
  done
}

smoke() {
  local started=$SECONDS
  build
  replay
  # Two targets at a time: the CI machines have two cores.
  local status=0 pids=() target
  for target in "${ALL_TARGETS[@]}"; do
    fuzz_one "$target" "$SMOKE_SECONDS" > "$SCRATCH/smoke-$target.log" 2>&1 &
    pids+=("$!:$target")
    if [ ${#pids[@]} -eq 2 ]; then
      for entry in "${pids[@]}"; do
        wait "${entry%%:*}" || { status=1; echo "fuzz smoke FAILED: ${entry#*:}" >&2; \
          tail -60 "$SCRATCH/smoke-${entry#*:}.log" >&2; }
      done
      pids=()
    fi
  done
  for target in "${ALL_TARGETS[@]}"; do
    grep -h "stat::number_of_executed_units\|DONE .*cov:" "$SCRATCH/smoke-$target.log" \
      | sed "s/^/$target: /" || true
  done
  echo "fuzz smoke: $((SECONDS - started)) s"
  return $status
}

command=${1:-}
shift || true
case "$command" in
build | run | replay | smoke) "$command" "$@" ;;
*) sed -n '2,15p' "$0" >&2; exit 64 ;;
esac
