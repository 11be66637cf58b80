#!/usr/bin/env bash
# The main job, end to end, on this machine alone: start two local registries, seed the first with generated
# images (a 3-platform OCI index, a Docker manifest list, a single image), copy them to the second with dray,
# and show that every manifest arrived byte for byte (dray and skopeo both look).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/setup.sh
echo "==> building dray (release)"
swift build -c release --product dray >/dev/null
swift build -c release --product dray-testkit >/dev/null
bin=$(swift build -c release --show-bin-path)
dray="$bin/dray"
testkit="$bin/dray-testkit"

work=$(mktemp -d /tmp/dray-demo-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

start_registry() { # name -> prints host:port
  local name=$1 port
  port=$("$testkit" free-port)
  mkdir -p "$work/$name"
  cat > "$work/$name/config.yml" <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/$name/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port, secret: demo}
YAML
  docker-registry serve "$work/$name/config.yml" >"$work/$name/log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  echo "127.0.0.1:$port"
}

src=$(start_registry source)
dst=$(start_registry mirror)
echo "==> registries: source $src, mirror $dst"

echo "==> seeding $src with generated images"
"$testkit" seed --image "$src/demo/app:1.0" --format oci --platforms 3 --layer-size 4000000 --seed 1
"$testkit" seed --image "$src/demo/tools:2.1" --format docker --platforms 2 --layer-size 2000000 --seed 2
"$testkit" seed --image "$src/library/base:latest" --platforms 1 --layers 3 --seed 3

echo "==> dray copy"
for img in demo/app:1.0 demo/tools:2.1 library/base:latest; do
  "$dray" copy "docker://$src/$img" "docker://$dst/mirror/$img"
done
echo "==> a filtered copy (linux/amd64 and linux/arm64 only)"
"$dray" copy --arch amd64,arm64 --os linux "$src/demo/app:1.0" "$dst/mirror/app-slim:1.0"

echo "==> dray inspect of the mirrored index"
"$dray" inspect "$dst/mirror/demo/app:1.0"

echo "==> checking manifests byte for byte"
status=0
for img in demo/app:1.0 demo/tools:2.1 library/base:latest; do
  a=$("$dray" inspect --raw "$src/$img" | sha256sum | cut -d' ' -f1)
  b=$("$dray" inspect --raw "$dst/mirror/$img" | sha256sum | cut -d' ' -f1)
  s=$(skopeo inspect --raw --tls-verify=false "docker://$dst/mirror/$img" | sha256sum | cut -d' ' -f1)
  if [ "$a" = "$b" ] && [ "$b" = "$s" ]; then echo "  identical  $img  sha256:$a"; else echo "  DIFFERENT  $img"; status=1; fi
done
[ $status -eq 0 ] && echo "==> demo finished: every manifest identical at the mirror" || echo "==> demo FAILED"
exit $status
