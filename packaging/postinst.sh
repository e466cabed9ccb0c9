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
	# a node that cannot start does not fail the installation: the
	# operator edits the configuration (kuzet check) and starts it
	systemctl restart kuzet.service || echo "kuzet: the service did not start; see journalctl -u kuzet and kuzet check -c /etc/kuzet/node.yaml" >&2
fi
