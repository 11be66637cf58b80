#!/usr/bin/env bash
# The end-to-end benchmark in one command: builds dray (release) and the harness, starts local registries,
# seeds a synthetic corpus, and runs dray and skopeo side by side (see `--help` for the flags).
#   bash Benchmarks/e2e.sh                                  # the full default run (about 20 minutes; wan needs root)
#   bash Benchmarks/e2e.sh --latency 10 --scenarios cold,noop --no-peers
# Results: Benchmarks/results/results.md, results.svg, results.json.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
command -v skopeo >/dev/null && command -v docker-registry >/dev/null && [ -x /usr/bin/time ] || bash "$root/scripts/setup.sh"
(cd "$root" && swift build -c release --product dray --static-swift-stdlib >&2)
(cd "$root/Benchmarks" && swift build -c release --product dray-e2e >&2)
cd "$root/Benchmarks"
exec ./.build/release/dray-e2e --dray "$root/.build/release/dray" --out "$root/Benchmarks/results" "$@"
