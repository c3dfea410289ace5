#!/usr/bin/env bash
# Builds the optional native NDJSON decoder (native-bindings/, Rust + napi-rs) into
# native-bindings/ringflow_native.node. Without cargo, or when the build fails, it only warns and
# exits 0: ringflow then decodes with the JS decoder alone (same results, more main-thread CPU).
set -u
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/native-bindings"
out="$dir/ringflow_native.node"

warn() { echo "build-native: WARNING: $*; the JS decoder will be used" >&2; }

if ! command -v cargo >/dev/null 2>&1; then
  [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  warn "cargo not found (install Rust from https://rustup.rs to build the native decoder)"
  exit 0
fi

# The target dir stays inside native-bindings/ (gitignored), whatever CARGO_TARGET_DIR the shell has.
export CARGO_TARGET_DIR="$dir/target"
if ! (cd "$dir" && cargo build --release); then
  warn "cargo build failed (see above)"
  exit 0
fi

case "$(uname -s)" in
  Darwin) lib="$CARGO_TARGET_DIR/release/libringflow_native.dylib" ;;
  *) lib="$CARGO_TARGET_DIR/release/libringflow_native.so" ;;
esac
if [ ! -f "$lib" ]; then
  warn "build produced no $lib"
  exit 0
fi
# Copy to a temporary name, then rename: a running process that has the old file mapped keeps it.
cp "$lib" "$out.tmp" && mv -f "$out.tmp" "$out"
echo "build-native: built $out"
