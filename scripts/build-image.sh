#!/usr/bin/env bash
# Builds the podbus image from the Dockerfile, offline-registry style:
#   1. scripts/ensure-docker.sh      (a running engine; installs/starts dockerd if needed)
#   2. scripts/build-base-image.sh   (node:24-bookworm-slim built locally when absent)
#   3. docker build with OCI label args (version from package.json, git revision, date) and the
#      machine's locally added CA certificates for npm inside the build (see docs/container.md).
#
# Usage: scripts/build-image.sh [TAG] [extra docker build args...]   (TAG default podbus:dev)
# Environment:
#   PODBUS_BUILD_CA_FILE  PEM file of extra CAs for npm in the build (default: the contents of
#                         /usr/local/share/ca-certificates/*.crt, if any)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

tag="${1:-podbus:dev}"
[ $# -gt 0 ] && shift

scripts/ensure-docker.sh
scripts/build-base-image.sh

ca_pem=""
if [ -n "${PODBUS_BUILD_CA_FILE:-}" ]; then
  ca_pem="$(cat "$PODBUS_BUILD_CA_FILE")"
elif compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  ca_pem="$(cat /usr/local/share/ca-certificates/*.crt)"
fi

version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json | head -n 1)"
revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
created="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

started=$SECONDS
docker build \
  --build-arg "VERSION=${version:-0.0.0-dev}" \
  --build-arg "REVISION=$revision" \
  --build-arg "CREATED=$created" \
  --build-arg "BUILD_CA_CERTS=$ca_pem" \
  -t "$tag" "$@" .
size="$(docker image inspect --format '{{.Size}}' "$tag")"
printf 'build-image: built %s in %ss, size %s MB\n' "$tag" "$((SECONDS - started))" \
  "$(awk -v b="$size" 'BEGIN { printf "%.1f", b / 1000 / 1000 }')" >&2
