#!/bin/bash
# The official mariadb entrypoint's behaviour for what urumi's chart uses: flags alone mean
# `mariadbd FLAGS`; as root, own the datadir and drop to mysql; on an empty datadir install the
# system tables, set MARIADB_ROOT_PASSWORD, create MARIADB_DATABASE and MARIADB_USER /
# MARIADB_PASSWORD (all privileges on that database), the healthcheck user and
# .my-healthcheck.cnf, run /docker-entrypoint-initdb.d; with MARIADB_AUTO_UPGRADE, run
# mariadb-upgrade when the datadir was made by another version. Then exec mariadbd.
set -eo pipefail
if [ "${1:0:1}" = - ]; then set -- mariadbd "$@"; fi
[ "$1" = mysqld ] && set -- mariadbd "${@:2}"
[ "$1" = mariadbd ] || exec "$@"
DATADIR=/var/lib/mysql SOCKET=/run/mysqld/mysqld.sock
if [ "$(id -u)" = 0 ]; then
  find "$DATADIR" \! -user mysql -exec chown mysql:mysql '{}' +
  exec setpriv --reuid=mysql --regid=mysql --init-groups "$0" "$@"
fi
sql() { mariadb --protocol=socket -uroot -hlocalhost --socket="$SOCKET" "$@"; }
start_temp() {
  mariadbd --skip-networking --default-time-zone=SYSTEM --socket="$SOCKET" --wsrep_on=OFF \
    --expire-logs-days=0 --skip-slave-start --loose-innodb_buffer_pool_load_at_startup=0 "${@:2}" &
  TEMP_PID=$!
  for _ in $(seq 60); do mariadb-admin --socket="$SOCKET" -uroot ${ROOTPW:+-p"$ROOTPW"} ping >/dev/null 2>&1 && return; sleep 1; done
  echo "error: temporary server did not start" >&2; exit 1
}
stop_temp() { kill "$TEMP_PID"; wait "$TEMP_PID" || true; }
esc() { printf '%s' "$1" | sed -e "s/\\\\/\\\\\\\\/g" -e "s/'/\\\\'/g"; }

if [ ! -d "$DATADIR/mysql" ]; then
  if [ -z "${MARIADB_ROOT_PASSWORD:-}" ] && [ -z "${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-}" ] && [ -z "${MARIADB_RANDOM_ROOT_PASSWORD:-}" ]; then
    echo "error: database is uninitialized and password option is not specified" >&2; exit 1
  fi
  echo "Initializing database files"
  mariadb-install-db --datadir="$DATADIR" --rpm --auth-root-authentication-method=normal --skip-test-db \
    --default-time-zone=SYSTEM --skip-name-resolve >/dev/null
  ROOTPW=""
  start_temp "$@"
  [ -n "${MARIADB_RANDOM_ROOT_PASSWORD:-}" ] && MARIADB_ROOT_PASSWORD=$(pwgen --numerals --capitalize --symbols --remove-chars="'\\" -1 32) \
    && echo "GENERATED ROOT PASSWORD: $MARIADB_ROOT_PASSWORD"
  hcpw=$(pwgen -s 32 1)
  {
    echo "SET @@SESSION.SQL_LOG_BIN=0;"
    echo "DELETE FROM mysql.global_priv WHERE user NOT IN ('mysql.sys', 'mariadb.sys', 'root') OR host NOT IN ('localhost');"
    echo "SET PASSWORD FOR 'root'@'localhost'=PASSWORD('$(esc "${MARIADB_ROOT_PASSWORD:-}")');"
    echo "CREATE USER 'root'@'%' IDENTIFIED BY '$(esc "${MARIADB_ROOT_PASSWORD:-}")'; GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION; GRANT PROXY ON ''@'%' TO 'root'@'%' WITH GRANT OPTION;"
    for h in 127.0.0.1 ::1 localhost; do
      echo "CREATE USER 'healthcheck'@'$h' IDENTIFIED BY '$(esc "$hcpw")';"
    done
    echo "DROP DATABASE IF EXISTS test; FLUSH PRIVILEGES;"
    if [ -n "${MARIADB_DATABASE:-}" ]; then echo "CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\`;"; fi
    if [ -n "${MARIADB_USER:-}" ] && [ -n "${MARIADB_PASSWORD:-}" ]; then
      echo "CREATE USER '$MARIADB_USER'@'%' IDENTIFIED BY '$(esc "$MARIADB_PASSWORD")';"
      if [ -n "${MARIADB_DATABASE:-}" ]; then echo "GRANT ALL ON \`$(esc "$MARIADB_DATABASE")\`.* TO '$MARIADB_USER'@'%';"; fi
    fi
  } | sql
  printf '[mariadb-client]\nport=3306\nsocket=%s\nuser=healthcheck\npassword=%s\nprotocol=tcp\n' "$SOCKET" "$hcpw" \
    >"$DATADIR/.my-healthcheck.cnf"
  chmod 600 "$DATADIR/.my-healthcheck.cnf"
  ROOTPW=$MARIADB_ROOT_PASSWORD
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) . "$f" ;;
      *.sql) sql -p"$ROOTPW" "${MARIADB_DATABASE:-mysql}" <"$f" ;;
    esac
  done
  mariadb --version | sed -e 's/.*Distrib \([^,]*\),.*/\1/' -e 's/.* from \([^ ]*\).*/\1/' >"$DATADIR/.urumi-version"
  stop_temp
  echo "MariaDB init process done. Ready for start up."
elif [ -n "${MARIADB_AUTO_UPGRADE:-}" ] && ! cmp -s <(mariadbd --version | awk '{print $3}') "$DATADIR/.urumi-mariadbd-version" 2>/dev/null; then
  echo "Upgrading system tables (MARIADB_AUTO_UPGRADE)"
  ROOTPW=${MARIADB_ROOT_PASSWORD:-}
  start_temp "$@"
  mariadb-upgrade --socket="$SOCKET" -uroot ${ROOTPW:+-p"$ROOTPW"} >/dev/null || true
  stop_temp
fi
mariadbd --version | awk '{print $3}' >"$DATADIR/.urumi-mariadbd-version"
exec "$@"
