#!/bin/sh
# Build Debian's runc 1.1.5 with libnsexec.a in place of its nsexec C code.
#
#   tests/dropin/build-runc.sh <libdir> <out-binary>
#
# <libdir> holds a runc-1-1 profile libnsexec.a. Nothing in runc's source
# changes: `go build -overlay` swaps libcontainer/nsenter/nsenter.go for a copy
# whose cgo preamble keeps runc's constructor and adds the link flags, and
# empties nsexec.c, cloned_binary.c and escape.c. The constructor's reference
# to nsexec() is what pulls the archive in (-Wl,--whole-archive is refused in
# #cgo LDFLAGS). Offline: GOPATH mode over Debian's /usr/share/gocode.
set -eu

[ $# -eq 2 ] || { echo "usage: $0 <libdir> <out-binary>" >&2; exit 2; }
libdir=$(cd "$1" && pwd)
out=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
[ -f "$libdir/libnsexec.a" ] || { echo "$0: no libnsexec.a in $libdir" >&2; exit 1; }
case $libdir in *[!A-Za-z0-9_./+-]*) echo "$0: unsupported characters in $libdir" >&2; exit 1;; esac

gocode=${GOCODE:-/usr/share/gocode}
nsenter=$gocode/src/github.com/opencontainers/runc/libcontainer/nsenter
[ -f "$nsenter/nsenter.go" ] || { echo "$0: runc source not found under $gocode" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/dropin-runc.XXXXXX")
trap 'rm -rf "$work"' EXIT

# ${SRCDIR} would name the original directory under an overlay: use -L<abs>.
cat >"$work/nsenter.go" <<GO
//go:build linux && !gccgo
// +build linux,!gccgo

package nsenter

/*
#cgo CFLAGS: -Wall
#cgo LDFLAGS: -L$libdir -lnsexec -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
extern void nsexec();
void __attribute__((constructor)) init(void) {
	nsexec();
}
*/
import "C"
GO
: >"$work/empty.c"

cat >"$work/overlay.json" <<JSON
{"Replace": {
  "$nsenter/nsenter.go": "$work/nsenter.go",
  "$nsenter/nsexec.c": "$work/empty.c",
  "$nsenter/cloned_binary.c": "$work/empty.c",
  "$nsenter/escape.c": "$work/empty.c"
}}
JSON

# go does not relink when only the archive changed: -a.
cd "$work"
GO111MODULE=off GOPATH=$gocode GOFLAGS= CGO_ENABLED=1 \
	go build -a -tags seccomp -overlay "$work/overlay.json" \
	-ldflags "-X main.version=1.1.5+ds1+libnsexec" \
	-o "$out.tmp" github.com/opencontainers/runc
mv "$out.tmp" "$out"
