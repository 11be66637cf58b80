#!/usr/bin/env bash
# Runs dray's test suite on a fresh Debian machine: installs packages, builds, and runs every test. The tests
# start their own registries (plain, htpasswd, TLS, bearer-token) on free 127.0.0.1 ports.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/setup.sh
swift build --build-tests
swift test --skip-build "$@"
