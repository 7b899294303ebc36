#!/bin/sh
# Writes an --init-file that creates the database and the application's account (the password
# read from $DB_PASSWORD_FILE, never from a variable or argv), then execs the server, so that
# mariadbd is PID 1 and shuts down cleanly on SIGTERM.
set -eu
: "${DB_NAME:=petclinic}" "${DB_USER:=petclinic}" "${DB_PASSWORD_FILE:=/run/secrets/db_password}"
if [ "${1:-}" = mariadbd ]; then
	case "$DB_NAME$DB_USER" in
	*[!A-Za-z0-9_]*) echo "db-entrypoint: DB_NAME and DB_USER must be [A-Za-z0-9_]" >&2; exit 2 ;;
	esac
	[ -r "$DB_PASSWORD_FILE" ] || { echo "db-entrypoint: cannot read DB_PASSWORD_FILE $DB_PASSWORD_FILE" >&2; exit 2; }
	# A fresh named volume is empty when the image's data directory was not copied into it.
	if [ ! -d /var/lib/mysql/mysql ]; then
		mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db >/dev/null
	fi
	chown -R mysql:mysql /var/lib/mysql /run/mysqld
	init=/run/mysqld/init.sql
	umask 077
	# SQL string: backslashes and quotes escaped; the password's first line only.
	pw=$(head -n 1 "$DB_PASSWORD_FILE" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g")
	cat >"$init" <<SQL
CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS '$DB_USER'@'%' IDENTIFIED BY '$pw';
ALTER USER '$DB_USER'@'%' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'%';
SQL
	chown mysql "$init"
	unset pw
	exec "$@" --init-file="$init"
fi
exec "$@"
