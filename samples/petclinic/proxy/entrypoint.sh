#!/bin/sh
# Fills UPSTREAM (host:port of the application, default tasks.app:8080), RESOLVER (default the
# engine's embedded DNS 127.0.0.11) and ROOT_REDIRECT into the nginx configuration, then execs
# nginx as PID 1 (SIGTERM stops it at once).
set -eu
: "${UPSTREAM:=tasks.app:8080}" "${RESOLVER:=127.0.0.11}" "${ROOT_REDIRECT:=/petclinic/}"
case "$UPSTREAM$RESOLVER$ROOT_REDIRECT" in
*[!A-Za-z0-9._:/-]*) echo "proxy-entrypoint: UPSTREAM, RESOLVER, ROOT_REDIRECT: bad character" >&2; exit 2 ;;
esac
sed -e "s|@UPSTREAM@|$UPSTREAM|g" -e "s|@RESOLVER@|$RESOLVER|g" -e "s|@ROOT_REDIRECT@|$ROOT_REDIRECT|g" \
	/etc/nginx/nginx.conf.in >/etc/nginx/nginx.conf
exec "$@"
