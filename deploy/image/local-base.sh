#!/usr/bin/env bash
# Builds a stand-in for node:20-bookworm-slim in the local container storage, for machines
# that reach Debian's and npm's registries but no container registry (this project's dev and
# CI machines). It is what the official image is: Debian bookworm (debootstrap minbase) with
# Node 20 and npm under /usr/local, here this machine's own Node 20. Then build as usual:
#
#   sudo deploy/image/local-base.sh
#   sudo buildah bud --pull=never -t multi-networkpolicy-tc:dev .
#
# Needs root, buildah and debootstrap (Debian packages).
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "local-base.sh: run as root" >&2; exit 1; }
for tool in buildah debootstrap node npm; do
  command -v "$tool" >/dev/null || { echo "local-base.sh: $tool is not installed" >&2; exit 1; }
done
version=$(node -p process.versions.node)
[ "${version%%.*}" = 20 ] || { echo "local-base.sh: needs Node 20, this machine has $version" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >/dev/null
rm -f "$root"/var/cache/apt/archives/*.deb

install -D -m 0755 "$(readlink -f "$(command -v node)")" "$root/usr/local/bin/node"
npm_dir=$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)
mkdir -p "$root/usr/local/lib/node_modules"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"

env_args=(--env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env "NODE_VERSION=$version")
# Where the npm registry is reached through a TLS-intercepting proxy, trust what this host trusts.
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  install -D -m 0644 "$NODE_EXTRA_CA_CERTS" "$root/etc/ssl/certs/extra-ca.crt"
  env_args+=(--env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/extra-ca.crt)
fi

ctr=$(buildah from scratch)
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
cp -a "$root/." "$(buildah mount "$ctr")/"
buildah config "${env_args[@]}" --cmd node "$ctr"
buildah commit -q "$ctr" docker.io/library/node:20-bookworm-slim
echo "local-base.sh: docker.io/library/node:20-bookworm-slim (Node $version) is in local storage"
