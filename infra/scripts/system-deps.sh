#!/usr/bin/env bash
# Install the Debian packages Legitka needs when they are missing (fresh Debian 12).
# WeasyPrint loads pango through cffi at import time; python3-venv gives `python3 -m venv`.
set -euo pipefail
# Arguments name packages to check instead (e.g. `7zip` for the test suite).
if [ $# -gt 0 ]; then
  packages=("$@")
else
  packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core)
  python3 -c "import ensurepip" 2>/dev/null || packages+=(python3-venv)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing Debian packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
