#!/bin/sh
# Time stock runc against runc rebuilt on libnsexec.a (build-runc.sh):
# `run /bin/true` and `exec /bin/true` into a running container.
#
#   tests/dropin/bench.sh [<rebuilt-runc> [<stock-runc>]]
#
# Defaults: target/dropin/runc-nsexec and /usr/sbin/runc. Needs root,
# hyperfine and /bin/busybox. Extra hyperfine flags via HYPERFINE_ARGS
# (default: --warmup 3 --runs 30). Results: $out/{run,exec}.{md,json}.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
ours=${1:-$here/../../target/dropin/runc-nsexec}
stock=${2:-/usr/sbin/runc}
work=$(mktemp -d /tmp/go-dropin-bench.XXXXXX)
out=${BENCH_OUT:-$work}
hf_args=${HYPERFINE_ARGS:---warmup 3 --runs 30}
tag=go-dropin-bench-$$

cleanup() {
	for v in stock ours; do
		eval bin=\$$v
		"$bin" --root "$work/root-$v" delete -f "$tag-exec-$v" 2>/dev/null || true
	done
	[ "$out" = "$work" ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM

# busybox bundle running /bin/true
mkdir -p "$work/rootfs/bin" "$work/rootfs/proc" "$work/rootfs/sys" "$work/rootfs/dev" "$work/bundle"
cp /bin/busybox "$work/rootfs/bin/"
for a in sh true sleep; do ln -s busybox "$work/rootfs/bin/$a"; done
"$stock" spec --bundle "$work/bundle"
sed -i -e 's/"terminal": true/"terminal": false/' \
	-e 's#"sh"#"/bin/true"#' \
	-e "s#\"path\": \"rootfs\"#\"path\": \"$work/rootfs\"#" "$work/bundle/config.json"
sed 's#"/bin/true"#"/bin/sleep", "3600"#' "$work/bundle/config.json" >"$work/sleep.json"
mkdir -p "$work/sleeper" && mv "$work/sleep.json" "$work/sleeper/config.json"

# shellcheck disable=SC2086
hyperfine -N $hf_args --export-markdown "$out/run.md" --export-json "$out/run.json" \
	-n stock "$stock --root $work/root-stock run -b $work/bundle $tag-run-stock" \
	-n libnsexec "$ours --root $work/root-ours run -b $work/bundle $tag-run-ours"

for v in stock ours; do
	eval bin=\$$v
	"$bin" --root "$work/root-$v" run -d -b "$work/sleeper" "$tag-exec-$v" </dev/null >/dev/null
done
# shellcheck disable=SC2086
hyperfine -N $hf_args --export-markdown "$out/exec.md" --export-json "$out/exec.json" \
	-n stock "$stock --root $work/root-stock exec $tag-exec-stock /bin/true" \
	-n libnsexec "$ours --root $work/root-ours exec $tag-exec-ours /bin/true"
cat "$out/run.md" "$out/exec.md"
echo "results: $out" >&2
