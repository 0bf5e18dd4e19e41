#!/bin/sh
# Starts MariaDB; on the first start with an empty data dir (a new named volume) it creates
# the system tables, the app database and the app user from MYSQL_DATABASE/USER/PASSWORD.
set -eu

datadir=/var/lib/mysql
log() { echo "mysql-entrypoint: $*" >&2; }

# Anything but the server (a shell, mariadb client) runs as given.
case "${1:-}" in
  mariadbd|mysqld) ;;
  *) exec "$@" ;;
esac

install -d -o mysql -g mysql -m 0755 /run/mysqld
chown mysql:mysql "$datadir"

if [ ! -d "$datadir/mysql" ]; then
  : "${MYSQL_DATABASE:?set MYSQL_DATABASE}" "${MYSQL_USER:?set MYSQL_USER}" "${MYSQL_PASSWORD:?set MYSQL_PASSWORD}"
  log "empty data dir: initializing $datadir"
  mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db \
    --auth-root-authentication-method=socket >/dev/null
  # A private server, on the socket only, for the setup statements.
  mariadbd --user=mysql --datadir="$datadir" --skip-networking --socket=/run/mysqld/init.sock &
  pid=$!
  i=0
  until mariadb-admin --socket=/run/mysqld/init.sock ping >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -lt 300 ] || { log "server did not come up for initialization"; exit 1; }
    kill -0 "$pid" 2>/dev/null || { log "server died during initialization"; exit 1; }
    sleep 0.1
  done
  # Identifiers and the password are quoted for SQL; the values come from the service config.
  db=$(printf '%s' "$MYSQL_DATABASE" | sed 's/`/``/g')
  user=$(printf '%s' "$MYSQL_USER" | sed "s/'/''/g")
  pass=$(printf '%s' "$MYSQL_PASSWORD" | sed "s/'/''/g")
  mariadb --socket=/run/mysqld/init.sock <<SQL
CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$user'@'%' IDENTIFIED BY '$pass';
GRANT ALL PRIVILEGES ON \`$db\`.* TO '$user'@'%';
FLUSH PRIVILEGES;
SQL
  mariadb-admin --socket=/run/mysqld/init.sock shutdown
  wait "$pid" || true
  log "created database '$MYSQL_DATABASE' and user '$MYSQL_USER'"
fi

exec "$@" --user=mysql --datadir="$datadir"
