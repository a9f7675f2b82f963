#!/usr/bin/env bash
# setup_clients.sh -- install the table clients tests/clients/ opens the outputs with
# (idempotent; needs root):
#
#   sudo .ci/clients/setup_clients.sh
#
#   stilts                STILTS 3.4 (the library inside TOPCAT): FITS, VOTable readers, votlint, tmatch2
#   starlink-ecsv-java    STILTS's ECSV reader (a separate Debian package)
#   fitsverify            HEASARC's FITS checker
#
# The Python clients (pandas, pyarrow, polars, lsdb, hats, qp-prob) come with the
# package's `test` and `scale` extras. Environment: APT_UPDATE=1 to run apt-get update first.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PACKAGES=(stilts starlink-ecsv-java fitsverify)
missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "table clients already installed: ${PACKAGES[*]}"
    exit 0
fi
if [ "${APT_UPDATE:-0}" = 1 ] || [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v lock)" ]; then
    apt-get update -qq
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "installed: ${missing[*]}"
