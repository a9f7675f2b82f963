#!/usr/bin/env bash
# setup_dachs.sh -- install and start GAVO DaCHS (Debian gavodachs2-server) on
# 127.0.0.1 serving astro_galflow's survey-schema mirrors, for the dachs tests.
#
#   sudo .ci/dachs/setup_dachs.sh        # install + init + import + serve (idempotent)
#   sudo .ci/dachs/setup_dachs.sh stop   # stop the server (tests of restarts use this)
#   sudo .ci/dachs/setup_dachs.sh start  # start it again
#   sudo .ci/dachs/setup_dachs.sh crash  # SIGKILL the server (a crash mid-request)
#
# Environment: DACHS_PORT (48080), DACHS_AUTHORITY (ci.test), DACHS_LOG_DIR
# (/tmp/galflow-dachs-logs), APT_UPDATE=1 to run apt-get update first.
#
# Serves (TAP at http://127.0.0.1:$DACHS_PORT/tap):
#   dbo.specphoto dbo.photoobj dbo.galspecinfo dbo.galspecextra dbo.galspecline   (SDSS CAS)
#   dp02_dc2_catalogs.object                                                      (Rubin DP0.2)
#   openuniverse2024.roman_galaxies                                               (Roman sims)
#   galflow_img.main + SIAP v1 /galflow_img/q/i/siap.xml + SIAv2 /__system__/siap2/sitewide
# Prints the set-up time on its last line.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DACHS_PORT="${DACHS_PORT:-48080}"
DACHS_HOST=127.0.0.1
DACHS_URL="http://${DACHS_HOST}:${DACHS_PORT}"
DACHS_AUTHORITY="${DACHS_AUTHORITY:-ci.test}"
LOG_DIR="${DACHS_LOG_DIR:-/tmp/galflow-dachs-logs}"
RESOURCES=(galflow_sdss galflow_rubin galflow_roman galflow_img)
export DEBIAN_FRONTEND=noninteractive
mkdir -p "$LOG_DIR"
T0=$(date +%s.%N)
el() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%6.1fs", b-a}'; }
say() { echo "[$(el)] $*"; }
die() { echo "[$(el)] ERROR: $*" >&2; exit 1; }
step() {  # step NAME CMD...: run, log, show the log tail on failure
  local name=$1; shift
  if ! "$@" >"$LOG_DIR/$name.log" 2>&1; then
    tail -n 40 "$LOG_DIR/$name.log" >&2
    die "step '$name' failed (log: $LOG_DIR/$name.log)"
  fi
  say "$name ok"
}
# DaCHS runs on Debian's python3: keep any virtualenv out of its environment.
as_dachsroot() { runuser -u dachsroot -- env -i PATH=/usr/bin:/bin HOME=/tmp LANG=C.UTF-8 PYTHONWARNINGS=ignore "$@"; }
as_root_clean() { env -i PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 PYTHONWARNINGS=ignore "$@"; }
port_open() { ss -ltnH "sport = :${DACHS_PORT}" | grep -q .; }

[[ $(id -u) -eq 0 ]] || die "must run as root"

serve_stop() {
  if [[ -s /var/gavo/state/web.pid ]]; then
    as_root_clean dachs serve stop >"$LOG_DIR/serve-stop.log" 2>&1 || true
  fi
  for _ in $(seq 50); do port_open || return 0; sleep 0.2; done
  die "port ${DACHS_PORT} still in use after stopping DaCHS"
}
serve_start() {
  # Jobs a crashed server left EXECUTING or QUEUED would hold its execution slots for
  # ever and block every later async job; with the server down none of them can run.
  if [[ -n "$(pg_lsclusters -h 2>/dev/null | awk '$4=="online"')" ]]; then
    runuser -u postgres -- psql -X -q -d gavo -c \
      "UPDATE tap_schema.tapjobs SET phase = 'ABORTED' WHERE phase IN ('EXECUTING', 'QUEUED')" \
      >"$LOG_DIR/abort-stale-jobs.log" 2>&1 || true
  fi
  step serve-start as_root_clean dachs serve start
  for _ in $(seq 120); do
    curl -fsS -o /dev/null "${DACHS_URL}/tap/capabilities" 2>/dev/null && return 0
    sleep 0.5
  done
  tail -n 40 /var/gavo/logs/dcErrors 2>/dev/null >&2 || true
  die "DaCHS did not answer on ${DACHS_URL}"
}
serve_crash() {
  local pid
  pid=$(cat /var/gavo/state/web.pid 2>/dev/null || true)
  [[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null || true
  rm -f /var/gavo/state/web.pid
  for _ in $(seq 50); do port_open || return 0; sleep 0.1; done
  die "port ${DACHS_PORT} still in use after killing DaCHS"
}
case "${1:-}" in
  stop) serve_stop; say "stopped"; exit 0 ;;
  crash) serve_crash; say "killed"; exit 0 ;;
  start) serve_start; say "DaCHS answers on ${DACHS_URL}"; exit 0 ;;
  "") ;;
  *) die "usage: $0 [start|stop|crash]" ;;
esac

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
apt_install() {
  apt-get install -y --no-install-recommends "$@" || { apt-get update && apt-get install -y --no-install-recommends "$@"; }
}
[[ "${APT_UPDATE:-0}" == 1 ]] && step apt-update apt-get update

# 1. PostgreSQL must run before gavodachs2-server is installed: its postinst creates
#    the gavo database and runs `dachs init`.
installed postgresql || step apt-postgresql apt_install postgresql
PG_VER=$(ls /usr/lib/postgresql | sort -V | tail -n1)
pg_state() { pg_lsclusters -h | awk -v v="$PG_VER" '$1==v && $2=="main"{print $4}'; }
[[ -n "$(pg_state)" ]] || step pg-createcluster pg_createcluster "$PG_VER" main
PG_DROPIN="/etc/postgresql/$PG_VER/main/conf.d/zz-galflow-dachs.conf"
if [[ ! -f "$PG_DROPIN" ]]; then
  echo "listen_addresses = '127.0.0.1'   # written by .ci/dachs/setup_dachs.sh" > "$PG_DROPIN"
  [[ "$(pg_state)" == online ]] && step pg-restart pg_ctlcluster "$PG_VER" main restart
fi
[[ "$(pg_state)" == online ]] || step pg-start pg_ctlcluster "$PG_VER" main start
psql_pg() { runuser -u postgres -- psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# 2. DaCHS, and the parts of its postinst that only run on first install.
installed gavodachs2-server || step apt-gavodachs apt_install gavodachs2-server
say "$(dpkg-query -W -f='${Package} ${Version}' gavodachs2-server), postgresql $PG_VER"
getent group gavo >/dev/null || addgroup --system gavo
getent passwd gavo >/dev/null || adduser --system --no-create-home --home /nonexistent --ingroup gavo gavo
getent passwd dachsroot >/dev/null || \
  adduser --system --shell /bin/sh --no-create-home --home /nonexistent --ingroup gavo dachsroot
[[ $(psql_pg -c "SELECT 1 FROM pg_roles WHERE rolname='dachsroot'") == 1 ]] || \
  psql_pg -c "CREATE ROLE dachsroot SUPERUSER LOGIN"
[[ $(psql_pg -c "SELECT 1 FROM pg_database WHERE datname='gavo'") == 1 ]] || \
  runuser -u postgres -- createdb --encoding=UTF-8 --template template0 gavo

# 3. Configuration: loopback only, an authority `dachs pub` accepts, and sync uploads
#    large enough for cross-match tests (the default is 500 kB).
cat > /etc/gavo.rc <<RC
# written by .ci/dachs/setup_dachs.sh
[web]
bindAddress: ${DACHS_HOST}
serverPort: ${DACHS_PORT}
serverURL: ${DACHS_URL}
sitename: astro_galflow CI DaCHS
maxSyncUploadSize: 20000000

[ivoa]
authority: ${DACHS_AUTHORITY}
RC
mkdir -p /var/gavo && chown dachsroot /var/gavo
# `dachs init` fails on an initialised database; upgrade it instead.
if [[ $(psql_pg -d gavo -c "SELECT to_regclass('dc.tablemeta') IS NOT NULL") == t ]]; then
  step dachs-init-nodb as_dachsroot dachs init --nodb
  step dachs-upgrade as_dachsroot dachs upgrade
else
  step dachs-init as_dachsroot dachs init
fi

# 4. Data and resource descriptors (data generated with Debian's python3, which has
#    numpy and astropy as DaCHS dependencies).
for res in "${RESOURCES[@]}"; do
  mkdir -p "/var/gavo/inputs/$res/data"
  install -m 0644 "$HERE/rd/$res/q.rd" "/var/gavo/inputs/$res/q.rd"
done
step gen-data /usr/bin/python3 "$HERE/gen_data.py" "$HERE/data" /var/gavo/inputs
for res in "${RESOURCES[@]}"; do
  chown -R dachsroot:gavo "/var/gavo/inputs/$res"
  chmod -R g+rwX,o+rX "/var/gavo/inputs/$res"
done
# ObsCore must exist before the image RD is imported (it publishes to ivoa.obscore).
step imp-obscore as_dachsroot dachs imp //obscore
for res in "${RESOURCES[@]}"; do
  step "imp-$res" as_dachsroot dachs imp "$res/q"
  step "pub-$res" as_dachsroot dachs pub "$res/q"
done

# 5. Serve (restart so the server sees the current configuration and RDs).
serve_stop
serve_start
if ss -ltnH "sport = :${DACHS_PORT}" | awk '{print $4}' | grep -vq "^${DACHS_HOST}:"; then
  die "DaCHS listens on a non-loopback address"
fi
n=$(curl -fsS "${DACHS_URL}/tap/sync" -d REQUEST=doQuery -d LANG=ADQL -d FORMAT=csv \
      --data-urlencode "QUERY=SELECT COUNT(*) AS n FROM dbo.specphoto" | tail -n1 | tr -d '\r')
[[ "$n" == 332 ]] || die "TAP count of dbo.specphoto returned '$n'"
curl -fsS -o /dev/null "${DACHS_URL}/galflow_img/q/i/siap.xml?POS=62,-37&SIZE=0.5" || die "SIAP failed"
say "DaCHS serves ${DACHS_URL}/tap (dbo.specphoto: $n rows) and SIAP"
echo "DACHS_SETUP_SECONDS=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')"
