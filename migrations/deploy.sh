#!/usr/bin/env bash
# Post-deploy step: creates (or brings up to date) every pool in migrations/pools/*.toml and its
# verifiers, through the allot CLI. Idempotent: a second run sends nothing.
# `anchor migrate` can run migrations/deploy.ts, which calls this with the provider's URL and wallet;
# it can also be run by hand: ANCHOR_PROVIDER_URL=http://localhost:8899 migrations/deploy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
files=()
for f in migrations/pools/*.toml; do files+=(--file "$f"); done
exec cargo run --quiet -p allot-cli --bin allot -- migrate \
  --url "${ANCHOR_PROVIDER_URL:-localhost}" \
  --keypair "${ANCHOR_WALLET:-$HOME/.config/solana/id.json}" \
  "${files[@]}"
