#!/usr/bin/env bash
# Writes docs/cli/<binary>.md from each built binary's --help, so the flag
# reference is generated from the code. `make docs` runs it; `make
# docs-check` fails when the committed pages are stale.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/cli}
mkdir -p "$out"
page() { # name, command...
	local name=$1
	shift
	{
		echo "# \`$*\`"
		echo
		echo "Generated from \`$* --help\` by \`make docs\`; do not edit."
		echo
		echo '```'
		"bin/$@" --help 2>&1 | sed 's/[[:space:]]*$//'
		echo '```'
	} >"$out/$name.md"
}
for b in apiserver scheduler controller-manager kubelet minictl; do
	page "$b" "$b"
done
# minictl's verbs, one page each.
for verb in $(bin/minictl __complete "" 2>/dev/null | grep -v '^:' | cut -f1 | grep -v -E '^(completion|help)$'); do
	page "minictl-$verb" minictl "$verb"
done
for sub in "init phase" "token create" "token list" "rollout status" "rollout undo"; do
	page "minictl-${sub// /-}" minictl $sub
done
