#!/usr/bin/env bash
# Runs dray's test suite on a fresh Debian machine: installs packages, builds, and runs every test. The tests
# start their own registries (plain, htpasswd, TLS, bearer-token) on free 127.0.0.1 ports.
#
# With no arguments it then fuzzes the parsers briefly (scripts/fuzz.sh, DRAY_FUZZ_SECONDS per target, default
# 15; 0 skips it). Arguments go to `swift test` (e.g. --filter LoadCLITests) and skip the fuzzing.
# DRAY_LONG_TESTS=1 runs the long variants (5,000 images in the load test instead of 1,000).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/setup.sh
swift build --build-tests
swift test --skip-build "$@"
fuzz_seconds=${DRAY_FUZZ_SECONDS:-15}
if (($# == 0)) && [ "$fuzz_seconds" != 0 ]; then
  echo "test: fuzzing each parser for $fuzz_seconds s (scripts/fuzz.sh)"
  DRAY_FUZZ_SECONDS=$fuzz_seconds DRAY_FUZZ_SEED=${DRAY_FUZZ_SEED:-1} bash scripts/fuzz.sh
fi
