# Idempotent installers shared by the npm scripts and CI. Source this file, then call what you need.
# Each step checks first and installs only what is missing or at the wrong version.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '[x402-edge] %s\n' "$*" >&2; }

# The wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

# The wasm32 target and the wasm-bindgen CLI (what the npm package needs; the Worker also needs worker-build).
ensure_wasm_bindgen() {
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown >&2
  fi
  local want; want="$(wasm_bindgen_version)"
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
    log "installing wasm-bindgen-cli $want (several minutes, once)"
    # Not --locked: with it, a locked dependency is missing from the registry (see shared/TOOLCHAIN.md).
    cargo install wasm-bindgen-cli --version "$want" --force >&2
  fi
}

ensure_rust_tools() {
  ensure_wasm_bindgen
  # worker-build prints its bare version ("0.8.7").
  if ! worker-build --version 2>/dev/null | grep -qw '0\.8\.7'; then
    log "installing worker-build 0.8.7 (several minutes, once)"
    cargo install worker-build --version 0.8.7 --locked --force >&2
  fi
}

# npm install is skipped when node_modules matches the lock file (npm ci is not usable here: the lock
# names platform packages this registry lacks).
ensure_npm_packages() {
  local stamp="$ROOT/node_modules/.x402-edge-installed"
  if [ -f "$stamp" ] && [ "$stamp" -nt "$ROOT/package-lock.json" ] && [ "$stamp" -nt "$ROOT/package.json" ]; then
    return
  fi
  log "installing npm packages"
  (cd "$ROOT" && npm install --no-audit --no-fund >&2)
  touch "$stamp"
  link_packages # npm install prunes the links
}

# The packages this repo builds (pkg/, pkg-starknet/, pkg-sdk/; scripts/build-pkg.sh) linked into
# node_modules/@x402-edge/, so tests, the gateway and the demo import them by name.
link_packages() {
  mkdir -p "$ROOT/node_modules/@x402-edge"
  local dir name
  for dir in pkg pkg-starknet pkg-sdk; do
    [ -f "$ROOT/$dir/package.json" ] || continue
    name="$(sed -n 's/^ *"name": *"@x402-edge\/\([^"]*\)".*/\1/p' "$ROOT/$dir/package.json" | head -1)"
    ln -sfn "../../$dir" "$ROOT/node_modules/@x402-edge/$name"
  done
}

# Headless Chromium for the npm package's browser test (Debian's package; playwright-core drives it).
ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then
    return
  fi
  log "installing chromium (apt-get)"
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y chromium >&2
}
