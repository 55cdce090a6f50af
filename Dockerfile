# podbus worker image. See docs/container.md.
#
#   docker build -t podbus .                       # or: scripts/build-image.sh
#   docker run --rm --read-only --tmpfs /tmp podbus --help
#
# The base is the public node:24-bookworm-slim. Where no registry is reachable,
# scripts/build-base-image.sh builds a local image with exactly that tag (debootstrap + the
# Node.js binary from the npm registry), so this file builds without pulling anything.
#
# Written for the classic builder as well as BuildKit (Debian's docker.io 20.10 and the
# testcontainers build API use the classic one): no RUN --mount, no heredocs, no COPY --chmod.

ARG BASE_IMAGE=node:24-bookworm-slim

# --- prod-deps: production node_modules only ------------------------------------------------
# Its own stage so it is cached on package*.json alone and never contains dev packages. Only the
# root package's dependencies: the emulator workspaces (packages/*) and what they need stay out
# of the image (--workspaces=false), and podbus loads them only for `podbus local|emulator`.
FROM ${BASE_IMAGE} AS prod-deps
# Extra CA certificates (PEM text) trusted by npm during the build only, for networks whose
# egress goes through a TLS-intercepting proxy. Empty by default; never reaches the final image.
ARG BUILD_CA_CERTS=""
ARG NPM_CONFIG_REGISTRY=https://registry.npmjs.org/
WORKDIR /build
COPY package.json package-lock.json ./
# --ignore-scripts: no production dependency needs an install script, and skipping them keeps
# the build free of arbitrary code and of compilers. Then drop what only editors and humans read
# (type declarations, dependency source maps, READMEs and changelogs; licenses stay): about 40 MB,
# mostly @kubernetes/client-node's generated models. Browser-only builds go too: Node resolves the
# Azure packages' "import"/"require" exports, never their "browser"/"react-native"/"workerd" ones,
# and @azure/msal-browser (11 MB) is reached only from @azure/identity's browser build.
# test/system/image.test.ts imports every production dependency in the image to hold this.
RUN if [ -n "$BUILD_CA_CERTS" ]; then \
      printf '%s\n' "$BUILD_CA_CERTS" > /tmp/build-ca.pem && export NODE_EXTRA_CA_CERTS=/tmp/build-ca.pem; \
    fi \
 && npm ci --omit=dev --workspaces=false --ignore-scripts --no-audit --no-fund --cache /tmp/npm-cache \
 && rm -rf /tmp/npm-cache /tmp/build-ca.pem \
 && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \
      -o -name '*.map' -o -iname 'readme*' -o -iname 'changelog*' -o -iname 'history.md' \) -delete \
 && rm -rf node_modules/@types node_modules/@azure/msal-browser \
      node_modules/@azure/*/dist/browser node_modules/@azure/*/dist/react-native \
      node_modules/@azure/*/dist/workerd

# --- build: dev dependencies + TypeScript compile ---------------------------------------------
# The emulator packages are built here too: podbus's sources import their types.
FROM ${BASE_IMAGE} AS build
ARG BUILD_CA_CERTS=""
ARG NPM_CONFIG_REGISTRY=https://registry.npmjs.org/
WORKDIR /build
COPY package.json package-lock.json ./
COPY packages/servicebus-emulator/package.json packages/servicebus-emulator/
COPY packages/kubernetes-emulator/package.json packages/kubernetes-emulator/
COPY packages/entra-emulator/package.json packages/entra-emulator/
RUN if [ -n "$BUILD_CA_CERTS" ]; then \
      printf '%s\n' "$BUILD_CA_CERTS" > /tmp/build-ca.pem && export NODE_EXTRA_CA_CERTS=/tmp/build-ca.pem; \
    fi \
 && npm ci --ignore-scripts --no-audit --no-fund --cache /tmp/npm-cache \
 && rm -rf /tmp/npm-cache /tmp/build-ca.pem
# The rest of the context (.dockerignore is an allowlist: sources, bin/, scripts/, schema/,
# the packages' sources).
COPY . .
# `npm run build` goes through scripts/with-node24, which is a no-op here: Node 24 is already
# on PATH. schema/ (the published JSON Schemas) may not be in the context; make sure it exists
# so the runtime stage can copy it either way.
RUN node --version \
 && npm run build \
 && mkdir -p schema \
 && test -f dist/main.js

# --- runtime ----------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS runtime

# A dedicated numeric user (not in any host's usual uid range). The app's files stay owned by
# root and read-only to it; the process only ever writes to /tmp (an emptyDir/tmpfs).
# /var/lib/podbus is an empty mount point owned by that user, so a named volume mounted there
# (docker-compose.yml's offline profile: the emulators' credentials) starts out writable by it.
RUN groupadd --system --gid 10001 podbus \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /tmp \
      --shell /usr/sbin/nologin podbus \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/podbus

ENV NODE_ENV=production \
    HOME=/tmp
WORKDIR /app
COPY --from=prod-deps /build/node_modules ./node_modules
COPY --from=build /build/package.json ./package.json
COPY --from=build /build/dist ./dist
COPY --from=build /build/bin ./bin
COPY --from=build /build/schema ./schema

# Labels last: CREATED changes on every build and would otherwise defeat the layer cache.
ARG BASE_IMAGE
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="podbus" \
      org.opencontainers.image.description="Turns Azure Service Bus challenge messages into Kubernetes Pods across a pool of clusters." \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"

# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
# /healthz, /readyz and /metrics (http.port).
EXPOSE 9090
# The worker drains on SIGTERM (stops receiving, finishes in-flight messages, then exits);
# Kubernetes and `docker stop` send SIGTERM first. Node runs as PID 1 and installs its own
# handlers, so no init process is needed.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "--enable-source-maps", "/app/bin/podbus.js"]
CMD ["run"]
