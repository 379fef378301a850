#!/bin/sh
# Creates the database and the user, then runs mariadbd in the foreground.
set -eu
mkdir -p /run/mysqld
chown mysql:mysql /run/mysqld
if [ ! -d /var/lib/mysql/mysql ]; then
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
fi
mariadbd --user=mysql --skip-networking --socket=/run/mysqld/init.sock &
pid=$!
i=0
until mariadb --socket=/run/mysqld/init.sock -uroot -e 'select 1' >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -lt 60 ] || { echo "entrypoint: mariadbd did not start" >&2; exit 1; }
    sleep 1
done
mariadb --socket=/run/mysqld/init.sock -uroot <<SQL
CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\`;
CREATE USER IF NOT EXISTS '$MYSQL_USER'@'%' IDENTIFIED BY '$MYSQL_PASSWORD';
GRANT ALL ON \`$MYSQL_DATABASE\`.* TO '$MYSQL_USER'@'%';
FLUSH PRIVILEGES;
SQL
kill "$pid"
wait "$pid" || true
echo "entrypoint: database $MYSQL_DATABASE and user $MYSQL_USER ready" >&2
exec mariadbd --user=mysql
