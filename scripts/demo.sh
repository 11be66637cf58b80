#!/usr/bin/env bash
# The main job, end to end, on this machine alone: start two local registries, seed the first with generated
# multi-platform images, mirror a list of them to the second with `dray mirror` (then again, incrementally),
# validate the mirror, and show that every manifest arrived byte for byte (dray and skopeo both look). One
# image carries a cosign .sig tag, a Sigstore bundle and an SBOM (OCI 1.1 referrers): they arrive at the mirror
# and in a saved archive.
#
# Everything it starts is stopped and its folder removed when it ends: on success, on failure and on Ctrl-C.
#   --registries-only   start the two registries, print them, and stop there (cleanup included); with
#                       DRAY_DEMO_HOLD=1 it then waits for Ctrl-C or SIGTERM first (the tests use both)
#   DRAY_DEMO_BIN=DIR   use dray and dray-testkit from DIR instead of building release binaries
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
registries_only=false
[ "${1:-}" = "--registries-only" ] && registries_only=true
bash scripts/setup.sh
if [ -n "${DRAY_DEMO_BIN:-}" ]; then
  bin=$DRAY_DEMO_BIN
else
  echo "==> building dray (release)"
  swift build -c release --static-swift-stdlib --product dray >/dev/null
  swift build -c release --static-swift-stdlib --product dray-testkit >/dev/null
  bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
fi
dray="$bin/dray"
testkit="$bin/dray-testkit"

source scripts/registries.sh
make_work dray-demo

start_registry source src
start_registry mirror dst
echo "==> registries: source $src, mirror $dst"
echo "==> work folder $work, registry pids ${pids[*]}"
if $registries_only; then
  if [ -n "${DRAY_DEMO_HOLD:-}" ]; then
    echo "==> holding until Ctrl-C"
    while :; do sleep 0.2; done
  fi
  exit 0
fi

echo "==> seeding $src with generated images"
"$testkit" seed --image "$src/demo/app:1.0" --format oci --platforms 3 --layer-size 4000000 --seed 1 --attach
"$testkit" seed --image "$src/demo/tools:2.1" --format docker --platforms 2 --layer-size 2000000 --seed 2
"$testkit" seed --image "$src/library/base:latest" --platforms 1 --layers 3 --seed 3
for i in 1 2 3 4 5; do
  "$testkit" seed --image "$src/team/service$i:v$i" --platforms 3 --layer-size 1000000 --seed $((10 + i)) >/dev/null
done
echo "seeded 5 more 3-platform images (team/service1..5)"

cat > "$work/images.txt" <<LIST
# Hangar Default format: [REGISTRY/][PROJECT/]NAME[:TAG|@DIGEST]
$src/demo/app:1.0
$src/demo/tools:2.1
$src/library/base:latest
$src/team/service1:v1
$src/team/service2:v2
$src/team/service3:v3
# Mirror format: SOURCE DESTINATION TAG
$src/team/service4 renamed/service4 v4
$src/team/service5 renamed/service5 v5
LIST

echo "==> dray mirror (every platform, 4 images at a time)"
"$dray" mirror -f "$work/images.txt" -d "$dst" --all -j 4 -o "$work/mirror-failed.txt" --report "$work/report.json"

app_digest=$("$dray" inspect --raw "$src/demo/app:1.0" | sha256sum | cut -d' ' -f1)
echo "==> what is attached to demo/app at the mirror (the fallback tag sha256-<hex> lists the referrers)"
skopeo inspect --raw --tls-verify=false "docker://$dst/demo/app:sha256-$app_digest" \
  | python3 -c 'import json,sys; [print("  referrer", m["digest"], m.get("artifactType","")) for m in json.load(sys.stdin)["manifests"]]'
skopeo inspect --raw --tls-verify=false "docker://$dst/demo/app:sha256-$app_digest.sig" >/dev/null && echo "  cosign tag sha256-$app_digest.sig"

echo "==> dray mirror again: an incremental re-run only checks tags"
"$dray" mirror -f "$work/images.txt" -d "$dst" --all -j 4 -o "$work/mirror-failed.txt"

echo "==> dray mirror validate"
"$dray" mirror validate -f "$work/images.txt" -d "$dst" --all

echo "==> signing the mirror: a re-run with a key signs every mirrored image at the destination"
printf 'demo-passphrase\n' > "$work/pass.txt"
"$dray" generate-key --prefix "$work/mirror" --passphrase-file "$work/pass.txt" -y
"$dray" mirror -f "$work/images.txt" -d "$dst" --all -j 4 -o "$work/mirror-failed.txt" \
  --sigstore-private-key "$work/mirror.key" --sigstore-passphrase-file "$work/pass.txt"
"$dray" mirror validate -f "$work/images.txt" -d "$dst" --all --sigstore-public-key "$work/mirror.pub"
echo "==> dray verify: each image carries a Sigstore bundle referrer and a cosign .sig, both verify"
"$dray" verify --key "$work/mirror.pub" "$dst/demo/app:1.0" "$dst/library/base:latest"

echo "==> dray save: the image and what is attached to it go into the archive"
echo "$src/demo/app:1.0" > "$work/app.txt"
"$dray" save -f "$work/app.txt" -d "$work/app.tar.zst" --compress zstd --cache "$work/cache" --all -o "$work/save-failed.txt"
"$dray" archive ls "$work/app.tar.zst"

echo "==> dray load: the archive into the mirror's airgap/ project, attachments before the tag"
"$dray" load -s "$work/app.tar.zst" -d "$dst" --all --destination-project airgap -o "$work/load-failed.txt"
"$dray" load validate -s "$work/app.tar.zst" -d "$dst" --destination-project airgap

echo "==> dray copy with a platform filter (linux/amd64 and linux/arm64 only)"
"$dray" copy --arch amd64,arm64 --os linux "$src/demo/app:1.0" "$dst/slim/app:1.0"

echo "==> dray inspect of a mirrored index"
"$dray" inspect "$dst/demo/app:1.0"

echo "==> checking manifests byte for byte (dray and skopeo)"
status=0
for pair in "demo/app:1.0 demo/app:1.0" "demo/tools:2.1 demo/tools:2.1" "library/base:latest library/base:latest" \
            "team/service4:v4 renamed/service4:v4"; do
  set -- $pair
  a=$("$dray" inspect --raw "$src/$1" | sha256sum | cut -d' ' -f1)
  b=$("$dray" inspect --raw "$dst/$2" | sha256sum | cut -d' ' -f1)
  s=$(skopeo inspect --raw --tls-verify=false "docker://$dst/$2" | sha256sum | cut -d' ' -f1)
  if [ "$a" = "$b" ] && [ "$b" = "$s" ]; then echo "  identical  $2  sha256:$a"; else echo "  DIFFERENT  $2"; status=1; fi
done
[ $status -eq 0 ] && echo "==> demo finished: every manifest identical at the mirror" || echo "==> demo FAILED"
exit $status
