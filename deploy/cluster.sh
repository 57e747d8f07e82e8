#!/usr/bin/env bash
# The local cluster of docker-compose.yaml: what `make up` and `make down` run.
#
#   deploy/cluster.sh up       start the cluster (images must be built), wait
#                              until both nodes are Ready; harmless when it runs
#   deploy/cluster.sh down     remove the cluster, every container its kubelets
#                              started, its networks, volumes and .minik8s/
#   deploy/cluster.sh compose ARGS...
#                              run compose on the cluster's project (logs, ps, ...)
#
# Works with `docker compose` (v2) and Debian's `docker-compose` (v1.29);
# COMPOSE overrides the choice (e.g. COMPOSE=docker-compose).
# Environment: UP_TIMEOUT (seconds to wait for Ready nodes, default 240).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# docker-compose.yaml mounts ${PWD}/.minik8s/nodes/<node> at the same path.
export PWD="$root"
export MINIK8S_OWNER="${MINIK8S_OWNER:-$(id -u):$(id -g)}"
project=minik8s
pods_net="${MINIK8S_POD_NETWORK:-minik8s-pods}"
nodes=(node-1 node-2)
services=(etcd-1 etcd-2 etcd-3 apiserver scheduler controller-manager "${nodes[@]}")
kubeconfig="$root/.minik8s/admin.conf"
minictl="$root/bin/minictl"

if [ -z "${COMPOSE:-}" ]; then
	if docker compose version >/dev/null 2>&1; then
		COMPOSE="docker compose"
	elif command -v docker-compose >/dev/null 2>&1; then
		COMPOSE="docker-compose"
	else
		echo "neither 'docker compose' nor 'docker-compose' is installed" >&2
		exit 1
	fi
fi

compose() {
	# shellcheck disable=SC2086 # COMPOSE is "docker compose" or "docker-compose"
	$COMPOSE -p "$project" -f "$root/docker-compose.yaml" "$@"
}

# check_owner refuses to touch a cluster that another checkout started:
# container names are fixed, so one engine runs one minik8s cluster.
check_owner() {
	local dirs d
	dirs="$(docker ps -a --filter "label=com.docker.compose.project=$project" \
		--format '{{.Label "com.docker.compose.project.working_dir"}}' | sort -u)"
	for d in $dirs; do
		if [ "$d" != "$root" ]; then
			echo "a minik8s cluster of $d runs on this Docker engine; run 'make down' there first" >&2
			exit 1
		fi
	done
}

# nodes_ready prints nothing and succeeds when every service is healthy and
# every node is Ready.
nodes_ready() {
	local out s
	for s in "${services[@]}"; do
		[ "$(docker inspect --format '{{.State.Health.Status}}' "$s" 2>/dev/null)" = healthy ] || return 1
	done
	out="$("$minictl" --kubeconfig "$kubeconfig" --request-timeout 5s get nodes 2>/dev/null)" || return 1
	for n in "${nodes[@]}"; do
		awk -v n="$n" '$1 == n && $2 == "Ready" { found = 1 } END { exit !found }' <<<"$out" || return 1
	done
}

# A pod network left by kubelets run outside compose (tests, `make run`)
# would clash with the one compose creates: remove it when nothing uses it.
clear_foreign_pod_network() {
	local label users
	label="$(docker network inspect "$pods_net" --format '{{index .Labels "com.docker.compose.project"}}' 2>/dev/null)" || return 0
	[ "$label" = "$project" ] && return 0
	if ! docker network rm "$pods_net" >/dev/null 2>&1; then
		users="$(docker ps -a --filter "network=$pods_net" --format '  {{.Names}} ({{.Status}})')"
		if [ -n "$users" ]; then
			echo "the Docker network $pods_net exists, is not the cluster's and is in use by:" >&2
			echo "$users" >&2
			echo "remove them (docker rm -f ...) and run 'make up' again, or give the cluster another" >&2
		else
			# Docker Engine 20.10 can keep endpoints of removed containers.
			echo "the Docker network $pods_net exists, is not the cluster's, and Docker refuses to remove" >&2
			echo "it: it counts endpoints of containers that are gone (restarting the Docker daemon clears" >&2
			echo "them). Restart the daemon and run 'make up' again, or give the cluster another" >&2
		fi
		echo "pod network (MINIK8S_POD_NETWORK, MINIK8S_POD_NETWORK_CIDR, ...: see docker-compose.yaml)" >&2
		exit 1
	fi
}

# leftovers prints what of the cluster is still on the engine.
leftovers() {
	docker ps -aq --filter "label=com.docker.compose.project=$project" | sed 's/^/container /'
	local n
	for n in "${nodes[@]}"; do
		docker ps -aq --filter "label=minik8s.io/node=$n" | sed 's/^/container /'
	done
	docker volume ls -q --filter "label=com.docker.compose.project=$project" | sed 's/^/volume /'
	docker network ls -q --filter "label=com.docker.compose.project=$project" | sed 's/^/network /'
}

up() {
	[ -x "$minictl" ] || { echo "$minictl is missing: run 'make build'" >&2; exit 1; }
	# Created by the user, so that Docker does not create it as root.
	mkdir -p "$root/.minik8s"
	check_owner
	clear_foreign_pod_network
	if ! compose up -d; then
		echo "compose up failed; the init service said:" >&2
		compose logs --tail 40 init >&2 || true
		exit 1
	fi
	local timeout="${UP_TIMEOUT:-240}" start=$SECONDS
	echo "Waiting for every service to be healthy and ${nodes[*]} to be Ready (up to ${timeout}s) ..."
	until nodes_ready; do
		if (( SECONDS - start > timeout )); then
			echo "the nodes are not Ready after ${timeout}s:" >&2
			"$minictl" --kubeconfig "$kubeconfig" get nodes >&2 || true
			docker ps -a --filter "label=com.docker.compose.project=$project" --format '{{.Names}}\t{{.Status}}' >&2 || true
			for n in "${nodes[@]}"; do compose logs --tail 30 "$n" >&2 || true; done
			exit 1
		fi
		sleep 1
	done
	"$minictl" --kubeconfig "$kubeconfig" get nodes -o wide
	cat <<MSG

The minik8s cluster is up (nodes ${nodes[*]}). Point minictl at it:

  export MINIK8S_CONFIG=$kubeconfig
  bin/minictl get nodes
  bin/minictl create -f deploy/examples/web-deployment.yaml

Metrics on 127.0.0.1: 6080 apiserver, 10259 scheduler, 10257 controller-manager,
10248 node-1, 10249 node-2. Remove everything with 'make down'.
MSG
}

down() {
	check_owner
	# The kubelets first, so that they do not restart what is removed next.
	compose stop --timeout 10 "${nodes[@]}" >/dev/null 2>&1 || true
	local n ids
	for n in "${nodes[@]}"; do
		ids="$(docker ps -aq --filter "label=minik8s.io/node=$n")"
		if [ -n "$ids" ]; then
			# shellcheck disable=SC2086 # one ID per word
			docker rm -f -v $ids >/dev/null
		fi
	done
	# compose also tries to remove a pod network of the same name that is
	# not the cluster's (and fails while others use it): what counts is that
	# nothing of the cluster is left.
	compose --profile monitoring down -v --remove-orphans --timeout 10 || true
	local left
	left="$(leftovers)"
	if [ -n "$left" ]; then
		echo "make down left behind:" >&2
		echo "$left" >&2
		exit 1
	fi
	# What init wrote (.minik8s/local of `make run` stays).
	local generated=(pki cluster etcd join nodes admin.conf) paths=() f
	for f in "${generated[@]}"; do
		[ -e "$root/.minik8s/$f" ] && paths+=("$f")
	done
	if [ ${#paths[@]} -gt 0 ] && ! (cd "$root/.minik8s" && rm -rf "${paths[@]}" 2>/dev/null); then
		# Pods wrote into emptyDir folders as root: remove them as root.
		docker run --rm --network none -v "$root/.minik8s:/minik8s" --entrypoint /cluster-init \
			minik8s/minictl:dev clean "${paths[@]/#//minik8s/}"
	fi
	rmdir "$root/.minik8s" 2>/dev/null || true
	echo "The minik8s cluster is removed."
}

case "${1:-}" in
up) up ;;
down) down ;;
compose)
	shift
	compose "$@"
	;;
*)
	echo "usage: $0 up|down|compose ARGS..." >&2
	exit 2
	;;
esac
