#!/usr/bin/env bash
# Make sure PostgreSQL (127.0.0.1:5432, trust for local test roles) and Redis (127.0.0.1:6379)
# are up for the test suite: start them when installed but stopped, install them when missing.
set -euo pipefail
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "Installing PostgreSQL"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql
  # A fresh cluster asks for passwords over TCP; the test suite connects to its own throw-away
  # roles without one (as on the project's machines). First matching line wins, so prepend.
  hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -n1)
  $sudo sed -i '1i host all all 127.0.0.1/32 trust  # added by legitka make test' "$hba"
  $sudo pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main restart || true
fi
if ! pg_up; then
  echo "Starting PostgreSQL"
  for version in $(ls /etc/postgresql); do
    $sudo pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
  for _ in $(seq 1 30); do pg_up && break; sleep 0.5; done
fi
pg_up || { echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
if ! command -v redis-server >/dev/null 2>&1; then
  echo "Installing Redis"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server
fi
if ! redis_up; then
  echo "Starting Redis"
  $sudo mkdir -p /var/lib/redis /var/log/redis
  $sudo redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis_up && break; sleep 0.2; done
fi
redis_up || { echo "Redis is not reachable on 127.0.0.1:6379" >&2; exit 1; }
