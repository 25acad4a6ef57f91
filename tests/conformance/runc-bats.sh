#!/usr/bin/env bash
# runc's own integration suite (tests/integration/*.bats from Debian's source
# package of runc) run against a runtime, with runc as the control.
#
#   tests/conformance/runc-bats.sh --prepare
#       fetch and build the suite into the cache (idempotent, stamped)
#   tests/conformance/runc-bats.sh RUNTIME OUT
#       run every file against RUNTIME (a binary), results in OUT:
#       OUT/tap/FILE.tap, OUT/results.tsv (file, test, pass|fail|skip),
#       OUT/summary.txt (per file), OUT/host.txt (host checks after each file)
#   tests/conformance/runc-bats.sh --table CONTROL_OUT OUT
#       the two runs side by side, per file, as a markdown table
#   tests/conformance/runc-bats.sh --compare CONTROL_OUT OUT [ALLOWLIST]
#       exit 1 when a test that passes in CONTROL_OUT does not pass in OUT,
#       unless ALLOWLIST (default runc-bats-$VERSION.allow) names it
#
# Environment:
#   NSRUN_BATS_CACHE    scratch dir for the suite (default /var/tmp/nsrun-bats)
#   NSRUN_BATS_VERSION  upstream runc version (default 1.1.5; any Debian revision)
#   NSRUN_BATS_SUITE    bookworm (default) or a runc source tree to use as is
#   NSRUN_BATS_TIMEOUT  seconds per .bats file (default 120; the control needs 15 at most)
#   NSRUN_BATS_FILES    space-separated subset of files (default: all)
#   NSRUN_BATS_REPAIR   0: report leftovers of other work, do not remove them
#
# The suite is third-party code: it lives only in the cache, never in the
# repository. Its helper programs are built from the same source, offline,
# against Debian's Go packages (as Debian's own build does), and its images
# are made offline from Debian's packages.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${NSRUN_BATS_CACHE:-/var/tmp/nsrun-bats}
VERSION=${NSRUN_BATS_VERSION:-1.1.5}
SUITE=${NSRUN_BATS_SUITE:-bookworm}
TIMEOUT=${NSRUN_BATS_TIMEOUT:-120}

die() { echo "runc-bats: $*" >&2; exit 1; }

# --- prepare ---------------------------------------------------------------

src_dir() {
  if [ "$SUITE" = bookworm ]; then echo "$CACHE/src/runc-$VERSION"; else echo "$SUITE"; fi
}

fetch_source() {
  local dst=$1 dl=$CACHE/src/dl
  # shellcheck source=tests/peers/apt.sh
  source "$HERE/../peers/apt.sh"
  private_apt "$CACHE/apt" \
    "deb-src [signed-by=$DEBIAN_KEYRING] http://deb.debian.org/debian bookworm main" \
    "deb-src [signed-by=$DEBIAN_KEYRING] http://deb.debian.org/debian bookworm-updates main" \
    "deb-src [signed-by=$DEBIAN_KEYRING] http://deb.debian.org/debian-security bookworm-security main"
  apt-get "${APT[@]}" -qq update
  # The upstream version is pinned; the Debian revision is free (security
  # uploads such as +deb12u1 patch the control and the suite alike).
  local ver
  ver=$(apt-cache "${APT[@]}" showsrc runc | awk '/^Version:/ {print $2}' |
    grep -F "$VERSION+" | sort -V | tail -1)
  [ -n "$ver" ] || die "no runc $VERSION source package in bookworm"
  rm -rf "$dl" "$dst"
  mkdir -p "$dl"
  (cd "$dl" && apt-get "${APT[@]}" -qq source --download-only "runc=$ver" >/dev/null)
  # apt checked the files against the signed Sources index; dpkg-source
  # applies Debian's patches, so the suite matches the control binary.
  dpkg-source -x "$dl"/runc_*.dsc "$dst" >/dev/null 2>&1 || die "dpkg-source -x failed"
  echo "$ver" >"$dst/.debian-version"
}

build_helpers() {
  local src=$1 gp=$CACHE/gopath
  # GOPATH mode over /usr/share/gocode: every import comes from Debian's
  # golang-*-dev packages, nothing from the network (GOPROXY=off).
  rm -rf "$gp/src/github.com/opencontainers"
  mkdir -p "$gp/src/github.com/opencontainers"
  ln -s "$src" "$gp/src/github.com/opencontainers/runc"
  local h
  for h in recvtty sd-helper seccompagent; do
    (cd "$gp/src/github.com/opencontainers/runc" &&
      GOPATH=$gp:/usr/share/gocode GO111MODULE=off GOPROXY=off GOFLAGS= \
        GOCACHE=$CACHE/gocache go build -tags seccomp -o "contrib/cmd/$h/$h" "./contrib/cmd/$h") ||
      die "cannot build $h"
  done
}

# busybox from busybox-static. Applets are hard links, never symlinks: a
# symlinked applet once let a test's chmod reach the host's /usr/bin/busybox.
make_busybox() {
  local out=$1 r
  r=$(mktemp -d "$CACHE/busybox.XXXXXX")
  chmod 755 "$r" # mktemp's 0700 would become the image's /
  mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,tmp,root,home,var/spool/mail,var/www,run}
  chmod 1777 "$r/tmp"
  cp /bin/busybox "$r/bin/busybox"
  local a
  for a in $(/bin/busybox --list-full); do
    [ "$a" = bin/busybox ] || ln -f "$r/bin/busybox" "$r/$a"
  done
  # The users and groups of docker-library's busybox image, which the suite
  # was written against.
  cat >"$r/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
PW
  cat >"$r/etc/group" <<'GR'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
plugdev:x:46:
staff:x:50:
lock:x:54:
netdev:x:82:
users:x:100:
nogroup:x:65534:
GR
  tar -C "$r" -cJf "$out.tmp" . && mv "$out.tmp" "$out"
  rm -rf "$r"
}

# A small Debian (the suite's hooks test uses it), from Debian's packages.
make_debian() {
  local out=$1
  mmdebstrap --quiet --variant=minbase --format=tar bookworm "$out.tmp.tar" \
    "deb [signed-by=$DEBIAN_KEYRING] http://deb.debian.org/debian bookworm main" >/dev/null
  xz -T0 -c "$out.tmp.tar" >"$out.tmp" && mv "$out.tmp" "$out"
  rm -f "$out.tmp.tar"
}

prepare() {
  mkdir -p "$CACHE/src"
  exec 8>"$CACHE/.lock"
  flock 8
  local src stamp
  src=$(src_dir)
  if [ "$SUITE" = bookworm ] && [ ! -f "$src/.debian-version" ]; then
    fetch_source "$src"
  fi
  [ -d "$src/tests/integration" ] || die "$src has no tests/integration"
  stamp="$src/.nsrun-helpers"
  if [ ! -f "$stamp" ]; then
    build_helpers "$src"
    touch "$stamp"
  fi
  # get-images.sh downloads only what is missing: the files made here
  # keep it offline.
  local td=$src/tests/integration/testdata
  DEBIAN_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -f "$td/busybox-amd64.tar.xz" ] || make_busybox "$td/busybox-amd64.tar.xz"
  [ -f "$td/debian-amd64.tar.xz" ] || make_debian "$td/debian-amd64.tar.xz"
}

# --- host checks -------------------------------------------------------------

snapshot() { # OUT: what a file may not leave behind
  find /sys/fs/cgroup -mindepth 1 -type d 2>/dev/null | sort >"$1.cg"
  awk '{print $5}' /proc/self/mountinfo | sort >"$1.mnt"
}

# NSRUN_BATS_REPAIR=0 only reports (for a run beside other work on the host,
# whose cgroups and processes are not ours to remove).
repair() { [ "${NSRUN_BATS_REPAIR:-1}" = 1 ]; }

# After each file: the host must be unharmed. Repairs what it can (so one
# bad file cannot poison the next) and reports everything in host.txt.
check_host() { # FILE SNAPSHOT OUTDIR
  local f=$1 snap=$2 out=$3 bad=0 x
  if [ "$(stat -c %u:%g:%F:%t:%T /dev/null)" != "0:0:character special file:1:3" ]; then
    echo "$f: HARMED /dev/null is $(stat -c '%u:%g %F %t:%T' /dev/null)" >>"$out/host.txt"
    rm -f /dev/null && mknod -m 666 /dev/null c 1 3
    bad=1
  fi
  # A frozen cgroup left behind hangs whatever touches it next: thaw it.
  while read -r x; do
    echo "$f: frozen cgroup ${x%/*}" >>"$out/host.txt"
    repair && { echo THAWED >"$x" || true; }
    bad=1
  done < <(grep -l FROZEN /sys/fs/cgroup/freezer/ -r --include=freezer.state 2>/dev/null || true)
  while read -r x; do
    echo "$f: frozen cgroup ${x%/*}" >>"$out/host.txt"
    repair && { echo 0 >"$x" || true; }
    bad=1
  done < <(grep -lx 1 -r --include=cgroup.freeze /sys/fs/cgroup/unified 2>/dev/null || true)
  # Leftover processes of a runtime's init.
  local pids
  pids=$(pgrep -f '(^|/)runc(:\[| init)' || true)
  if [ -n "$pids" ]; then
    echo "$f: leftover init processes $(echo "$pids" | tr '\n' ' ')" >>"$out/host.txt"
    repair && { kill -9 $pids 2>/dev/null || true; }
    bad=1
  fi
  awk '{print $5}' /proc/self/mountinfo | sort >"$snap.mnt2"
  while read -r x; do
    echo "$f: leftover mount $x" >>"$out/host.txt"
    repair && { umount -l "$x" 2>/dev/null || true; }
    bad=1
  done < <(comm -13 "$snap.mnt" "$snap.mnt2")
  sleep 0.2
  find /sys/fs/cgroup -mindepth 1 -type d 2>/dev/null | sort >"$snap.cg2"
  while read -r x; do
    echo "$f: leftover cgroup $x" >>"$out/host.txt"
    bad=1
  done < <(comm -13 "$snap.cg" "$snap.cg2")
  # Deepest first, so parents go after their children.
  repair && comm -13 "$snap.cg" "$snap.cg2" | sort -r | while read -r x; do rmdir "$x" 2>/dev/null || true; done
  return $bad
}

# --- run -----------------------------------------------------------------------

run_suite() {
  local runtime=$1 out=$2
  [ -x "$runtime" ] || die "runtime $runtime is not executable"
  prepare
  local src integ
  src=$(src_dir)
  integ=$src/tests/integration
  rm -rf "$out"
  mkdir -p "$out/tap" "$out/bin" "$out/snap"
  out=$(cd "$out" && pwd)
  # The suite calls the runtime as "runc" (its output names it, some tests
  # grep for it): install a copy under that name.
  cp "$runtime" "$out/bin/runc"
  : >"$out/results.tsv"
  : >"$out/host.txt"
  printf '%-32s %5s %5s %5s %6s\n' file pass fail skip secs >"$out/summary.txt"

  # bats' stdin must never reach EOF (an EOF stdin under script(1) puts a
  # literal ^@ before the first output line): a FIFO held open read-write.
  mkfifo "$out/stdin"
  exec 7<>"$out/stdin"

  local files f name t0 secs rc
  files=${NSRUN_BATS_FILES:-$(cd "$integ" && ls ./*.bats | sed 's|^\./||')}
  for f in $files; do
    name=${f%.bats}
    snapshot "$out/snap/s"
    t0=$(date +%s)
    rc=0
    # A pty for the tests of terminal handling (script(1)); a bound per file.
    timeout -k 10 "$TIMEOUT" script -qefc \
      "cd '$integ' && PATH='$out/bin':\$PATH RUNC='$out/bin/runc' bats --tap '$f'" \
      /dev/null <&7 >"$out/tap/$name.raw" 2>&1 || rc=$?
    secs=$(($(date +%s) - t0))
    tr -d '\r' <"$out/tap/$name.raw" >"$out/tap/$name.tap"
    rm -f "$out/tap/$name.raw"
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then echo "# TIMEOUT after ${TIMEOUT}s" >>"$out/tap/$name.tap"; fi
    check_host "$name" "$out/snap/s" "$out" || true
    tally "$name" "$out/tap/$name.tap" "$out/results.tsv" "$secs" "$rc" >>"$out/summary.txt"
  done
  exec 7<&-
  rm -f "$out/stdin"
  awk 'NR>1 && $1!="TOTAL" {p+=$2; f+=$3; s+=$4; t+=$5}
       END {printf "%-32s %5d %5d %5d %6d\n", "TOTAL", p, f, s, t}' "$out/summary.txt" >>"$out/summary.txt"
  cat "$out/summary.txt"
  if [ -s "$out/host.txt" ]; then
    echo "host checks:"
    cat "$out/host.txt"
  fi
  # A changed /dev/null is repaired for the next file, but fails the run.
  if grep -q HARMED "$out/host.txt"; then
    die "the host's /dev/null was changed during the run (see $out/host.txt)"
  fi
}

# TAP lines to results.tsv rows; prints the file's summary line. A file
# whose plan promised tests that never reported (timeout, crash) counts the
# missing ones as failures.
tally() { # NAME TAP RESULTS SECS RC
  awk -v file="$1" -v res="$3" -v secs="$4" -v rc="$5" '
    /^1\.\.[0-9]+/ { plan = substr($0, 4) + 0 }
    /^(not )?ok [0-9]+/ {
      line = $0
      st = (line ~ /^not ok/) ? "fail" : "pass"
      sub(/^(not )?ok [0-9]+ /, "", line)
      if (line ~ /# skip/) { st = "skip"; sub(/ # skip.*/, "", line) }
      print file "\t" line "\t" st >> res
      n[st]++; seen++
    }
    END {
      for (i = seen; i < plan; i++) { print file "\t(test " i + 1 " never reported)\tfail" >> res; n["fail"]++ }
      if (plan == 0 && rc != 0) { print file "\t(file did not run)\tfail" >> res; n["fail"]++ }
      printf "%-32s %5d %5d %5d %6d\n", file, n["pass"], n["fail"], n["skip"], secs
    }' "$2"
}

# --- compare ---------------------------------------------------------------------

compare() {
  local control=$1 out=$2 allow=${3:-$HERE/runc-bats-$VERSION.allow}
  [ -f "$control/results.tsv" ] && [ -f "$out/results.tsv" ] || die "missing results.tsv"
  # ALLOWLIST lines: REASON | FILE | TEST | evidence
  awk -F'\t' -v allow="$allow" '
    BEGIN {
      while ((getline l < allow) > 0) {
        if (l ~ /^[ \t]*(#|$)/) continue
        n = split(l, a, /[ \t]*\|[ \t]*/)
        if (n < 4) { print "bad allow-list line: " l; bad = 1; continue }
        sub(/^[ \t]+/, "", a[1])
        ok[a[2] "\t" a[3]] = a[1]
      }
    }
    FNR == NR { ctl[$1 "\t" $2] = $3; next }
    { got[$1 "\t" $2] = $3 }
    END {
      for (k in ctl) {
        if (ctl[k] != "pass") continue
        if (got[k] == "pass") continue
        split(k, kk, "\t")
        st = (k in got) ? got[k] : "missing"
        if (k in ok) { printf "allowed  (%s) %s: %s [%s]\n", ok[k], kk[1], kk[2], st; continue }
        printf "REGRESSION %s: %s [control pass, %s]\n", kk[1], kk[2], st; reg++
      }
      for (k in got) if (got[k] == "pass" && ctl[k] != "pass") { split(k, kk, "\t"); printf "better   %s: %s [control %s]\n", kk[1], kk[2], ctl[k] }
      printf "runc-bats: %d regressions against the control\n", reg
      exit (reg > 0 || bad) ? 1 : 0
    }' "$control/results.tsv" "$out/results.tsv"
}

# A markdown table of two runs' summaries, per file (README "Conformance").
table() { # CONTROL_OUT OUT
  echo "| file | runc pass / fail / skip | nsrun pass / fail / skip |"
  echo "|---|---|---|"
  join <(awk 'NR>1 {print $1, $2 "/" $3 "/" $4}' "$1/summary.txt" | sort) \
    <(awk 'NR>1 {print $1, $2 "/" $3 "/" $4}' "$2/summary.txt" | sort) |
    awk '$1 != "TOTAL" {print "| " $1 " | " $2 " | " $3 " |"} $1 == "TOTAL" {t = "| **total** | " $2 " | " $3 " |"} END {print t}' |
    sed 's|/| / |g'
}

case "${1:-}" in
--prepare) prepare ;;
--table) shift; table "$@" ;;
--compare) shift; compare "$@" ;;
"" | -h | --help) sed -n '2,25p' "$0" ;;
*) [ $# = 2 ] || die "usage: $0 RUNTIME OUT"; run_suite "$1" "$2" ;;
esac
