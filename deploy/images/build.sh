#!/usr/bin/env bash
# Builds the minik8s images without any registry: the static Go binaries are
# compiled on the host, then `docker build` gets a context holding only the
# binary and its Dockerfile (FROM scratch, nothing is pulled).
#
#   deploy/images/build.sh            build minik8s/pause:3.10 and minik8s/testapp:v1
#   deploy/images/build.sh testapp    build only the test application
#   deploy/images/build.sh etcd apiserver scheduler controller-manager kubelet minictl
#                                     the images of the compose cluster (docker-compose.yaml)
#
# An image folder holding a `binaries` file (one Go package per line) gets
# those binaries, built in one `go build`, instead of its own main package.
#
# Environment: GO (default go), DOCKER (default docker).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
GO="${GO:-go}"
DOCKER="${DOCKER:-docker}"

declare -A tags=(
	[pause]="minik8s/pause:3.10"
	[testapp]="minik8s/testapp:v1"
	[etcd]="minik8s/etcd:dev"
	[apiserver]="minik8s/apiserver:dev"
	[scheduler]="minik8s/scheduler:dev"
	[controller-manager]="minik8s/controller-manager:dev"
	[kubelet]="minik8s/kubelet:dev"
	[minictl]="minik8s/minictl:dev"
)

images=("$@")
if [ ${#images[@]} -eq 0 ]; then
	images=(pause testapp)
fi

# Without the buildx plugin the docker CLI needs the classic builder; FROM
# scratch works the same on both.
if [ -z "${DOCKER_BUILDKIT:-}" ] && ! "$DOCKER" buildx version >/dev/null 2>&1; then
	export DOCKER_BUILDKIT=0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for name in "${images[@]}"; do
	tag="${tags[$name]:-}"
	if [ -z "$tag" ]; then
		echo "unknown image $name (known: ${!tags[*]})" >&2
		exit 2
	fi
	ctx="$work/$name"
	mkdir -p "$ctx"
	if [ -f "$here/$name/binaries" ]; then
		mapfile -t pkgs < <(grep -v '^[[:space:]]*\(#\|$\)' "$here/$name/binaries")
		(cd "$root" && CGO_ENABLED=0 "$GO" build -trimpath -buildvcs=false -ldflags='-s -w' \
			-o "$ctx/" "${pkgs[@]}")
	else
		(cd "$root" && CGO_ENABLED=0 "$GO" build -trimpath -buildvcs=false -ldflags='-s -w' \
			-o "$ctx/$name" "./deploy/images/$name")
	fi
	cp "$here/$name/Dockerfile" "$ctx/Dockerfile"
	# The builds are reproducible: an image whose context hash label matches
	# is up to date, and rebuilding it would only cost time.
	hash="$(cd "$ctx" && sha256sum -- * | sha256sum | cut -d' ' -f1)"
	if [ "$("$DOCKER" image inspect --format '{{index .Config.Labels "minik8s.io/context-hash"}}' "$tag" 2>/dev/null)" = "$hash" ]; then
		echo "up to date $tag"
		continue
	fi
	if ! out="$("$DOCKER" build --quiet --label "minik8s.io/context-hash=$hash" --tag "$tag" "$ctx" 2>&1)"; then
		echo "$out" >&2
		exit 1
	fi
	echo "built $tag"
done
