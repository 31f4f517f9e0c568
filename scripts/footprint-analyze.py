#!/usr/bin/env python3
"""The figures of one scripts/footprint.sh run.

usage: scripts/footprint-analyze.py NAME COLS ROWS SECS [--explain]

Reads $BENCH_DIR/runs/NAME.{out,tim,time,steady} (default BENCH_DIR
/tmp/cutover-footprint) and prints one line, the first four fields being the
ones the targets are about:

    bytes_per_s=… cpu_pct=… max_rss_mib=… first_frame_ms=… …

- bytes_per_s: bytes the program wrote in the steady window (5 s to SECS-0.5 s
  after start, so start-up and the quit are left out), per second.
- cpu_pct: user+system CPU of the program over the steady window, in % of one
  core (from /proc/PID/stat ticks taken by footprint.sh; one tick is 10 ms,
  so over 25 s the figure moves in steps of 0.04%: cpu_ticks shows how many).
- max_rss_mib: maximum resident set size (GNU time -v).
- first_frame_ms: from start until the emulated screen (pyte) first shows all
  four gauge titles: "Replication lag", "Pool saturation", "Disk headroom",
  "Checksum".

The rest: frames (synchronized updates) per second and bytes per frame,
first_data_ms (the first screen where the lag, pool and disk panes show
figures rather than their "no … yet" placeholders), start-up bytes, colours
used. With --explain it also prints where the steady bytes go: by kind
(cursor moves, colours and attributes, text) and by screen row, with what
changed on each row.
"""
import argparse
import os
import re
import statistics
import sys
from collections import defaultdict

try:
    import pyte
except ImportError:
    sys.exit("footprint-analyze.py: needs the pyte module: pip install pyte")

TITLES = ("Replication lag", "Pool saturation", "Disk headroom", "Checksum")
PLACEHOLDERS = ("no replication seen yet", "no pool figures yet", "no disk figures yet")
SYNC_BEGIN = b"\x1b[?2026h"
SYNC_END = b"\x1b[?2026l"
STEADY_FROM = 5.0
TAIL = 0.5


def read_chunks(out_path, tim_path):
    """[(seconds since start, bytes)] from a typescript and its timing file."""
    data = open(out_path, "rb").read()
    off = data.index(b"\n") + 1 if data.startswith(b"Script started") else 0
    chunks, t = [], 0.0
    for line in open(tim_path):
        f = line.split()
        if not f:
            continue
        if f[0] in ("O", "I", "S", "H"):  # advanced format: TYPE DELAY DATA
            t += float(f[1])
            if f[0] != "O":
                continue
            n = int(f[2])
        else:  # classic format: DELAY COUNT
            t += float(f[0])
            n = int(f[1])
        chunks.append((t, data[off:off + n]))
        off += n
    return chunks


def screen_text(screen):
    return "\n".join(screen.display)


def time_v(path):
    text = open(path).read()

    def get(key):
        m = re.search(re.escape(key) + r":\s*(.*)", text)
        return m.group(1).strip() if m else None

    elapsed = get("Elapsed (wall clock) time (h:mm:ss or m:ss)")
    parts = [float(x) for x in elapsed.split(":")] if elapsed else [float("nan")]
    secs = sum(v * 60 ** i for i, v in enumerate(reversed(parts)))
    return {
        "elapsed": secs,
        "cpu": float(get("User time (seconds)") or "nan") + float(get("System time (seconds)") or "nan"),
        "max_rss_kb": int(get("Maximum resident set size (kbytes)") or 0),
        "exit": get("Exit status"),
    }


def key_values(path):
    out = {}
    for line in open(path):
        if "=" in line:
            k, v = line.strip().split("=", 1)
            out[k] = v
    return out


TOKEN = re.compile(
    rb"\x1b\[[0-9;:?<=>]*[ -/]*[@-~]"  # CSI
    rb"|\x1b[PX^_].*?\x1b\\"  # DCS / SOS / PM / APC strings
    rb"|\x1b\].*?(?:\x07|\x1b\\)"  # OSC
    rb"|\x1b[ -/]*[0-~]"  # other escapes
    rb"|[\x00-\x1a\x1c-\x1f\x7f]"  # C0 controls
    rb"|[^\x00-\x1f\x7f]+",  # text
    re.S,
)


def classify(tok):
    if tok.startswith(b"\x1b["):
        final = tok[-1:]
        if final == b"m":
            return "sgr"
        if final in (b"H", b"f", b"G", b"d", b"A", b"B", b"C", b"D"):
            return "cursor"
        if tok in (SYNC_BEGIN, SYNC_END):
            return "sync"
        return "other"
    if tok.startswith(b"\x1b"):
        return "other"
    if len(tok) == 1 and tok[0] < 0x20:
        return "control"
    return "text"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("name")
    ap.add_argument("cols", type=int)
    ap.add_argument("rows", type=int)
    ap.add_argument("secs", type=float)
    ap.add_argument("--explain", action="store_true", help="where the steady bytes go")
    a = ap.parse_args()
    d = os.environ.get("BENCH_DIR", "/tmp/cutover-footprint") + "/runs"
    base = f"{d}/{a.name}"
    chunks = read_chunks(base + ".out", base + ".tim")
    if not chunks:
        sys.exit(f"footprint-analyze.py: {base}.out is empty: the program wrote nothing")
    end = a.secs - TAIL
    steady_secs = end - STEADY_FROM

    # Replay through the emulator: first frame with all four titles, first with figures.
    screen = pyte.Screen(a.cols, a.rows)
    stream = pyte.ByteStream(screen)
    first_frame = first_data = None
    startup_bytes = 0
    for t, c in chunks:
        stream.feed(c)
        if first_frame is None:
            startup_bytes += len(c)
        if first_frame is None or first_data is None:
            text = screen_text(screen)
            if first_frame is None and all(title in text for title in TITLES):
                first_frame = t
            if first_data is None and all(title in text for title in TITLES) and not any(
                p in text for p in PLACEHOLDERS
            ):
                first_data = t
        if first_frame is not None and first_data is not None:
            break

    steady = [(t, c) for t, c in chunks if STEADY_FROM <= t < end]
    steady_bytes = sum(len(c) for _, c in steady)
    total = sum(len(c) for _, c in chunks)
    steady_all = b"".join(c for _, c in steady)
    frames = steady_all.count(SYNC_BEGIN)
    # Bursts: output separated by more than 150 ms of quiet.
    starts, last = [], -9.0
    for t, _ in steady:
        if t - last > 0.15:
            starts.append(t)
        last = t
    gaps = [b - a_ for a_, b in zip(starts, starts[1:])]

    tv = time_v(base + ".time")
    kv = key_values(base + ".steady")
    hz = float(kv["clk_tck"])
    cpu_ticks = int(float(kv["ticks_end"]) - float(kv["ticks_start"]))
    cpu_secs = cpu_ticks / hz
    cpu_pct = 100 * cpu_secs / (float(kv["t_end"]) - float(kv["t_start"]))

    allb = b"".join(c for _, c in chunks)
    colours = {"24bit": 0, "256": 0, "16": 0}
    for m in re.finditer(rb"\x1b\[([0-9;:]*)m", allb):
        ps = re.split(rb"[;:]", m.group(1))
        k = 0
        while k < len(ps):
            v = int(ps[k] or 0)
            if v in (38, 48) and k + 1 < len(ps):
                if ps[k + 1] == b"5":
                    colours["256"] += 1
                    k += 3
                    continue
                if ps[k + 1] == b"2":
                    colours["24bit"] += 1
                    k += 5
                    continue
            if 30 <= v <= 37 or 40 <= v <= 47 or 90 <= v <= 97 or 100 <= v <= 107:
                colours["16"] += 1
            k += 1

    def ms(secs):
        return "nan" if secs is None else f"{secs * 1000:.0f}"

    fields = [
        f"bytes_per_s={steady_bytes / steady_secs:.0f}",
        f"cpu_pct={cpu_pct:.2f}",
        f"max_rss_mib={tv['max_rss_kb'] / 1024:.1f}",
        f"first_frame_ms={ms(first_frame)}",
        f"first_data_ms={ms(first_data)}",
        f"frames_per_s={frames / steady_secs:.2f}",
        f"bytes_per_frame={steady_bytes / frames if frames else float('nan'):.0f}",
        f"bursts_per_s={len(starts) / steady_secs:.2f}",
        f"burst_gap_s={statistics.median(gaps) if gaps else float('nan'):.2f}",
        f"startup_bytes={startup_bytes}",
        f"total_bytes={total}",
        f"cpu_ticks={cpu_ticks}@{hz:.0f}Hz",
        f"cpu_total_s={tv['cpu']:.2f}",
        f"rss_end_mib={int(kv.get('vmrss_end_kb') or 0) / 1024:.1f}",
        f"threads={kv.get('threads', '?')}",
        f"colours=16:{colours['16']},256:{colours['256']},24bit:{colours['24bit']}",
        f"alt_screen={int(b'?1049h' in allb)}",
        f"quit={kv.get('quit', '?')}",
        f"exit={tv['exit']}",
    ]

    if a.explain:
        # Cut the steady output into frames (one synchronized update each),
        # each with the time its first byte was written, and replay them.
        screen = pyte.Screen(a.cols, a.rows)
        stream = pyte.ByteStream(screen)
        for t, c in chunks:
            if t >= STEADY_FROM:
                break
            stream.feed(c)
        frames_t = []  # [(time, bytes)]
        for t, c in steady:
            parts = c.split(SYNC_BEGIN)
            if parts[0]:
                if frames_t:
                    frames_t[-1] = (frames_t[-1][0], frames_t[-1][1] + parts[0])
                else:
                    stream.feed(parts[0])
            frames_t.extend((t, SYNC_BEGIN + p) for p in parts[1:])
        explain_frames(frames_t, screen, stream, a.cols, a.rows, steady_secs)

    print(" ".join(fields))


def explain_frames(frames, screen, stream, cols, rows, steady_secs):
    # The emulator already holds the screen as it was before the first frame.
    kinds = defaultdict(int)
    row_bytes = defaultdict(int)
    row_frames = defaultdict(int)
    row_cells = defaultdict(int)
    examples = {}
    sgr_per_frame = []
    for _, payload in frames:
        prev = [[screen.buffer[y][x].data for x in range(cols)] for y in range(rows)]
        stream.feed(payload)
        row = 0
        sgr = 0
        for m in TOKEN.finditer(payload):
            tok = m.group(0)
            kind = classify(tok)
            kinds[kind] += len(tok)
            if kind == "sgr":
                sgr += 1
            if kind == "cursor" and tok.endswith(b"H"):
                p = tok[2:-1].split(b";")
                row = int(p[0]) - 1 if p and p[0] else 0
            row_bytes[row] += len(tok)
        sgr_per_frame.append(sgr)
        for y in range(rows):
            now_row = [screen.buffer[y][x].data for x in range(cols)]
            changed = [x for x in range(cols) if now_row[x] != prev[y][x]]
            if changed:
                row_frames[y] += 1
                row_cells[y] += len(changed)
                lo, hi = changed[0], changed[-1] + 1
                examples.setdefault(y, []).append((lo, hi, "".join(prev[y][lo:hi]), "".join(now_row[lo:hi])))
    total = sum(kinds.values()) or 1
    print(f"--- where the steady bytes go: {len(frames)} frames in {steady_secs:.1f} s ---")
    for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1]):
        print(f"  {kind:8} {n / steady_secs:7.0f} B/s {100 * n / total:5.1f}%")
    if sgr_per_frame:
        print(
            f"  per frame: {statistics.median(sgr_per_frame):.0f} SGR sequences (median), "
            f"{total / max(len(frames), 1):.0f} bytes"
        )
    per10 = defaultdict(int)
    for t, p in frames:
        per10[int(t // 10) * 10] += len(p)
    if len(per10) > 1:
        print("  timeline, bytes/s by 10 s from start:", " ".join(f"{k}s:{v / 10:.0f}" for k, v in sorted(per10.items())))
    print("  frames (time since start: bytes):", ", ".join(f"{t:.2f}:{len(p)}" for t, p in frames[:12]), "…")
    print("  by row: bytes/s, frames that changed the row, cells changed per such frame, a sample change")
    for y in sorted(row_bytes, key=lambda r: -row_bytes[r]):
        f = row_frames.get(y, 0)
        cells = row_cells.get(y, 0) / f if f else 0
        ex = examples.get(y, [])
        sample = ""
        if ex:
            lo, hi, before, after = ex[len(ex) // 2]
            sample = f"cols {lo}-{hi - 1}: {before.rstrip()!r} -> {after.rstrip()!r}"
        print(f"  row {y:3} {row_bytes[y] / steady_secs:6.0f} B/s {f:4} fr {cells:5.1f} cells  {sample}")


if __name__ == "__main__":
    main()
