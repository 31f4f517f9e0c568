#!/usr/bin/env bash
# How fast `cutover verify` compares a MongoDB collection: BENCH_DOCS orders
# (default 100000; ~400 bytes, nested documents, arrays of documents, doubles)
# in two databases of one local mongod (a 1-member replica set, so both sides
# share its CPU), verified in by_name and strict mode against the floor — both
# collections read once, each document hashed as stored — then with 10
# documents changed. Each figure is the best of BENCH_REPEAT runs (default 3).
#
# usage: BENCH_DOCS=100000 scripts/mongo-verify-bench.sh
# Needs mongod: CUTOVER_MONGOD, or the one scripts/test installs in target/mongo-venv.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${CUTOVER_MONGOD:-}" ]; then
    CUTOVER_MONGOD=$(find target/mongo-venv -path '*/fiftyone/db/bin/mongod' -type f -print -quit 2>/dev/null || true)
fi
[ -n "$CUTOVER_MONGOD" ] || { echo "no mongod: run scripts/test once, or set CUTOVER_MONGOD" >&2; exit 1; }
CUTOVER_MONGOD=$(realpath "$CUTOVER_MONGOD")
export CUTOVER_MONGOD
exec cargo bench --bench mongo_verify
