#!/bin/sh
# the service's own user, with no login
set -e
if ! getent passwd kuzet >/dev/null; then
	adduser --system --group --home /var/lib/kuzet --no-create-home --shell /usr/sbin/nologin kuzet
fi
