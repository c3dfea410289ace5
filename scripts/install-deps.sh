#!/usr/bin/env bash
# One idempotent install step for everything the tests need on a fresh Debian 12 machine (run as root):
#   1. Debian packages redis-server, clickhouse-server, clickhouse-client, prometheus, chromium (system services left stopped:
#      the tests start their own servers on free ports);
#   2. Kafka 3.9 broker jars from Maven Central into a cache (test/kafka/pom.xml names them);
#   3. npm packages (npm ci) when node_modules is missing or older than package-lock.json;
#   4. the native NDJSON decoder (native-bindings/, Rust): cargo rebuilds only what changed; without
#      cargo it warns and the JS decoder is used (same results).
# Every step is skipped when its result is already in place, so running it before each test run is cheap.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

fail() { echo "install-deps: FAILED: $*" >&2; exit 1; }
step() { echo "install-deps: $*"; }

# --- 1. Debian packages -------------------------------------------------------------------------
APT_PACKAGES=(redis-server clickhouse-server clickhouse-client prometheus chromium)
# The services the packages register; their postinst may start them, which we undo.
SYSTEM_SERVICES=(redis-server clickhouse-server prometheus)

is_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

stop_system_services() {
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    # systemd stops only the units' own processes (their cgroups).
    systemctl disable --now "${SYSTEM_SERVICES[@]}" >/dev/null 2>&1 || true
    return 0
  fi
  # Without systemd, stop only the packages' own instances: redis by its pid file, clickhouse by the
  # 'clickhouse' user it runs as (test servers run as the invoking user). Not through the init scripts:
  # clickhouse's stops every clickhouse-server on the machine, the tests' ones included.
  start-stop-daemon --stop --quiet --oknodo --retry=TERM/15/KILL/5 \
    --pidfile /run/redis/redis-server.pid --exec /usr/bin/redis-server >/dev/null 2>&1 || true
  id prometheus >/dev/null 2>&1 && { start-stop-daemon --stop --quiet --oknodo --retry=TERM/15/KILL/5 \
    --user prometheus --exec /usr/bin/prometheus >/dev/null 2>&1 || true; }
  if id clickhouse >/dev/null 2>&1; then
    start-stop-daemon --stop --quiet --oknodo --retry=TERM/30/KILL/5 \
      --user clickhouse --exec /usr/sbin/clickhouse-server >/dev/null 2>&1 || true
  fi
  local svc
  for svc in "${SYSTEM_SERVICES[@]}"; do
    command -v update-rc.d >/dev/null 2>&1 && { update-rc.d "$svc" disable >/dev/null 2>&1 || true; }
    command -v systemctl >/dev/null 2>&1 && { systemctl disable "$svc" >/dev/null 2>&1 || true; }
  done
  return 0
}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done
# The machine image normally brings Java 17 and Maven; install Debian's only where they are absent.
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
if [ "${#missing[@]}" -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || fail "Debian packages missing (${missing[*]}) and not running as root to install them"
  step "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # policy-rc.d exit 101 tells invoke-rc.d not to start services from postinst; add one only if the
  # machine has none (Docker images usually do), and remove only the one we added.
  policy_added=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    policy_added=1
  fi
  apt_ok=1
  apt-get -o DPkg::Lock::Timeout=300 update -qq || apt_ok=0
  if [ "$apt_ok" -eq 1 ]; then
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/tmp/ringflow-apt-install.log 2>&1 || apt_ok=0
  fi
  [ "$policy_added" -eq 1 ] && rm -f /usr/sbin/policy-rc.d
  if [ "$apt_ok" -ne 1 ]; then
    tail -n 30 /tmp/ringflow-apt-install.log >&2 2>/dev/null || true
    fail "apt-get could not install ${missing[*]} (log: /tmp/ringflow-apt-install.log)"
  fi
  stop_system_services
fi
for bin in redis-server clickhouse-server clickhouse-client prometheus chromium java mvn; do
  command -v "$bin" >/dev/null 2>&1 || fail "$bin not on PATH after installing its Debian package"
done

# --- 2. Kafka broker jars -----------------------------------------------------------------------
POM="$ROOT/test/kafka/pom.xml"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n 1)"
[ -n "$KAFKA_VERSION" ] || fail "no <kafka.version> in $POM"
CACHE_DIR="${RINGFLOW_CACHE_DIR:-$HOME/.cache/ringflow}"
KAFKA_LIB="$CACHE_DIR/kafka-$KAFKA_VERSION/lib"
KAFKA_STAMP="$CACHE_DIR/kafka-$KAFKA_VERSION/.complete"
# The stamp holds the pom's hash so an edited pom (a new runtime jar) refreshes the cache.
POM_HASH="$(sha256sum "$POM" | cut -d' ' -f1)"
if [ -f "$KAFKA_STAMP" ] && [ "$(cat "$KAFKA_STAMP")" = "$POM_HASH" ] && [ -d "$KAFKA_LIB" ]; then
  :
else
  command -v java >/dev/null 2>&1 || fail "java not found: the Kafka broker needs a JDK 17 (apt-get install openjdk-17-jdk-headless)"
  command -v mvn >/dev/null 2>&1 || fail "mvn not found: the Kafka jars come through Maven (apt-get install maven)"
  step "Kafka $KAFKA_VERSION jars -> $KAFKA_LIB"
  rm -rf "$KAFKA_LIB.tmp"
  mkdir -p "$KAFKA_LIB.tmp"
  # Copy into a side folder and swap it in so an interrupted download never looks complete.
  mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIB.tmp" \
    || fail "mvn could not fetch the Kafka $KAFKA_VERSION jars named in $POM"
  ls "$KAFKA_LIB.tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 \
    || fail "kafka_2.13-$KAFKA_VERSION.jar missing from $KAFKA_LIB.tmp after mvn"
  rm -rf "$KAFKA_LIB"
  mv "$KAFKA_LIB.tmp" "$KAFKA_LIB"
  echo "$POM_HASH" > "$KAFKA_STAMP"
fi

# --- 3. npm packages ----------------------------------------------------------------------------
# npm writes node_modules/.package-lock.json on every install/ci: it is the stamp. Re-running `npm ci`
# when it is current would delete node_modules under any process using it.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  command -v npm >/dev/null 2>&1 || fail "npm not found: install Node.js 20"
  step "npm ci"
  npm ci --no-audit --no-fund || fail "npm ci"
fi

# --- 4. native decoder ---------------------------------------------------------------------------
step "native decoder (scripts/build-native.sh)"
bash scripts/build-native.sh

step "ok (kafka jars: $KAFKA_LIB)"
