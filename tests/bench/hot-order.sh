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
# How: tests/bench/fcov.c runs a workload of the runtime's everyday commands
# on a busybox bundle under ptrace, with a breakpoint on the entry of every
# function of the binary (Rust, std and the static libc alike) in every
# process image of it, init and exec included; the list is the functions that
# ran, in first-run order. It is a link-time hint only: a name a later build
# no longer has is skipped, and a stale list costs RSS, never correctness.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "hot-order.sh: must run as root" >&2; exit 1; }

triple=$(rustc -vV | sed -n 's/^host: //p')

T=$(mktemp -d /tmp/nsrun-hot.XXXXXX)
root=$T/state
tag=hot-$$
bin=$repo/target/$triple/release/nsrun
cleanup() {
	for id in $("$bin" --root "$root" list -q 2>/dev/null); do
		"$bin" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
	done
	rm -rf "$T"
}
trap cleanup EXIT

echo "building nsrun and fcov" >&2
(cd "$repo" && cargo build --release --bin nsrun >&2)
gcc -O2 -Wall -o "$T/fcov" "$here/fcov.c"
nm --defined-only "$bin" | awk '$2 ~ /^[tTwW]$/ { print $1, $3 }' >"$T/syms"

# The bundle: static busybox and nsrun's own spec.
B=$T/bundle
mkdir -p "$B/rootfs/bin"
cp /bin/busybox "$B/rootfs/bin/busybox"
for a in true sh sleep echo cat; do ln -s busybox "$B/rootfs/bin/$a"; done
(cd "$B" && "$bin" spec)
jq '.process.args=["/bin/true"] | .process.terminal=false
	| .linux.resources = {"memory": {"limit": 67108864}, "pids": {"limit": 100}}' \
	"$B/config.json" >"$B/c.json" && mv "$B/c.json" "$B/config.json"
S=$T/sleep
mkdir -p "$S"
jq --arg r "$B/rootfs" '.process.args=["/bin/sleep","1000"] | .root.path=$r' "$B/config.json" >"$S/config.json"

# The workload, run by one shell under fcov.
cat >"$T/work.sh" <<EOF
set -u
bin=$bin root=$root tag=$tag B=$B S=$S T=$T
n() { "\$bin" --root "\$root" "\$@"; }
for i in 1 2 3 4 5; do
	n run -b "\$B" "\$tag-run-\$i"
	n create -b "\$B" "\$tag-c-\$i"
	n state "\$tag-c-\$i" >/dev/null
	n start "\$tag-c-\$i"
	n delete "\$tag-c-\$i" 2>/dev/null || n delete --force "\$tag-c-\$i"
done
n run -d -b "\$S" "\$tag-sleep" </dev/null >/dev/null 2>&1
for i in 1 2 3 4 5; do
	n exec "\$tag-sleep" /bin/true
	n exec -d "\$tag-sleep" /bin/true
done
n list >/dev/null
n list -q >/dev/null
n ps "\$tag-sleep" >/dev/null
n pause "\$tag-sleep"
n resume "\$tag-sleep"
n events --stats "\$tag-sleep" >/dev/null
n update --pids-limit 200 "\$tag-sleep"
n kill "\$tag-sleep" KILL
sleep 0.2
n delete "\$tag-sleep" 2>/dev/null || n delete --force "\$tag-sleep"
n state nope-\$\$ 2>/dev/null || true
n --log-format json delete nope-\$\$ 2>/dev/null || true
n features >/dev/null
"\$bin" --version >/dev/null
(cd "\$T" && mkdir -p specdir && cd specdir && "\$bin" spec --rootless)

EOF
echo "running the workload under fcov" >&2
FCOV_BINARY=$bin "$T/fcov" "$T/syms" "$T/hot.order" -- bash "$T/work.sh"
out=$repo/src/hot.order
mv "$T/hot.order" "$out"
echo "wrote $out: $(wc -l <"$out") functions" >&2
