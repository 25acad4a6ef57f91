#!/usr/bin/env bash
# Runs every test: unit tests beside the code, kernel tests in tests/*.rs
# (stage, C and Go consumers, runc drop-in, runtime, cgroups, security).
# Needs root and the packages .ci/run installs.
set -euo pipefail
cd "$(dirname "$0")/.."

# The artifacts the kernel tests link or run: both library profiles and nsrun.
cargo build --release
cargo build --release --lib --no-default-features --features runc-1-1 --target-dir target/runc-1-1

# The runc 1.1 profile's own unit tests (cloned binary, mount fds).
cargo test --release --lib --no-default-features --features runc-1-1 --target-dir target/runc-1-1

# Everything else, default (current) profile.
cargo test --release -- --test-threads="${TEST_THREADS:-4}"

# The host's /dev/null must still be root's: a runtime bug once chowned it.
test "$(stat -c %u:%g:%t:%T /dev/null)" = "0:0:1:3" || { echo "host /dev/null was changed: $(stat -c '%U:%G %t:%T' /dev/null)"; exit 1; }
