#!/usr/bin/env bash
# Installs the Debian packages swift-codex needs to build and test (idempotent; only apt-get when something is missing).
set -euo pipefail
packages=(libsecp256k1-dev libsqlite3-dev libssl-dev python3-venv curl openssl)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null 2>&1 || [ -x /opt/swift/usr/bin/swift ] || { echo "swift toolchain not found (expected at /opt/swift)" >&2; exit 1; }
