#!/bin/bash
# The official image's healthcheck.sh for the checks urumi's chart runs: --connect (the server
# accepts a TCP connection as the healthcheck user) and --innodb_initialized (InnoDB is up).
set -eo pipefail
CNF=/var/lib/mysql/.my-healthcheck.cnf
run() { mariadb --defaults-extra-file="$CNF" --skip-column-names --batch -e "$1"; }
[ $# -gt 0 ] || set -- --connect
for arg in "$@"; do
  case "$arg" in
    --connect) run "SELECT 1" >/dev/null ;;
    --innodb_initialized) [ "$(run "SELECT 1 FROM information_schema.ENGINES WHERE engine='innodb' AND support IN ('YES','DEFAULT','ENABLED')")" = 1 ] ;;
    --su=*|--su-mysql|--no-defaults|--defaults-*) ;;
    *) echo "healthcheck.sh: unsupported check $arg" >&2; exit 2 ;;
  esac
done
