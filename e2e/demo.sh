#!/usr/bin/env bash
# make demo: ramp's loop on a local default, no cluster (see e2e/demo/main.go):
# a git server, the real Prometheus, two demo apps with load, and `ramp run`
# taking release 1.1.0 to promotion and rolling back release 1.2.0.
# Needs bin/ramp (`make demo` builds it) and a Prometheus: e2e/prometheus.sh
# picks bin/prometheus, or a fitting one on PATH, or builds it (saying so).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
prom="$(bash e2e/prometheus.sh)"
go build -o bin/ramp-demo ./e2e/demo
exec bin/ramp-demo --ramp bin/ramp --prometheus "$prom" "$@"
