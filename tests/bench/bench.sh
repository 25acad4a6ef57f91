#!/bin/bash
# nsrun benchmark: runc, crun and nsrun side by side, as paired ratios.
# Run by hand as root (not part of the test suite):
#
#   tests/bench/bench.sh [--main] [--stage] [--dropin]
#
#   --main    runtimes: run back to back, run isolated, lifecycle, exec,
#             peak RSS, stripped size (the default when no flag is given)
#   --stage   the nsexec stage microbenchmark (issue #2): runc 1.1.5's C
#             nsexec vs libnsexec.a (both profiles) in the same C host, plus
#             the size that linking each adds to a stripped C program
#   --dropin  stock runc vs runc rebuilt with libnsexec ($RUNC_DROPIN)
#
# Environment:
#   BENCH_UNITS (20)  timed units per figure; BENCH_WARM (2) warm-up rounds;
#   BENCH_OPS (10)    operations per unit;
#   NSRUN             nsrun binary (default target/<host triple>/release/nsrun)
#   LIBNSEXEC         libnsexec.a (default target/<host triple>/release/libnsexec.a,
#                     kept up to date with `cargo build --release --lib`)
#   LIBNSEXEC_11      the runc-1-1 profile's libnsexec.a (default
#                     target/runc-1-1/<host triple>/release/libnsexec.a, kept up to date)
#   RUNC_DROPIN       runc linked with libnsexec (for --dropin)
#   RUNC_CONTROL      the same runc rebuilt on its own C nsexec (default
#                     ../../target/dropin/runc-c, built with go if missing)
#   OUT               markdown results file (default tests/bench/last-results.md)
#   BENCH_RAW         if set, a directory to copy the raw per-unit results to
#
# Method (shared/docs/bench-baseline.md): a static driver (loop.c) times units
# of OPS operations with fork/exec/wait4; a figure is the median of UNITS
# units after WARM rounds, divided by OPS. Units of the runtimes alternate
# (runc crun nsrun floor runc crun ...), and a ratio is the median of the
# per-round ratios. Peak RSS is wait4()'s ru_maxrss, which covers the largest
# process of the runtime's tree (the runtime reaps its children).
#
# crun 1.8.1 refuses this machine's hybrid layout ("cgroups in hybrid mode not
# supported, drop all controllers from cgroupv2": hugetlb sits on the v2 side).
# What works: a holder process in a private mount namespace with a fresh tmpfs
# on /sys/fs/cgroup and only the v1 hierarchies bound back in, so crun sees a
# pure legacy layout; the driver setns()es crun's commands into it (a few µs).
# Merely unmounting /sys/fs/cgroup/unified is NOT enough: crun then creates
# <id>/cgroup.procs directories on the host's /sys/fs/cgroup tmpfs under the
# hidden mountpoint, which stay behind. Mounting hugetlb as v1 is avoided
# too: it would take the controller away from the host's v2 hierarchy while
# the benchmark runs. runc and nsrun run on the host layout as it is.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
UNITS=${BENCH_UNITS:-20}
WARM=${BENCH_WARM:-2}
OPS=${BENCH_OPS:-10}
OUT=${OUT:-$here/last-results.md}
# cargo builds into target/<host triple>/release (.cargo/config.toml names the target).
triple=$(rustc -vV 2>/dev/null | sed -n 's/^host: //p')
NSRUN=${NSRUN:-$repo/target/$triple/release/nsrun}
lib_given=${LIBNSEXEC:-} lib11_given=${LIBNSEXEC_11:-}
LIBNSEXEC=${LIBNSEXEC:-$repo/target/$triple/release/libnsexec.a}
LIBNSEXEC_11=${LIBNSEXEC_11:-$repo/target/runc-1-1/$triple/release/libnsexec.a}
RUNC=/usr/sbin/runc
CRUN=/usr/bin/crun
NSENTER_SRC=/usr/share/gocode/src/github.com/opencontainers/runc/libcontainer/nsenter

do_main=0 do_stage=0 do_dropin=0
for a in "$@"; do
	case $a in
	--main) do_main=1 ;;
	--stage) do_stage=1 ;;
	--dropin) do_dropin=1 ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench.sh: unknown argument $a (try --help)" >&2; exit 2 ;;
	esac
done
[ $((do_main + do_stage + do_dropin)) -eq 0 ] && do_main=1
[ "$(id -u)" -eq 0 ] || { echo "bench.sh: must run as root" >&2; exit 1; }

tag=bench-$$                    # prefix of every container id and cgroup
T=$(mktemp -d /tmp/bench.XXXXXX) # bundle, tools, raw results
R=/run/$tag                      # --root dirs of the runtimes
holder=""                        # pid of crun's mount-namespace holder
notes=()                         # lines for the Notes list of the report
declare -A pre nsf               # runtime -> command prefix, mount-ns file
mkdir -p "$R"

note() { notes+=("$*"); echo "note: $*" >&2; }

# Every container we made is deleted, the holder is stopped, and cgroups
# named after our tag are removed, however the script ends.
cleanup() {
	set +e
	local rt bin id
	for rt in runc nsrun dropin control; do
		bin=${pre[$rt]:-}; bin=${bin%% *}
		[ -d "$R/$rt" ] && [ -n "$bin" ] || continue
		# The state dirs too, in case `list` is what is broken.
		for id in $( ("$bin" --root "$R/$rt" list -q; ls "$R/$rt") 2>/dev/null | sort -u); do
			"$bin" --root "$R/$rt" delete -f "$id" >/dev/null 2>&1
		done
	done
	if [ -n "$holder" ] && [ -d "$R/crun" ]; then
		for id in $( (nsenter --mount="/proc/$holder/ns/mnt" "$CRUN" --root "$R/crun" list -q; ls "$R/crun") 2>/dev/null | sort -u); do
			nsenter --mount="/proc/$holder/ns/mnt" "$CRUN" --root "$R/crun" delete -f "$id" >/dev/null 2>&1
		done
	fi
	if [ -n "$holder" ]; then
		kill "$holder" 2>/dev/null
		wait "$holder" 2>/dev/null
	fi
	find /sys/fs/cgroup -mindepth 2 -maxdepth 2 -type d -name "$tag-*" 2>/dev/null |
		while read -r d; do find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done
	rm -rf "$R" "$T"
	if [ "$(stat -c %u /dev/null)" != 0 ]; then
		echo "bench.sh: WARNING: /dev/null is no longer owned by root!" >&2
		exit 3
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- statistics
# Raw files hold "NAME ROUND NS MAXRSS_KIB" lines (loop.c / stage.c).
median() { sort -g | awk '{a[NR]=$1} END {if (NR) printf "%.2f", (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ms_of() { awk -v n="$2" -v ops="$OPS" '$1==n {print $3/ops/1e6}' "$1" | median; }
best_of() { awk -v n="$2" -v ops="$OPS" '$1==n {print $3/ops/1e6}' "$1" | sort -g | awk 'NR==1 {printf "%.2f", $1}'; }
rss_of() { awk -v n="$2" '$1==n {print $4/1024}' "$1" | median; }
# Median over rounds of A's unit time / B's unit time in the same round.
ratio_of() {
	awk -v a="$2" -v b="$3" '$1==a {x[$2]=$3} $1==b {y[$2]=$3}
		END {for (r in x) if ((r in y) && y[r] > 0) print x[r]/y[r]}' "$1" | median
}
cell() { [ -n "$1" ] && printf '%s' "$1" || printf '—'; }

# ---------------------------------------------------------------- tools
echo "building tools in $T/bin" >&2
mkdir -p "$T/bin"
for p in loop floor stage; do
	gcc -O2 -static -Wall -o "$T/bin/$p" "$here/$p.c"
done

# The busybox bundle: static /bin/busybox + applet links, `runc spec`,
# /bin/true, no terminal, namespaces pid net ipc uts mount.
B=$T/bundle
mkdir -p "$B/rootfs/bin" "$B/rootfs/proc" "$B/rootfs/dev" "$B/rootfs/sys"
cp /bin/busybox "$B/rootfs/bin/busybox"
for a in $(/bin/busybox --list); do
	[ "$a" = busybox ] || ln -s busybox "$B/rootfs/bin/$a"
done
(cd "$B" && "$RUNC" spec)
ns='[{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}]'
jq --argjson ns "$ns" '.process.args=["/bin/true"] | .process.terminal=false | .linux.namespaces=$ns' \
	"$B/config.json" >"$B/config.new" && mv "$B/config.new" "$B/config.json"
# The exec target: same rootfs, a long sleep.
S=$T/sleep
mkdir -p "$S"
jq --arg root "$B/rootfs" '.process.args=["/bin/sleep","100000"] | .root.path=$root' \
	"$B/config.json" >"$S/config.json"

# The probe: same rootfs, exits 7.
P=$T/probe
mkdir -p "$P"
jq --arg root "$B/rootfs" '.process.args=["/bin/sh","-c","exit 7"] | .root.path=$root' \
	"$B/config.json" >"$P/config.json"

# ---------------------------------------------------------------- runtimes
# Which runtimes take part: name -> command prefix and namespace file.
pre[runc]="$RUNC --root $R/runc"; nsf[runc]=""

start_crun_holder() {
	mkdir -p "$T/cg-old"
	# The holder ignores Ctrl-C so that cleanup can still enter its
	# namespace to delete crun's containers; cleanup stops it with TERM.
	unshare -m --propagation private sh -ec '
		trap "" INT
		mount --rbind /sys/fs/cgroup "$1/cg-old"
		mount -t tmpfs -o mode=755 bench-cgroup /sys/fs/cgroup
		for d in "$1"/cg-old/*; do
			[ "$(stat -f -c %T "$d")" = cgroupfs ] || continue
			mkdir "/sys/fs/cgroup/${d##*/}"
			mount --bind "$d" "/sys/fs/cgroup/${d##*/}"
		done
		umount -l "$1/cg-old"
		touch "$1/ns-ready"
		exec sleep 7200' sh "$T" &
	holder=$!
	for _ in $(seq 50); do
		[ -e "$T/ns-ready" ] && return 0
		kill -0 "$holder" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}

# One `run` of `sh -c 'exit 7'`, which must exit 7: a runtime that does not
# really run the container (a stub) is caught too. Prints why on failure.
probe() {
	local rt=$1 out rc=0 wrap=()
	[ -n "${nsf[$rt]}" ] && wrap=(nsenter --mount="${nsf[$rt]}")
	out=$("${wrap[@]}" ${pre[$rt]} run --bundle "$P" "$tag-probe-$rt" 2>&1 </dev/null) || rc=$?
	[ $rc = 7 ] && return 0
	echo "exit status $rc, not the container's 7. $(echo "$out" | tail -n 2)"
	return 1
}

# Start the `sleep` container an exec scenario runs in; print its pid.
start_sleeper() {
	local rt=$1 id=$tag-sleep-$1 wrap=()
	[ -n "${nsf[$rt]}" ] && wrap=(nsenter --mount="${nsf[$rt]}")
	# --main and --dropin share runc's sleeper.
	if ! "${wrap[@]}" ${pre[$rt]} state "$id" >/dev/null 2>&1; then
		"${wrap[@]}" ${pre[$rt]} run -d --bundle "$S" "$id" </dev/null >/dev/null 2>&1 || return 1
	fi
	"${wrap[@]}" ${pre[$rt]} state "$id" | jq -r .pid
}

# measure FILE [loop options] -- VARIANT... ; on failure note it, return 1.
measure() {
	local file=$1; shift
	echo "measuring $(basename "$file" .txt) ..." >&2
	if ! "$T/bin/loop" -u "$UNITS" -w "$WARM" -n "$OPS" -b "$B" -t "$tag" "$@" >"$file" 2>"$file.err"; then
		note "$(basename "$file" .txt) failed: $(tail -n 3 "$file.err" | tr '\n' ' ')"
		return 1
	fi
}

stripped_size() { strip -o "$T/stripped" "$1" 2>/dev/null && stat -c %s "$T/stripped" && rm -f "$T/stripped"; }
bytes() { [ -n "$1" ] && echo "$1" | sed ':a; s/\B[0-9]\{3\}\>/,&/; ta'; }

run_main() {
	local rts=(runc) rt v
	if start_crun_holder; then
		pre[crun]="$CRUN --root $R/crun"; nsf[crun]=/proc/$holder/ns/mnt
		rts+=(crun)
	else
		note "crun skipped: its private cgroup-v1 mount namespace could not be set up"
	fi
	if [ -x "$NSRUN" ]; then
		pre[nsrun]="$NSRUN --root $R/nsrun"; nsf[nsrun]=""
		rts+=(nsrun)
	else
		note "nsrun skipped: $NSRUN is not built (cargo build --release)"
	fi
	local ok=()
	for rt in "${rts[@]}"; do
		if msg=$(probe "$rt"); then ok+=("$rt"); else note "$rt skipped: \`$rt run\` does not work yet: $(echo "$msg" | tr '\n' ' ')"; fi
	done
	rts=("${ok[@]}")

	local run=() life=() exe=() floorpid=""
	for rt in "${rts[@]}"; do
		run+=("$rt|raw|${nsf[$rt]}|${pre[$rt]} run --bundle $B {id}")
		life+=("$rt|life|${nsf[$rt]}|${pre[$rt]}")
	done
	run+=("floor|raw||$T/bin/floor run $B/rootfs")
	life+=("floor|raw||$T/bin/floor run $B/rootfs")
	for rt in "${rts[@]}"; do
		if pid=$(start_sleeper "$rt") && [ -n "$pid" ]; then
			exe+=("$rt|raw|${nsf[$rt]}|${pre[$rt]} exec $tag-sleep-$rt /bin/true")
			[ -z "$floorpid" ] && floorpid=$pid
			# Figures without cgroup work are not comparable: say so.
			[ "$(cat "/proc/$pid/cgroup")" = "$(cat /proc/self/cgroup)" ] &&
				note "$rt left its container in the caller's cgroups (no cgroup of its own): its figures skip the cgroup set-up the others pay"
		else
			note "$rt exec skipped: its sleep container did not start"
		fi
	done
	[ -n "$floorpid" ] && exe+=("floor|raw||$T/bin/floor exec $floorpid")

	measure "$T/run.txt" "${run[@]}" || true
	measure "$T/iso.txt" -p 50 "${run[@]}" || true
	measure "$T/life.txt" "${life[@]}" || true
	measure "$T/exec.txt" "${exe[@]}" || true

	{
		echo "## Runtimes: median ms per operation, paired ratios"
		echo
		echo "$(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg);" \
			"$UNITS units of $OPS ops after $WARM warm-up rounds."
		echo "runc $("$RUNC" --version | head -n1 | awk '{print $3}'), crun $("$CRUN" --root "$R/crun" --version | head -n1 | awk '{print $3}')."
		echo "Bundle: static busybox, \`runc spec\`, /bin/true, no terminal, pid net ipc uts mount namespaces." \
			"crun runs in a private mount namespace that shows it the v1 cgroup hierarchies only (see bench.sh)." \
			"floor: tests/bench/floor.c (one floor \`run\` stands in for the lifecycle; its exec joins runc's sleep container)." \
			"The lifecycle driver is a child subreaper, so the exited container is reaped at once rather than by pid 1."
		echo
		echo "| scenario | runc | crun | nsrun | floor | nsrun/crun | nsrun/runc | runc/crun |"
		echo "|---|---|---|---|---|---|---|---|"
		local f label
		for f in run iso life exec; do
			case $f in
			run) label='`run` of /bin/true, back to back' ;;
			iso) label='`run`, isolated (50 ms pause first)' ;;
			life) label='create, start, state until stopped, delete' ;;
			exec) label='`exec /bin/true` into a running container' ;;
			esac
			local F=$T/$f.txt
			[ -s "$F" ] || { echo "| $label | — | — | — | — | — | — | — |"; continue; }
			echo "| $label | $(cell "$(ms_of "$F" runc)") | $(cell "$(ms_of "$F" crun)") | $(cell "$(ms_of "$F" nsrun)") | $(cell "$(ms_of "$F" floor)")" \
				"| $(cell "$(ratio_of "$F" nsrun crun)") | $(cell "$(ratio_of "$F" nsrun runc)") | $(cell "$(ratio_of "$F" runc crun)") |"
		done
		local F
		for f in run exec; do
			F=$T/$f.txt
			[ -s "$F" ] || continue
			echo "| peak RSS, $f (MiB) | $(cell "$(rss_of "$F" runc)") | $(cell "$(rss_of "$F" crun)") | $(cell "$(rss_of "$F" nsrun)") | $(cell "$(rss_of "$F" floor)") | | | |"
		done
		local sn=""
		[ -x "$NSRUN" ] && sn=$(stripped_size "$NSRUN")
		echo "| binary size, stripped (bytes) | $(bytes "$(stripped_size "$RUNC")") | $(bytes "$(stripped_size "$CRUN")") | $(cell "$(bytes "$sn")") | | | | |"
		echo
	} >"$T/section-main.md"
}

# ---------------------------------------------------------------- stage
run_stage() {
	local ro=$T/ro cflags=(-O2 -Wall -ffunction-sections -fdata-sections)
	local cobj=("$NSENTER_SRC/nsexec.c" "$NSENTER_SRC/cloned_binary.c" "$NSENTER_SRC/escape.c")
	local rslibs=(-lpthread -ldl -lm -lgcc_s)
	mkdir -p "$ro"
	echo "building stage hosts" >&2
	gcc "${cflags[@]}" -o "$ro/host-c" "$here/stagehost.c" "${cobj[@]}"
	# The default libraries are (re)built, so that they match the source;
	# a library given in the environment is used as it is.
	if [ -z "$lib_given" ]; then
		echo "building libnsexec.a (cargo build --release --lib)" >&2
		(cd "$repo" && cargo build --release --lib >&2) || note "cargo build --release --lib failed"
	fi
	if [ -z "$lib11_given" ]; then
		echo "building the runc-1-1 profile of libnsexec.a" >&2
		(cd "$repo" && cargo build --release --lib --no-default-features --features runc-1-1 \
			--target-dir target/runc-1-1 >&2) || note "building the runc-1-1 libnsexec.a failed"
	fi
	# runc 1.1's cloned_binary skips the copy only for a binary on a
	# read-only mount with _LIBCONTAINER_CLONED_BINARY=1: run every host
	# from a read-only bind mount, in a private mount namespace.
	local inro=(unshare -m --propagation private sh -ec 'mount --bind "$1" "$1"; mount -o remount,bind,ro "$1" "$1"; shift; exec "$@"' sh "$ro")
	# name=host[:clone] pairs; a Rust host only if it links and completes.
	local hosts=("c-1.1.5=$ro/host-c" "c-1.1.5+clone=$ro/host-c:clone") name lib err h
	for name in rust rust-1.1; do
		[ $name = rust ] && lib=$LIBNSEXEC || lib=$LIBNSEXEC_11
		if ! [ -f "$lib" ] || ! gcc "${cflags[@]}" -o "$ro/host-$name" "$here/stagehost.c" "$lib" "${rslibs[@]}"; then
			note "libnsexec ($name) stage skipped: $lib missing or does not link"
			continue
		fi
		local mine=("$name=$ro/host-$name")
		[ $name = rust-1.1 ] && mine+=("$name+clone=$ro/host-$name:clone")
		for h in "${mine[@]}"; do
			if err=$("${inro[@]}" "$T/bin/stage" -u 1 -w 0 -n 1 "$h" 2>&1 >/dev/null); then
				hosts+=("$h")
			else
				note "${h%%=*} stage skipped: it does not complete the stage ($(echo "$err" | tail -n1))"
			fi
		done
	done
	echo "measuring stage ..." >&2
	local F=$T/stage.txt
	if ! "${inro[@]}" "$T/bin/stage" -u "$UNITS" -w "$WARM" -n "$OPS" "${hosts[@]}" >"$F" 2>"$F.err"; then
		note "stage benchmark failed: $(tail -n 2 "$F.err" | tr '\n' ' ')"
		: >"$F"
	fi

	# Size each stage adds to a stripped C program.
	local sflags=(-Os -ffunction-sections -fdata-sections -Wl,--gc-sections -s -DSIZE_ONLY)
	local base sc sr="" s11="" verdict=""
	gcc "${sflags[@]}" -DNO_NSEXEC -o "$T/size-base" "$here/stagehost.c"
	base=$(stat -c %s "$T/size-base")
	gcc "${sflags[@]}" -o "$T/size-c" "$here/stagehost.c" "${cobj[@]}"
	sc=$(( $(stat -c %s "$T/size-c") - base ))
	[ -f "$LIBNSEXEC" ] && gcc "${sflags[@]}" -o "$T/size-rs" "$here/stagehost.c" "$LIBNSEXEC" "${rslibs[@]}" &&
		sr=$(( $(stat -c %s "$T/size-rs") - base ))
	[ -f "$LIBNSEXEC_11" ] && gcc "${sflags[@]}" -o "$T/size-rs11" "$here/stagehost.c" "$LIBNSEXEC_11" "${rslibs[@]}" &&
		s11=$(( $(stat -c %s "$T/size-rs11") - base ))
	[ -n "$sr" ] && { [ "$sr" -le 262144 ] && verdict=" (≤ 256 KiB: yes)" || verdict=" (≤ 256 KiB: NO)"; }

	{
		echo "## nsexec stage (issue #2): spawn → stage-2's main, joining net+uts+ipc"
		echo
		echo "One C host (tests/bench/stagehost.c), linked with runc 1.1.5's C nsexec (nsexec.c, cloned_binary.c, escape.c)," \
			"with libnsexec.a of the default build (current profile) and with libnsexec.a built with \`--features runc-1-1\`." \
			"Bootstrap message built by hand in stage.c: clone flags 0, NS_PATHS ipc/uts/net of a helper, ROOTLESS_EUID false." \
			"\"Clone skipped\": hosts run from a read-only bind mount with _LIBCONTAINER_CLONED_BINARY=1, so the 1.1 clone step" \
			"(CVE-2019-5736) is skipped; the 1.1 stages still write their 0x00 byte, the current profile has neither." \
			"\"With clone\": the same without the variable (C 1.1.5: read-only bind of its binary, else a sealed copy;" \
			"libnsexec 1.1: an unattached read-only overlay, else a memfd copy)." \
			"Stage-2 checks that it is in the helper's namespaces and that /proc/self/exe is (or is not) a clone; all three stages are reaped."
		echo
		echo "| median ms (paired ratio vs C) | C 1.1.5 | libnsexec, current profile | libnsexec, 1.1 profile |"
		echo "|---|---|---|---|"
		if [ -s "$F" ]; then
			echo "| stage, clone step skipped | $(cell "$(ms_of "$F" c-1.1.5)") | $(cell "$(ms_of "$F" rust)") ($(cell "$(ratio_of "$F" rust c-1.1.5)")) | $(cell "$(ms_of "$F" rust-1.1)") ($(cell "$(ratio_of "$F" rust-1.1 c-1.1.5)")) |"
			echo "| stage with the clone step | $(cell "$(ms_of "$F" c-1.1.5+clone)") | n/a (no clone step) | $(cell "$(ms_of "$F" rust-1.1+clone)") ($(cell "$(ratio_of "$F" rust-1.1+clone c-1.1.5+clone)")) |"
			echo "| best unit, clone step skipped | $(cell "$(best_of "$F" c-1.1.5)") | $(cell "$(best_of "$F" rust)") | $(cell "$(best_of "$F" rust-1.1)") |"
			echo "| best unit, with the clone step | $(cell "$(best_of "$F" c-1.1.5+clone)") | n/a | $(cell "$(best_of "$F" rust-1.1+clone)") |"
		else
			echo "| stage | — | — | — |"
		fi
		echo "| size added to a stripped C program (bytes) | $(bytes "$sc") | $(cell "$(bytes "$sr")")$verdict | $(cell "$(bytes "$s11")") |"
		echo
		echo "Size: \`gcc -Os -ffunction-sections -fdata-sections -Wl,--gc-sections -s\`, dynamic glibc," \
			"against the same program without the stage ($(bytes "$base") bytes)."
		echo
	} >"$T/section-stage.md"
}

# ---------------------------------------------------------------- drop-in
run_dropin() {
	if [ -z "${RUNC_DROPIN:-}" ] || [ ! -x "${RUNC_DROPIN:-}" ]; then
		note "drop-in skipped: RUNC_DROPIN is unset or not executable (build one with tests/dropin/build-runc.sh target/runc-1-1/$triple/release target/dropin/runc-nsexec)"
		printf '## runc drop-in (runc rebuilt with libnsexec)\n\nskipped: RUNC_DROPIN unset.\n\n' >"$T/section-dropin.md"
		return
	fi
	# The control: the same runc source and Go toolchain as the drop-in, on
	# runc's own C nsexec, so that drop-in/control is libnsexec's effect alone
	# (Debian's /usr/sbin/runc was built by another toolchain).
	local control=${RUNC_CONTROL:-$repo/target/dropin/runc-c}
	if [ -z "${RUNC_CONTROL:-}" ] && [ ! -x "$control" ]; then
		echo "building the control runc (runc 1.1.5 on its own C nsexec)" >&2
		mkdir -p "$(dirname "$control")"
		(cd "$T" && GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= CGO_ENABLED=1 \
			go build -a -tags seccomp -ldflags "-X main.version=1.1.5+ds1+rebuilt" \
			-o "$control.tmp" github.com/opencontainers/runc >&2 && mv "$control.tmp" "$control") ||
			note "control runc did not build (go build of /usr/share/gocode runc)"
	fi
	pre[dropin]="$RUNC_DROPIN --root $R/dropin"; nsf[dropin]=""
	pre[control]="$control --root $R/control"; nsf[control]=""
	local rts=() rt
	for rt in runc control dropin; do
		[ $rt = control ] && [ ! -x "$control" ] && continue
		if msg=$(probe "$rt"); then rts+=("$rt"); else note "$rt skipped: run failed: $(echo "$msg" | tr '\n' ' ')"; fi
	done
	local run=() exe=()
	for rt in "${rts[@]}"; do
		run+=("$rt|raw||${pre[$rt]} run --bundle $B {id}")
		start_sleeper "$rt" >/dev/null && exe+=("$rt|raw||${pre[$rt]} exec $tag-sleep-$rt /bin/true")
	done
	measure "$T/drun.txt" "${run[@]}" || true
	measure "$T/dexec.txt" "${exe[@]}" || true
	{
		echo "## runc drop-in: stock runc vs runc rebuilt with libnsexec"
		echo
		echo "Drop-in: \`${RUNC_DROPIN#"$repo"/}\` ($(bytes "$(stripped_size "$RUNC_DROPIN")") bytes stripped)." \
			"Control: \`${control#"$repo"/}\`, the same runc source and Go toolchain on runc's own C nsexec" \
			"($(cell "$(bytes "$(stripped_size "$control" 2>/dev/null)")") bytes stripped); stock: Debian's $RUNC."
		echo
		echo "| scenario | stock runc | control (rebuilt, C nsexec) | drop-in (libnsexec) | drop-in/control | drop-in/stock | RSS stock / control / drop-in (MiB) |"
		echo "|---|---|---|---|---|---|---|"
		local f F label
		for f in drun dexec; do
			F=$T/$f.txt
			[ $f = drun ] && label='`run` of /bin/true, back to back' || label='`exec /bin/true`'
			[ -s "$F" ] || { echo "| $label | — | — | — | — | — | — |"; continue; }
			echo "| $label | $(cell "$(ms_of "$F" runc)") | $(cell "$(ms_of "$F" control)") | $(cell "$(ms_of "$F" dropin)")" \
				"| $(cell "$(ratio_of "$F" dropin control)") | $(cell "$(ratio_of "$F" dropin runc)")" \
				"| $(cell "$(rss_of "$F" runc)") / $(cell "$(rss_of "$F" control)") / $(cell "$(rss_of "$F" dropin)") |"
		done
		echo
	} >"$T/section-dropin.md"
}

[ $do_main = 1 ] && run_main
[ $do_stage = 1 ] && run_stage
[ $do_dropin = 1 ] && run_dropin

{
	echo "# nsrun benchmark: last results"
	echo
	echo "Produced by \`tests/bench/bench.sh $*\`. Method: tests/bench/bench.sh header and shared/docs/bench-baseline.md."
	echo "Absolute times move ±15% on this shared machine; quote the paired ratios."
	echo
	for s in main stage dropin; do [ -f "$T/section-$s.md" ] && cat "$T/section-$s.md"; done
	if [ ${#notes[@]} -gt 0 ]; then
		echo "Notes:"
		for n in "${notes[@]}"; do echo "- $n"; done
		echo
	fi
} >"$T/report.md"
cp "$T/report.md" "$OUT"
if [ -n "${BENCH_RAW:-}" ]; then
	mkdir -p "$BENCH_RAW" && cp "$T"/*.txt "$BENCH_RAW"/ 2>/dev/null
	echo "raw per-unit results (NAME ROUND NS MAXRSS_KIB) in $BENCH_RAW" >&2
fi
cat "$T/report.md"
echo "results written to $OUT" >&2
