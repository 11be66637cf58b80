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
  valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/cg.$n" -q "$work/dray" "$@" >/dev/null 2>"$work/err.$n" \
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

# Function names (as the linker knows them) in workload order, each once; callgrind's "'2" suffixes dropped.
python3 - "$work" "$n" > Sources/CLI/dray.order <<'PY'
import re, sys
work, count = sys.argv[1], int(sys.argv[2])
seen, out = set(), []
for i in range(1, count + 1):
    objs, fns, obj = {}, {}, None
    for line in open(f"{work}/cg.{i}", errors="replace"):
        line = line.rstrip("\n")
        m = re.match(r"^(c?ob)=\((\d+)\)(?: (.*))?$", line)
        if m:
            if m.group(3): objs[m.group(2)] = m.group(3)
            if m.group(1) == "ob": obj = objs.get(m.group(2))
            continue
        m = re.match(r"^(c?fn)=\((\d+)\)(?: (.*))?$", line)
        if m:
            if m.group(3): fns[m.group(2)] = m.group(3)
            name = fns.get(m.group(2))
            if m.group(1) == "fn" and obj and obj.endswith("/dray") and name and not name.startswith("0x"):
                name = re.sub(r"'\d+$", "", name)
                if name not in seen:
                    seen.add(name); out.append(name)
print("\n".join(out))
PY
echo "order-file: $(wc -l < Sources/CLI/dray.order) functions in Sources/CLI/dray.order" >&2
