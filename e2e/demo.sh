#!/usr/bin/env bash
# make demo: the README walkthrough against a scratch repository, with a
# git identity of its own so it runs on a fresh machine.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export GIT_CONFIG_NOSYSTEM=1
start=$(date +%s)
"$root/e2e/walkthrough.sh"
echo
echo "demo finished in $(( $(date +%s) - start ))s; the release repository is the 'repo' folder printed by pwd above (git log it)."
