#!/usr/bin/env bash
# Runs the walkthrough of README.md exactly as written, echoing each line:
# `make demo` and cmd/ramp's walkthrough test both use it, so the README
# stays true.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
script="$(awk '/<!-- walkthrough:start -->/{on=1; next} /<!-- walkthrough:end -->/{on=0} on && !/^```/' README.md)"
if [ -z "$script" ]; then
  echo "walkthrough.sh: no walkthrough block in README.md" >&2
  exit 2
fi
exec bash -euo pipefail -v -c "$script"
