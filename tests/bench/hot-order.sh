#!/bin/bash
# Regenerates src/hot.order: the functions nsrun executes on its common paths,
# which build.rs hands to LLD (--symbol-ordering-file) so that they sit
# together at the front of .text. Run by hand as root after large changes:
#
#   tests/bench/hot-order.sh
#
# Why: a fault on a file page maps the 64 KiB around it (fault-around), so
# nsrun's peak RSS and its page-fault time are set by how many 64 KiB windows
# of the binary a run touches. Without an order, the few hundred KiB a run
# executes are spread over the whole 2.8 MiB of .text.
#
# How: an instrumented build (-Cprofile-generate, --cfg nsrun_profile, whose
# processes write their counters before _exit and before the container's
# execve) runs a workload of the runtime's everyday commands on a busybox
# bundle; every function whose entry count is non-zero goes into the list,
# most-called first. The list is a link-time hint only: a name a later build
# no longer has is skipped, and a stale list costs RSS, never correctness.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "hot-order.sh: must run as root" >&2; exit 1; }

triple=$(rustc -vV | sed -n 's/^host: //p')
tools=$(rustc --print sysroot)/lib/rustlib/$triple/bin
[ -x "$tools/llvm-profdata" ] || { echo "hot-order.sh: needs llvm-profdata (rustup component add llvm-tools)" >&2; exit 1; }

T=$(mktemp -d /tmp/nsrun-hot.XXXXXX)
prof=$T/prof
root=$T/state
tag=hot-$$
mkdir -p "$prof"
cleanup() {
	for id in $("$bin" --root "$root" list -q 2>/dev/null); do
		"$bin" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
	done
	rm -rf "$T"
}
trap cleanup EXIT

# The instrumented build. RUSTFLAGS replaces .cargo/config.toml's rustflags,
# so crt-static is repeated here: the layout must be the shipped one's.
echo "building the instrumented nsrun" >&2
(cd "$repo" && RUSTFLAGS="-C target-feature=+crt-static -Cprofile-generate=$prof --cfg nsrun_profile" \
	cargo build --release --bin nsrun --target-dir target/profile >&2)
bin=$repo/target/profile/$triple/release/nsrun

# The bundle: static busybox, nsrun's own spec, and the counters' directory
# bound at the same path inside, so the container's init can write them.
B=$T/bundle
mkdir -p "$B/rootfs/bin"
cp /bin/busybox "$B/rootfs/bin/busybox"
for a in true sh sleep echo cat; do ln -s busybox "$B/rootfs/bin/$a"; done
(cd "$B" && "$bin" spec)
jq --arg p "$prof" '.process.args=["/bin/true"] | .process.terminal=false
	| .mounts += [{"destination": $p, "type": "bind", "source": $p, "options": ["rbind", "rw"]}]
	| .linux.resources = {"memory": {"limit": 67108864}, "pids": {"limit": 100}}' \
	"$B/config.json" >"$B/c.json" && mv "$B/c.json" "$B/config.json"
S=$T/sleep
mkdir -p "$S"
jq --arg r "$B/rootfs" '.process.args=["/bin/sleep","1000"] | .root.path=$r' "$B/config.json" >"$S/config.json"

n() { "$bin" --root "$root" "$@"; }
echo "running the workload" >&2
for i in $(seq 5); do
	n run -b "$B" "$tag-run-$i"
	n create -b "$B" "$tag-c-$i"
	n state "$tag-c-$i" >/dev/null
	n start "$tag-c-$i"
	n delete "$tag-c-$i" 2>/dev/null || n delete --force "$tag-c-$i"
done
n run -d -b "$S" "$tag-sleep" </dev/null >/dev/null 2>&1
for i in $(seq 5); do
	n exec "$tag-sleep" /bin/true
	n exec -d "$tag-sleep" /bin/true
done
n list >/dev/null
n list -q >/dev/null
n ps "$tag-sleep" >/dev/null
n pause "$tag-sleep"
n resume "$tag-sleep"
n events --stats "$tag-sleep" >/dev/null
n update --pids-limit 200 "$tag-sleep"
n kill "$tag-sleep" KILL
sleep 0.2
n delete "$tag-sleep" 2>/dev/null || n delete --force "$tag-sleep"
n state nope-$$ 2>/dev/null || true
n --log-format json delete nope-$$ 2>/dev/null || true
n features >/dev/null
"$bin" --version >/dev/null
(cd "$T" && mkdir -p specdir && cd specdir && "$bin" spec --rootless)

echo "extracting the order" >&2
"$tools/llvm-profdata" merge -o "$T/all.profdata" "$prof"/*.profraw
# `show --all-functions` prints "  NAME:" then "    Function count: N" per
# function. Internal functions are named "file;symbol": keep the symbol.
"$tools/llvm-profdata" show --all-functions "$T/all.profdata" |
	awk '/^  [^ ].*:$/ { name = substr($0, 3, length($0) - 3); next }
	     /Function count:/ { if ($3 > 0) { sub(/^.*;/, "", name); print $3, name } }' |
	sort -k1,1nr -k2 | awk '!seen[$2]++ { print $2 }' >"$T/hot.order"
out=$repo/src/hot.order
mv "$T/hot.order" "$out"
echo "wrote $out: $(wc -l <"$out") functions" >&2
