#!/bin/sh
# the node's directories belong to its user; systemd learns the unit and
# starts it once (an upgrade restarts it); without systemd, nothing runs
set -e
mkdir -p /var/lib/kuzet /srv/kuzet
chown kuzet:kuzet /var/lib/kuzet /srv/kuzet
chgrp kuzet /etc/kuzet/node.yaml
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload
	systemctl enable kuzet.service >/dev/null
	systemctl restart kuzet.service
fi
