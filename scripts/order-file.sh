#!/usr/bin/env bash
# Regenerates Sources/CLI/dray.order: the functions a release dray executes, in the order of the workloads
# below, for lld to place first in the binary's text (see Package.swift). A run then maps about 2 MB of code
# pages instead of 8–17 MB scattered over 19 MB of text (issue 20, memory).
#
# The workloads run under valgrind's callgrind (which sees every function executed, not a sample) against two
# local registries: start-up alone, a cold mirror, a no-op re-run, save to a zstd archive, load it, validate,
# sign and verify. Re-run after larger changes; a stale order file costs memory, never correctness.
#   bash scripts/order-file.sh            (about 5 minutes; needs valgrind)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
command -v valgrind >/dev/null || { echo "order-file: valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
swift build -c release --static-swift-stdlib --product dray >/dev/null
swift build -c release --static-swift-stdlib --product dray-testkit >/dev/null
bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
testkit="$bin/dray-testkit"

source scripts/registries.sh
make_work dray-order

# valgrind cannot read the DWARF 5 debug information swiftc writes: profile a copy without it (same symbols).
strip --strip-debug -o "$work/dray" "$bin/dray"

start_registry source src
start_registry mirror dst
start_registry loaded dst2
"$testkit" seed --image "$src/demo/app:1.0" --format oci --platforms 3 --layer-size 300000 --seed 1 --attach >/dev/null
"$testkit" seed --image "$src/demo/tools:2.1" --format docker --platforms 2 --layer-size 200000 --seed 2 >/dev/null
"$testkit" seed --image "$src/library/base:latest" --platforms 1 --layers 3 --layer-size 100000 --seed 3 >/dev/null
printf '%s\n' "$src/demo/app:1.0" "$src/demo/tools:2.1" "$src/library/base:latest" > "$work/list.txt"
: > "$work/empty.txt"
printf 'order\n' > "$work/pass"

n=0
profile() {
  n=$((n + 1))
  echo "==> [$n] dray $*" >&2
  valgrind --tool=callgrind --dump-instr=yes --compress-pos=no --compress-strings=no --demangle=no \
    --callgrind-out-file="$work/cg.$n" -q "$work/dray" "$@" >/dev/null 2>"$work/err.$n" \
    || { echo "order-file: dray $* failed:" >&2; tail -5 "$work/err.$n" >&2; exit 1; }
}
cd "$work"
profile mirror -f empty.txt -d "$dst" --all -j 20 -o failed.txt
profile mirror -f list.txt -d "$dst" --all -j 4
profile mirror -f list.txt -d "$dst" --all -j 4
profile mirror validate -f list.txt -d "$dst" --all
profile save -f list.txt -d saved.tar.zst --all
profile load -s saved.tar.zst -d "$dst2" --all
profile generate-key --prefix k --passphrase-file pass
profile sign --key k.key --passphrase-file pass "$dst/demo/app:1.0"
profile verify --key k.pub "$dst/demo/app:1.0"
cd - >/dev/null

# The functions each executed instruction of the dray object lies in (from the symbol table), in workload order,
# each once. Instruction addresses rather than callgrind's function entries, which miss functions entered by a
# jump (tail calls, thunks): 7,679 functions against 7,488 (the binary's memory at rest did not change measurably).
nm -n --defined-only "$work/dray" | awk '$2 ~ /^[tTwW]$/ {print $1, $3}' > "$work/symbols"
python3 - "$work" "$n" > Sources/CLI/dray.order <<'PY'
import bisect, sys
work, count = sys.argv[1], int(sys.argv[2])
starts, names = [], []
for line in open(f"{work}/symbols"):
    address, name = line.split(maxsplit=1)
    starts.append(int(address, 16)); names.append(name.strip())
seen, out = set(), []
for i in range(1, count + 1):
    # Uncompressed output (--compress-strings=no): "ob=PATH" names the object of the cost lines that follow
    # ("cob=" only the target of a call).
    obj = None
    for line in open(f"{work}/cg.{i}", errors="replace"):
        if line.startswith("ob="):
            obj = line[3:].rstrip("\n")
            continue
        if not line.startswith("0x") or obj is None or not obj.endswith("/dray"): continue
        address = int(line.split(maxsplit=1)[0], 16)
        k = bisect.bisect_right(starts, address) - 1
        if k >= 0 and names[k] not in seen:
            seen.add(names[k]); out.append(names[k])
print("\n".join(out))
PY
echo "order-file: $(wc -l < Sources/CLI/dray.order) functions in Sources/CLI/dray.order" >&2
