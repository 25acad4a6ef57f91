#!/usr/bin/env bash
# Build nsrun and run a real container from a bundle this script makes
# itself: a rootfs holding only the repo's static payload program
# (tests/payload/payload.c), and `nsrun spec` for the config. Nothing to
# download beyond crates. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --bin nsrun
# cargo builds into target/<host triple>/release (see .cargo/config.toml).
nsrun=$PWD/target/$(rustc -vV | sed -n 's/^host: //p')/release/nsrun

bundle=$(mktemp -d /tmp/nsrun-quickstart.XXXXXX)
root=$bundle/state
id=quickstart-$$
cleanup() {
	"$nsrun" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
	rm -rf "$bundle"
}
trap cleanup EXIT

mkdir -p "$bundle/rootfs"
gcc -static -O2 -o "$bundle/rootfs/payload" tests/payload/payload.c
(cd "$bundle" && "$nsrun" spec)
# runc's template runs "sh" on a terminal; run the payload without one.
sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"\/payload", "id", "uts", "pid", "ns", "mounts"/' "$bundle/config.json"

echo "+ nsrun run -b $bundle $id"
"$nsrun" --root "$root" run -b "$bundle" "$id"
echo "+ exit status: $?"
