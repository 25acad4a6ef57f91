# shellcheck shell=bash
# A private apt configuration: our own sources list, lists and cache under
# one directory, so that apt-get update/download/source never touch the
# system's sources or install anything (the system's dpkg status is only read).
#
#   source tests/peers/apt.sh
#   private_apt DIR "deb-src ... bookworm main" ["deb ... sid main" ...]
#   apt-get "${APT[@]}" update
private_apt() {
  local d=$1
  shift
  mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/etc/sources.list.d" \
    "$d/etc/preferences.d"
  printf '%s\n' "$@" >"$d/etc/sources.list"
  APT=(-o "Dir::Etc::sourcelist=$d/etc/sources.list"
    -o "Dir::Etc::sourceparts=$d/etc/sources.list.d"
    -o "Dir::Etc::preferences=$d/etc/preferences"
    -o "Dir::Etc::preferencesparts=$d/etc/preferences.d"
    -o "Dir::State::Lists=$d/lists"
    -o "Dir::Cache=$d/cache"
    -o "APT::Architectures=amd64"
    -o "Acquire::Languages=none"
    -o "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
    -o "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false"
    -o "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false"
    -o "APT::Sandbox::User=root"
    -o "DPkg::Lock::Timeout=900")
}
# The archive key every line here is checked against.
DEBIAN_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
