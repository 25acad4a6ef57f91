#!/usr/bin/env bash
# Build nsrun and run a real container from a bundle this script makes
# itself: a rootfs holding only the repo's static payload program
# (tests/payload/payload.c) and a marker file, and `nsrun spec` for the
# config. Nothing to download beyond crates. Run as root. The end of the
# output says what happened; QUICKSTART_VERBOSE=1 also shows the payload's
# own key=value report.
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
# A file only this bundle's rootfs has: the container reads it back.
token=$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
echo "marker=$token" >"$bundle/rootfs/marker"
(cd "$bundle" && "$nsrun" spec)
# runc's template runs "sh" on a terminal and names the host "runc": run the
# payload without a terminal, and call the container "nsrun".
sed -i 's/"terminal": true/"terminal": false/; s/"hostname": "runc"/"hostname": "nsrun"/;
	s/"sh"$/"\/payload", "uts", "pid", "ns", "cat:\/marker"/' "$bundle/config.json"

echo "+ nsrun run -b $bundle $id"
status=0
start=$(date +%s%N)
"$nsrun" --root "$root" run -b "$bundle" "$id" >"$bundle/out" || status=$?
ms=$((($(date +%s%N) - start) / 1000000))
# The payload's own report, when asked for or when something went wrong.
if [ "${QUICKSTART_VERBOSE:-0}" = 1 ] || [ "$status" != 0 ]; then cat "$bundle/out"; fi

got() { sed -n "s/^$1=//p" "$bundle/out"; }
host_ns() { readlink "/proc/self/ns/$1" | tr -dc 0-9; }
if [ "$(got pid)" = 1 ]; then pid1="ran as pid 1"; else pid1="ran as pid $(got pid) (not 1!)"; fi
echo
echo "What happened: nsrun ran /payload as a container in $ms ms. The container"
echo "  - $pid1 in its own namespaces (inode numbers, container vs host):"
for n in pid mnt uts ipc net; do
	c=$(got "ns.$n")
	h=$(host_ns "$n")
	if [ -n "$c" ] && [ "$c" != "$h" ]; then own=own; else own="NOT its own"; fi
	printf '      %-4s %-11s host %-11s %s\n' "$n" "${c:-?}" "$h" "$own"
done
echo "  - had the hostname \"$(got hostname)\" (the host's is \"$(hostname)\")"
if [ "$(got marker)" = "$token" ]; then
	echo "  - saw the bundle's rootfs as / (it read back /marker, written there by this script)"
else
	echo "  - did NOT see the bundle's rootfs as / (no /marker)"
fi
if [ "$status" = 0 ]; then
	echo "  - exited with status 0: it worked."
else
	echo "  - exited with status $status: it failed (its report and nsrun's error are above)."
fi
exit "$status"
