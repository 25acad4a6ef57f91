#!/usr/bin/env bash
# Installs today's peers from Debian's unstable suite (sid) into a private
# directory, without touching the system's apt sources, glibc or runc:
#   runc 1.3.6 and crun 1.28 (need glibc >= 2.38: sid's libc6 is unpacked
#   beside them and the binaries get patchelf --set-interpreter/--force-rpath;
#   this works because runc and crun re-execute /proc/self/exe, which keeps
#   the patched interpreter), containerd 2.1 (needs glibc 2.34: runs as is),
#   Docker 28 (docker.io's dockerd and docker-cli's docker: run on
#   bookworm's glibc as they are), and runc's source package (its bats suite
#   and test helpers).
#
# Usage: tests/peers/install.sh        (idempotent; cached by version stamps)
#   NSRUN_PEERS_DIR   where to install (default /opt/nsrun-peers)
#   NSRUN_PEERS_REFRESH=1  re-read sid's index even if everything is cached
# Afterwards "$NSRUN_PEERS_DIR/env" holds shell assignments:
#   NSRUN_PEER_RUNC      runc 1.3.6 binary
#   NSRUN_PEER_CRUN      crun 1.28 binary
#   NSRUN_PEER_CONTAINERD_BIN  directory with containerd, ctr, containerd-shim-runc-v2
#   NSRUN_PEER_RUNC_SRC  unpacked runc source tree (tests/integration/*.bats)
#   NSRUN_PEER_DOCKER_BIN  directory with dockerd and docker 28, beside links
#                        to containerd 2.1 and its shim (a PATH head for
#                        dockerd; no runc there, so `runc` stays the system's)
# and "$NSRUN_PEERS_DIR/versions" the Debian versions installed.
set -euo pipefail

# The versions the tests and the README name. sid only keeps its newest
# upload: if it moved on, the install fails loudly instead of testing
# against a peer nobody reviewed (update these and the README together).
RUNC_VERSION=1.3.6+ds1-1
CRUN_VERSION=1.28-1
CONTAINERD_VERSION=2.1.9+ds1-5
DOCKER_VERSION=28.5.2+dfsg4-5

DIR=${NSRUN_PEERS_DIR:-/opt/nsrun-peers}
mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9

APTD=$DIR/apt
mkdir -p "$APTD/debs" "$DIR/root" "$DIR/bin" "$DIR/src"
# shellcheck source=tests/peers/apt.sh
source "$(dirname "$0")/apt.sh"
private_apt "$APTD" \
  "deb [signed-by=$DEBIAN_KEYRING] http://deb.debian.org/debian sid main" \
  "deb-src [signed-by=$DEBIAN_KEYRING] http://deb.debian.org/debian sid main"

stamp_ok() { [ -f "$DIR/.stamp-$1" ] && [ "$(cat "$DIR/.stamp-$1")" = "$2" ]; }

updated=0
apt_update() {
  [ "$updated" = 1 ] && return
  apt-get "${APT[@]}" -qq update
  updated=1
}
[ "${NSRUN_PEERS_REFRESH:-0}" = 1 ] && apt_update

# Download pkg=version (or the candidate when no version) and unpack into root.
unpack() {
  local spec=$1
  (cd "$APTD/debs" && apt-get "${APT[@]}" -qq download "$spec")
  local name=${spec%%=*}
  local deb
  deb=$(ls -t "$APTD/debs/${name}_"*.deb | head -1)
  dpkg-deb -x "$deb" "$DIR/root"
}

LIB=$DIR/root/usr/lib/x86_64-linux-gnu
LD=$LIB/ld-linux-x86-64.so.2
patch_bin() { # src dst
  cp "$1" "$2.tmp"
  patchelf --set-interpreter "$LD" --force-rpath --set-rpath "$LIB" "$2.tmp"
  mv "$2.tmp" "$2"
}

# sid's glibc and the shared libraries runc and crun link.
LIBS="libc6 libgcc-s1 libseccomp2 libcap2 libjson-c5 libblake3-0 libsystemd0"
if ! stamp_ok libs "$LIBS" || [ ! -e "$LD" ]; then
  apt_update
  for p in $LIBS; do unpack "$p"; done
  echo "$LIBS" >"$DIR/.stamp-libs"
fi

if ! stamp_ok runc "$RUNC_VERSION" || [ ! -x "$DIR/bin/runc" ]; then
  apt_update
  unpack "runc=$RUNC_VERSION"
  patch_bin "$DIR/root/usr/sbin/runc" "$DIR/bin/runc"
  echo "$RUNC_VERSION" >"$DIR/.stamp-runc"
fi

if ! stamp_ok crun "$CRUN_VERSION" || [ ! -x "$DIR/bin/crun" ]; then
  apt_update
  unpack "crun=$CRUN_VERSION"
  patch_bin "$DIR/root/usr/bin/crun" "$DIR/bin/crun"
  echo "$CRUN_VERSION" >"$DIR/.stamp-crun"
fi

if ! stamp_ok containerd "$CONTAINERD_VERSION" || [ ! -x "$DIR/root/usr/bin/containerd" ]; then
  apt_update
  unpack "containerd=$CONTAINERD_VERSION"
  echo "$CONTAINERD_VERSION" >"$DIR/.stamp-containerd"
fi

DOCKERBIN=$DIR/docker/bin
if ! stamp_ok docker "$DOCKER_VERSION" || [ ! -x "$DOCKERBIN/dockerd" ]; then
  apt_update
  unpack "docker.io=$DOCKER_VERSION"
  unpack "docker-cli=$DOCKER_VERSION"
  rm -rf "$DOCKERBIN"
  mkdir -p "$DOCKERBIN"
  ln -s "$DIR/root/usr/sbin/dockerd" "$DOCKERBIN/dockerd"
  ln -s "$DIR/root/usr/bin/docker" "$DOCKERBIN/docker"
  # dockerd starts the containerd it finds on its PATH, which runs the shim
  # it finds there: containerd 2.1's (Docker 28 needs containerd >= 1.7).
  for b in containerd containerd-shim-runc-v2 ctr; do
    ln -s "$DIR/root/usr/bin/$b" "$DOCKERBIN/$b"
  done
  echo "$DOCKER_VERSION" >"$DIR/.stamp-docker"
fi

SRCDIR=$DIR/src/runc-${RUNC_VERSION%%+*}
if ! stamp_ok runc-src "$RUNC_VERSION" || [ ! -d "$SRCDIR/tests/integration" ]; then
  apt_update
  rm -rf "$DIR/src/dl" "$SRCDIR"
  mkdir -p "$DIR/src/dl"
  (cd "$DIR/src/dl" && apt-get "${APT[@]}" -qq source --download-only "runc=$RUNC_VERSION" >/dev/null)
  dpkg-source --no-check -x "$DIR/src/dl/"runc_*.dsc "$SRCDIR" >/dev/null
  echo "$RUNC_VERSION" >"$DIR/.stamp-runc-src"
fi

# Each binary must run and say the version we stamped.
"$DIR/bin/runc" --version | grep "^runc version ${RUNC_VERSION%%+*}" >/dev/null ||
  { echo "peers: $DIR/bin/runc is not runc ${RUNC_VERSION%%+*}" >&2; exit 1; }
"$DIR/bin/crun" --version | grep "^crun version ${CRUN_VERSION%%-*}" >/dev/null ||
  { echo "peers: $DIR/bin/crun is not crun ${CRUN_VERSION%%-*}" >&2; exit 1; }
"$DIR/root/usr/bin/containerd" --version | grep " ${CONTAINERD_VERSION%%+*}" >/dev/null ||
  { echo "peers: containerd is not ${CONTAINERD_VERSION%%+*}" >&2; exit 1; }
for b in dockerd docker; do
  "$DOCKERBIN/$b" --version | grep "^Docker version ${DOCKER_VERSION%%+*}" >/dev/null ||
    { echo "peers: $DOCKERBIN/$b is not Docker ${DOCKER_VERSION%%+*}" >&2; exit 1; }
done

cat >"$DIR/env.tmp" <<ENV
NSRUN_PEER_RUNC=$DIR/bin/runc
NSRUN_PEER_CRUN=$DIR/bin/crun
NSRUN_PEER_CONTAINERD_BIN=$DIR/root/usr/bin
NSRUN_PEER_RUNC_SRC=$SRCDIR
NSRUN_PEER_DOCKER_BIN=$DOCKERBIN
ENV
mv "$DIR/env.tmp" "$DIR/env"
printf 'runc %s\ncrun %s\ncontainerd %s\ndocker %s\n' "$RUNC_VERSION" "$CRUN_VERSION" "$CONTAINERD_VERSION" "$DOCKER_VERSION" >"$DIR/versions"
