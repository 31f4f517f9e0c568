#!/usr/bin/env bash
# What the fleet screen costs a terminal: `cutover demo --fleet N` (N simulated
# shards, each a drill of the demo runbook with its own simulated servers and
# journal) at 200x60, measured by scripts/footprint.sh (bytes/s, CPU % of a
# core, max RSS, first frame) for N = 64 and 256; the frame time is
# `cargo bench --bench fleet_render`.
#
# usage: scripts/fleet-footprint.sh [--secs N] [--speed X] [--members "64 256"]
# The simulated clock runs --speed times the wall clock (default 10), so the
# canary and the second wave are over within the first seconds and every
# member after them runs: the steady window sees the whole fleet live.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=40 speed=10 members="64 256"
while [ $# -gt 0 ]; do
    case $1 in
        --secs) secs=$2; shift 2 ;;
        --speed) speed=$2; shift 2 ;;
        --members) members=$2; shift 2 ;;
        *) echo "scripts/fleet-footprint.sh: unknown option $1" >&2; exit 1 ;;
    esac
done
[ -x target/release/cutover ] || cargo build --release
for n in $members; do
    line=$(scripts/footprint.sh --size 200x60 --secs "$secs" --speed "$speed" --name "fleet-$n" -- --fleet "$n" | tail -n 1)
    echo "fleet=$n size=200x60 speed=$speed $line"
done
