#!/usr/bin/env bash
# teardown_dachs.sh -- undo setup_dachs.sh.
#
#   sudo .ci/dachs/teardown_dachs.sh           stop DaCHS, drop its database and roles,
#                                              remove /var/gavo and /etc/gavo.rc
#   sudo .ci/dachs/teardown_dachs.sh --purge   also purge DaCHS, PostgreSQL and what they
#                                              pulled in (to time a set-up from nothing)
set -uo pipefail
[[ $(id -u) -eq 0 ]] || { echo "must run as root" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
clean() { env -i PATH=/usr/bin:/bin LANG=C.UTF-8 PYTHONWARNINGS=ignore "$@"; }

if [[ -x /usr/bin/dachs && -s /var/gavo/state/web.pid ]]; then
  clean dachs serve stop || true
fi
if command -v pg_lsclusters >/dev/null && pg_lsclusters -h | awk '$4=="online"{f=1} END{exit !f}'; then
  runuser -u postgres -- dropdb --if-exists gavo
  for role in gavo gavoadmin untrusted dachsroot; do
    runuser -u postgres -- psql -X -q -c "DROP ROLE IF EXISTS $role"
  done
fi
rm -rf /var/gavo /etc/gavo.rc /etc/postgresql/*/main/conf.d/zz-galflow-dachs.conf
if [[ "${1:-}" == "--purge" ]]; then
  apt-get purge -y 'gavodachs2-*' 'python3-gavo*' 'postgresql*' || true
  apt-get autoremove --purge -y || true
  rm -rf /var/lib/postgresql /etc/postgresql
fi
echo "teardown done"
