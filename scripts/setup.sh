#!/usr/bin/env bash
# Installs what dray needs to build, test and demo on Debian: C libraries (-dev packages), a real CNCF
# distribution registry, skopeo and umoci as interop peers, htpasswd and openssl for test fixtures, and
# sigstore-python's bundle models for python3.
# Installs only what is missing; needs root (or sudo) when something is.
set -euo pipefail
packages=(libcurl4-openssl-dev libssl-dev libzstd-dev zlib1g-dev libsodium-dev pkg-config docker-registry skopeo umoci apache2-utils openssl zstd time)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# sigstore-python's bundle models and cryptography: the independent reader of the bundles dray signs (tests only).
if ! python3 -c "import sigstore_models.bundle.v1, cryptography" 2>/dev/null; then
  echo "setup: installing sigstore-models and cryptography (PyPI) for python3"
  python3 -m pip install --quiet --disable-pip-version-check sigstore-models cryptography 2>&1 | grep -v "^WARNING: Running pip as" || true
fi
