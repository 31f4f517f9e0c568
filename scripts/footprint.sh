#!/usr/bin/env bash
# What `cutover demo` costs a terminal over a slow SSH link: bytes written per
# second, CPU, memory, time to the first full frame.
#
# The method is the team's terminal-footprint method (the same one used on
# htop, btop, bottom and pg_activity, so figures compare side by side):
#   - the program runs in a tmux pane of COLSxROWS, under `script -T timing -O out`
#     (every byte it writes, with its time) and `/usr/bin/time -v` (max RSS);
#   - CPU is the program's user+system ticks from /proc/PID/stat over the
#     steady window, from 5 s after start to the end of the run;
#   - it is quit with `q`, then scripts/footprint-analyze.py replays the
#     typescript through a VT emulator (pyte) for bytes/s and the first frame.
#
# usage: scripts/footprint.sh [options] [-- extra `cutover demo` arguments]
#   --size COLSxROWS   terminal size                  (default 120x40)
#   --secs N           length of the run in seconds   (default 30, at least 10)
#   --speed X          passed to `cutover demo --speed`        (default: its own, 1)
#   --interval-ms N    passed to `cutover demo --interval-ms`  (default: its own, 1000)
#   --no-color         run with NO_COLOR=1
#   --term NAME        TERM for the program            (default xterm-256color)
#   --env K=V          one more environment variable for the program (repeatable)
#   --bin PATH         the binary                      (default target/release/cutover)
#   --build            run `cargo build --release` first (done anyway when the binary is missing)
#   --name NAME        name of the run's files         (default from the options)
#   --explain          also print where the bytes go (per screen row, per frame)
#
# Raw captures go to $BENCH_DIR/runs (default /tmp/cutover-footprint/runs):
# NAME.out (typescript), NAME.tim (timing), NAME.time (time -v), NAME.steady
# (CPU ticks), NAME.screen (the pane at the end). The last line printed is
#   bytes_per_s=… cpu_pct=… max_rss_mib=… first_frame_ms=… …
#
# Needs tmux, script (util-linux/bsdutils), /usr/bin/time, ps, python3 with pyte.
# Run as root, missing ones are installed (apt-get, pip); otherwise it stops
# and says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'scripts/footprint.sh: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

cols=120 rows=40 secs=30 speed="" interval="" no_color=0 term=xterm-256color
bin=target/release/cutover build=0 name="" explain=0
extra_env=() demo_args=()
while [ $# -gt 0 ]; do
    case $1 in
        --size) [[ ${2:-} =~ ^([0-9]+)x([0-9]+)$ ]] || die "--size wants COLSxROWS, e.g. 120x40"
            cols=${BASH_REMATCH[1]} rows=${BASH_REMATCH[2]}; shift 2 ;;
        --secs) [[ ${2:-} =~ ^[0-9]+$ ]] && [ "$2" -ge 10 ] || die "--secs wants a whole number of seconds, 10 or more"
            secs=$2; shift 2 ;;
        --speed) [ -n "${2:-}" ] || die "--speed wants a value"; speed=$2; shift 2 ;;
        --interval-ms) [ -n "${2:-}" ] || die "--interval-ms wants a value"; interval=$2; shift 2 ;;
        --no-color) no_color=1; shift ;;
        --term) [ -n "${2:-}" ] || die "--term wants a value"; term=$2; shift 2 ;;
        --env) [[ ${2:-} == *=* ]] || die "--env wants K=V"; extra_env+=("$2"); shift 2 ;;
        --bin) [ -n "${2:-}" ] || die "--bin wants a path"; bin=$2; shift 2 ;;
        --build) build=1; shift ;;
        --name) [[ ${2:-} =~ ^[A-Za-z0-9._-]+$ ]] || die "--name wants letters, digits, . _ -"; name=$2; shift 2 ;;
        --explain) explain=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        --) shift; demo_args+=("$@"); break ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
[ -n "$speed" ] && demo_args=(--speed "$speed" "${demo_args[@]}")
[ -n "$interval" ] && demo_args=(--interval-ms "$interval" "${demo_args[@]}")
if [ -z "$name" ]; then
    name="demo-${cols}x${rows}-speed${speed:-1}"
    [ -n "$interval" ] && name+="-iv$interval"
    [ $no_color = 1 ] && name+="-nocolor"
fi

# --- tools -----------------------------------------------------------------
apt_updated=
apt_install() {
    command -v apt-get >/dev/null || die "missing $*, and no apt-get here: install them by hand and run again."
    is_root || die "missing $*: run as root to have them installed (apt-get), or install them yourself."
    if [ -z "$apt_updated" ]; then
        say "apt-get update"
        apt-get update -qq
        apt_updated=1
    fi
    say "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
pkgs=()
command -v tmux >/dev/null || pkgs+=(tmux)
command -v script >/dev/null || pkgs+=(bsdutils)
[ -x /usr/bin/time ] || pkgs+=(time)
command -v ps >/dev/null || pkgs+=(procps)
command -v python3 >/dev/null || pkgs+=(python3 python3-pip)
[ ${#pkgs[@]} -eq 0 ] || apt_install "${pkgs[@]}"
script --help 2>&1 | grep -c -- --log-out >/dev/null || die "this script(1) has no -O/--log-out: util-linux 2.35 or newer is needed"
if ! python3 -c 'import pyte' 2>/dev/null; then
    is_root || die "python3 has no pyte module: pip install pyte (or apt-get install python3-pyte), then run again."
    say "pip install pyte"
    python3 -m pip install -q pyte 2>/dev/null || python3 -m pip install -q --break-system-packages pyte 2>/dev/null ||
        apt_install python3-pyte
    python3 -c 'import pyte' 2>/dev/null || die "could not install pyte for $(command -v python3)"
fi

# --- the binary --------------------------------------------------------------
if [ $build = 1 ] || [ ! -x "$bin" ]; then
    [ "$bin" = target/release/cutover ] || [ -x "$bin" ] || die "no binary at $bin"
    if [ "$bin" = target/release/cutover ]; then
        say "cargo build --release"
        cargo build --release --quiet || die "cargo build --release failed"
    fi
fi
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
comm=$(basename "$bin" | cut -c1-15)

# --- the run -----------------------------------------------------------------
D=${BENCH_DIR:-/tmp/cutover-footprint}/runs
mkdir -p "$D" "$D/home"
rm -f "$D/$name".*
sock=cutover-footprint-$$
cmd=$(printf '%q ' /usr/bin/time -v -o "$D/$name.time" "$bin" demo "${demo_args[@]}")
envs=(HOME="$D/home" SHELL=/bin/sh TERM="$term" LANG=C.UTF-8)
[ $no_color = 1 ] && envs+=(NO_COLOR=1)
envs+=("${extra_env[@]}")
{
    printf 'echo $$ > %q\n' "$D/$name.wpid"
    printf 'exec env -u COLORTERM -u NO_COLOR -u LC_ALL -u LC_CTYPE -u CUTOVER_THEME'
    printf ' %q' "${envs[@]}"
    printf ' script -q -T %q -O %q -c %q\n' "$D/$name.tim" "$D/$name.out" "$cmd"
} > "$D/$name.sh"

cleanup() {
    tmux -L "$sock" kill-server 2>/dev/null || true
    rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$sock"
}
trap cleanup EXIT
say "$name: $bin demo ${demo_args[*]} in a ${cols}x${rows} tmux pane, TERM=$term$([ $no_color = 1 ] && echo ' NO_COLOR=1'), ${secs}s"
tmux -L "$sock" -f /dev/null new-session -d -s "$name" -x "$cols" -y "$rows" "bash $(printf %q "$D/$name.sh")"
pane=$(tmux -L "$sock" display-message -p -t "$name" '#{pane_width}x#{pane_height}')
[ "$pane" = "${cols}x${rows}" ] || die "the tmux pane is $pane, not ${cols}x${rows}"

# The program: the descendant of script(1) named like the binary.
descendant() {
    local p=$1 depth c
    for depth in 1 2 3 4; do
        for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do
            if [ "$(ps -o comm= -p "$c" 2>/dev/null)" = "$comm" ]; then echo "$c"; return; fi
        done
        p=$(ps -o pid= --ppid "$p" 2>/dev/null | head -1 | tr -d ' ')
        [ -n "$p" ] || return
    done
}
tool=""
for _ in $(seq 200); do
    if [ -s "$D/$name.wpid" ]; then
        tool=$(descendant "$(cat "$D/$name.wpid")")
        [ -n "$tool" ] && break
    fi
    sleep 0.025
done
[ -n "$tool" ] || die "$comm did not start; see $D/$name.out"
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null; }
now() { date +%s.%N; }

sleep 5
c0=$(ticks "$tool") t0=$(now)
sleep $((secs - 5))
c1=$(ticks "$tool") t1=$(now)
[ -n "$c1" ] || die "$comm (pid $tool) ended before the run did; see $D/$name.out"
rss_end=$(awk '/^VmRSS/{print $2}' "/proc/$tool/status")
hwm=$(awk '/^VmHWM/{print $2}' "/proc/$tool/status")
threads=$(awk '/^Threads/{print $2}' "/proc/$tool/status")
tmux -L "$sock" capture-pane -p -t "$name" > "$D/$name.screen" 2>/dev/null || true
tmux -L "$sock" send-keys -t "$name" q
quit=q
for _ in $(seq 50); do kill -0 "$tool" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$tool" 2>/dev/null; then
    say "$comm did not quit on q; SIGTERM $tool"
    quit=sigterm
    kill "$tool"
    sleep 1
fi
for _ in $(seq 50); do [ -s "$D/$name.time" ] && break; sleep 0.1; done
cat > "$D/$name.steady" <<EOF
pid=$tool
clk_tck=$(getconf CLK_TCK)
ticks_start=$c0
ticks_end=$c1
t_start=$t0
t_end=$t1
vmrss_end_kb=$rss_end
vmhwm_kb=$hwm
threads=$threads
quit=$quit
EOF

args=("$name" "$cols" "$rows" "$secs")
[ $explain = 1 ] && args+=(--explain)
BENCH_DIR=${BENCH_DIR:-/tmp/cutover-footprint} python3 "$repo/scripts/footprint-analyze.py" "${args[@]}"
