#!/usr/bin/env bash
# Fuzzes dray's parsers of untrusted text with libFuzzer (coverage-guided, AddressSanitizer on):
#   list       image lists (Hangar's Default and Mirror formats) and the naming flags applied to them
#   config     image-syncer configs (YAML/JSON auth + images), rules expanded against a tag list
#   reference  image references and digests (a parsed reference must print back to itself)
#   manifest   manifests and indexes as a registry or an archive serves them
#   challenge  WWW-Authenticate challenges
#   bundle     Sigstore bundles (v0.1-v0.3)
#   trustedroot  Sigstore trusted roots
#
# Usage: bash scripts/fuzz.sh [TARGET...]      (default: every target)
#   DRAY_FUZZ_SECONDS=N   seconds per target (default 60)
#   DRAY_FUZZ_SEED=N      libFuzzer's random seed (default: a random one; CI passes a fixed one)
# Prints, per target, the runs made and the seconds run without a crash. A crash, a sanitizer report or a
# timeout (a unit running over 60 s) stops that target, keeps the input under .build-fuzz/findings/ and makes the script exit 1.
# The corpus grows in .build-fuzz/corpus/TARGET across runs, starting from Fuzz/Seeds/TARGET (which also keeps
# the inputs of past findings, as regression seeds).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/setup.sh

seconds=${DRAY_FUZZ_SECONDS:-60}
seed=${DRAY_FUZZ_SEED:-0}
targets=("$@")
((${#targets[@]})) || targets=(list config reference manifest challenge bundle trustedroot)
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: DRAY_FUZZ_SECONDS=$seconds: expected a positive number of seconds" >&2; exit 2; }

# Every module is built with coverage and ASan (-Xswiftc), so libFuzzer sees inside Engine and Transports;
# the fuzz target links libFuzzer's runtime.
scratch=.build-fuzz
mkdir -p "$scratch"
if ! swift build --package-path Fuzz --scratch-path "$scratch" -c release -Xswiftc -sanitize=fuzzer,address \
  --product DrayFuzz >"$scratch/build.log" 2>&1; then
  grep -E "error" "$scratch/build.log" | sort -u | head -20 >&2
  echo "fuzz: the build failed (see $scratch/build.log)" >&2
  exit 1
fi
binary="$scratch/release/DrayFuzz"
[ -x "$binary" ] || { echo "fuzz: the build did not produce $binary" >&2; exit 1; }

mkdir -p "$scratch/findings"
failed=0
printf '%-10s %10s %14s %8s  %s\n' target runs crash-free-s cov result
for t in "${targets[@]}"; do
  [ -d "Fuzz/Seeds/$t" ] || { echo "fuzz: unknown target $t (see Fuzz/Seeds/)" >&2; exit 2; }
  corpus="$scratch/corpus/$t"
  mkdir -p "$corpus"
  cp -n "Fuzz/Seeds/$t"/* "$corpus"/ 2>/dev/null || true
  log="$scratch/findings/$t.log"
  start=$(date +%s.%N)
  rc=0
  # Swift's own crash reporter would read memory under ASan and muddle the report; libFuzzer reports instead.
  SWIFT_BACKTRACE=enable=no DRAY_FUZZ_TARGET=$t "$binary" "$corpus" -max_total_time="$seconds" -seed="$seed" -timeout=60 \
    -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 -artifact_prefix="$scratch/findings/$t-" \
    >"$log" 2>&1 || rc=$?
  end=$(date +%s.%N)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }')
  if ((rc == 0)); then
    result=ok
  else
    failed=1
    result="FAILED (exit $rc): $(grep -m1 -E 'ERROR|Fatal error|panic|deadly signal|timeout' "$log" || echo "see $log")"
    artifact=$(grep -oE "$scratch/findings/$t-[a-z]+-[0-9a-f]+" "$log" | tail -1 || true)
    [ -n "$artifact" ] && result+="; input kept as $artifact (replay: DRAY_FUZZ_TARGET=$t $binary $artifact)"
  fi
  printf '%-10s %10s %14s %8s  %s\n' "$t" "${runs:-?}" "$elapsed" "${cov:-?}" "$result"
done
exit $failed
