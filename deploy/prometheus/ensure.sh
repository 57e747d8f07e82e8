#!/usr/bin/env bash
# Makes sure the `prometheus` binary is there: installs Debian's package when
# it is missing (needs root, as CI runs). Without recommends, so that no node
# exporter comes along; services are not started (policy-rc.d or no init).
set -euo pipefail
if command -v prometheus >/dev/null 2>&1; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "prometheus is missing; install Debian's package: sudo apt-get install --no-install-recommends prometheus" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Keep the package from starting a Prometheus service of its own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
command -v prometheus >/dev/null
