#!/usr/bin/env bash
# setup_services.sh -- the test suite's system set-up, shared by tools/run test and tox -e test.
#
# As root: starts the local GAVO DaCHS VO server (.ci/dachs/setup_dachs.sh) and installs the
# VO command-line clients (.ci/clients/setup_clients.sh: STILTS, fitsverify) where that script
# exists. Not root, or GALFLOW_SKIP_SETUP=1: says what is skipped (tests marked dachs then
# skip; they fail under CI=1).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -n "${GALFLOW_SKIP_SETUP:-}" ]; then
    echo "GALFLOW_SKIP_SETUP is set: the local DaCHS is not started and the VO clients are not installed;" \
        "tests marked dachs will be skipped (they fail under CI=1)" >&2
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "not root: the local DaCHS is not started and the VO clients are not installed;" \
        "tests marked dachs will be skipped (they fail under CI=1)" >&2
    exit 0
fi
bash "$HERE/dachs/setup_dachs.sh"
if [ -f "$HERE/clients/setup_clients.sh" ]; then
    bash "$HERE/clients/setup_clients.sh"
fi
