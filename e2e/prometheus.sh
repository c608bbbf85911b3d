#!/usr/bin/env bash
# Prints the Prometheus binary the demo runs: bin/prometheus when it is there,
# else a `prometheus` on PATH whose version fits (3.x: the major version the
# tests run, built from module version $PROM_VER), else it builds
# bin/prometheus with `make tool-prometheus`, saying first what and how long.
# With --check it builds nothing: it exits 3 when a build would be needed.
# What it chose and why goes to stderr; the path alone to stdout.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
check=false
[ "${1:-}" = "--check" ] && check=true
want_major=3

if [ -x bin/prometheus ]; then
  echo "demo: Prometheus: bin/prometheus" >&2
  echo "bin/prometheus"
  exit 0
fi
if p="$(command -v prometheus)"; then
  v="$("$p" --version 2>&1 | sed -n 's/^prometheus, version \([0-9][0-9.]*\).*/\1/p' | head -1)"
  if [ -n "$v" ] && [ "${v%%.*}" = "$want_major" ]; then
    echo "demo: Prometheus: $p (version $v, on PATH)" >&2
    echo "$p"
    exit 0
  fi
  echo "demo: $p on PATH is Prometheus version ${v:-unknown}; the demo needs ${want_major}.x" >&2
fi
echo "demo: building Prometheus ${PROM_VER:-} from the Go module proxy into bin/prometheus:" >&2
echo "      first run only, about 5 min (downloads and a build on 2 cores); later runs start at once." >&2
echo "      (A Prometheus ${want_major}.x on PATH is used instead, when there is one.)" >&2
if $check; then
  exit 3
fi
make --no-print-directory tool-prometheus >&2
echo "bin/prometheus"
