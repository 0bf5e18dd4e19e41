#!/bin/sh
# Starts MariaDB. With an empty data dir (a new named volume) it first creates the system
# tables; on every start it makes sure the app database and user from MYSQL_DATABASE, MYSQL_USER
# and MYSQL_PASSWORD exist.
set -eu

datadir=/var/lib/mysql
log() { echo "mysql-entrypoint: $*" >&2; }

# Anything but the server (a shell, the mariadb client) runs as given.
case "${1:-}" in
  mariadbd|mysqld) ;;
  *) exec "$@" ;;
esac

: "${MYSQL_DATABASE:?set MYSQL_DATABASE}" "${MYSQL_USER:?set MYSQL_USER}" "${MYSQL_PASSWORD:?set MYSQL_PASSWORD}"
install -d -o mysql -g mysql -m 0755 /run/mysqld
chown mysql:mysql "$datadir"

if [ ! -d "$datadir/mysql" ]; then
  log "empty data dir: creating the system tables in $datadir"
  mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db \
    --auth-root-authentication-method=socket >/dev/null
fi

# The statements run from --init-file while the server starts, before it accepts connections,
# so the healthcheck (a TCP login as the app user) cannot pass before they are done. That saves
# the usual temporary bootstrap server (start, wait, stop) on a fresh volume, and running them
# on every start (they are idempotent) also repairs a volume whose first start was cut short.
# shellcheck disable=SC2016 # the backticks are literal: SQL identifier quoting
db=$(printf '%s' "$MYSQL_DATABASE" | sed 's/`/``/g')
user=$(printf '%s' "$MYSQL_USER" | sed "s/'/''/g")
pass=$(printf '%s' "$MYSQL_PASSWORD" | sed "s/'/''/g")
init=/run/mysqld/devenv-init.sql
(
  umask 077
  cat >"$init" <<SQL
CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$user'@'%' IDENTIFIED BY '$pass';
GRANT ALL PRIVILEGES ON \`$db\`.* TO '$user'@'%';
SQL
)
chown mysql:mysql "$init"
log "ensuring database '$MYSQL_DATABASE' and user '$MYSQL_USER'"

exec "$@" --user=mysql --datadir="$datadir" --init-file="$init"
