#!/bin/sh
# Healthy means what the app needs: a TCP login as the app user and a query in its database.
# (During first-start initialization the server listens on a private socket only, so this
# fails until the database and user exist.)
MYSQL_PWD=$MYSQL_PASSWORD exec mariadb --protocol=tcp --host=127.0.0.1 --user="$MYSQL_USER" \
  --connect-timeout=2 --batch --skip-column-names --execute='SELECT 1' "$MYSQL_DATABASE" >/dev/null
