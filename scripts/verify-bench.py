#!/usr/bin/env python3
"""Helpers of scripts/verify-bench.sh (standard library only).

    verify-bench.py ports N
        N free TCP ports on 127.0.0.1, one per line.
    verify-bench.py measure --name NAME --dir DIR --pm PID [--pm PID ...] -- CMD...
        Run CMD (stdout to DIR/NAME.out, stderr to DIR/NAME.err) and write
        DIR/NAME.json: wall seconds, the command's own CPU (user+sys of it and
        every descendant it reaped, from getrusage), the CPU of the database
        clusters whose postmaster PIDs are given (utime+stime of the postmaster
        and all its live children plus its reaped children's cutime+cstime,
        before/after, from /proc), the CPU of everything else on the machine
        (busy ticks of /proc/stat minus both), load averages, exit status.
        Exits with CMD's status.
    verify-bench.py cutover-check NAME.json --expect-equal | --expect-ids 1,2,...
        Check the JSON document of `cutover verify --json` (NAME.out beside the
        measurement) and add the result to the measurement.
    verify-bench.py reladiff-check NAME.json --expect-equal | --expect-ids 1,2,...
        Count the keys reladiff reported (JSONL `["-", [key, ...]]` lines).
    verify-bench.py baseline-check NAME.json --expect-equal | --expect-differ
        Compare the two sums a baseline printed (`source SUM` / `target SUM`).
    verify-bench.py log-breakdown DIR
        From the server logs saved by --log-statements: per cutover run and
        backend, the time spent in each kind of statement (chunk hashes,
        boundary walks, drill-down splits, row fetches) and the idle share.
    verify-bench.py report DIR
        The summary table, the ratios against the goals and the
        machine-readable `verify-bench: …` line.
"""

import json
import os
import re
import resource
import socket
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- /proc ------------------------------------------------------------------

def _stat_fields(pid):
    """(ppid, utime, stime, cutime, cstime) in ticks, or None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode("ascii", "replace")
    except OSError:
        return None
    # comm may hold spaces and parentheses: split after the last ')'.
    rest = raw[raw.rfind(")") + 2:].split()
    # rest[0] is field 3 (state); ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
    return int(rest[1]), int(rest[11]), int(rest[12]), int(rest[13]), int(rest[14])


def cluster_ticks(postmasters):
    """CPU ticks of the clusters: postmasters, their live children, their reaped children."""
    pms = set(postmasters)
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        st = _stat_fields(pid)
        if st is None:
            continue
        ppid, ut, stt, cut, cst = st
        if pid in pms:
            total += ut + stt + cut + cst
        elif ppid in pms:
            total += ut + stt
    return total


def machine_busy_ticks():
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:]
    vals = [int(x) for x in parts]
    # user nice system idle iowait irq softirq steal guest guest_nice
    idle = vals[3] + vals[4]
    busy = sum(vals[:8]) - idle  # guest time is already inside user
    return busy


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


# --- commands ---------------------------------------------------------------

def cmd_ports(args):
    n = int(args[0])
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    print("\n".join(map(str, ports)))


def cmd_measure(args):
    name = dirname = None
    pms = []
    extra = {}
    while args and args[0] != "--":
        opt = args.pop(0)
        if opt == "--name":
            name = args.pop(0)
        elif opt == "--dir":
            dirname = args.pop(0)
        elif opt == "--pm":
            pms.append(int(args.pop(0)))
        elif opt == "--meta":
            k, _, v = args.pop(0).partition("=")
            extra[k] = int(v) if v.isdigit() else v
        else:
            sys.exit(f"measure: unknown option {opt}")
    if not args or not name or not dirname:
        sys.exit("measure: --name NAME --dir DIR [--pm PID]... -- CMD...")
    cmd = args[1:]
    base = os.path.join(dirname, name)
    load0 = loadavg()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    db0 = cluster_ticks(pms)
    busy0 = machine_busy_ticks()
    e0 = time.time()
    t0 = time.monotonic()
    with open(base + ".out", "wb") as out, open(base + ".err", "wb") as err:
        proc = subprocess.run(cmd, stdout=out, stderr=err)
    t1 = time.monotonic()
    e1 = time.time()
    busy1 = machine_busy_ticks()
    db1 = cluster_ticks(pms)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    load1 = loadavg()
    cmd_cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    db_cpu = (db1 - db0) / CLK_TCK
    busy = (busy1 - busy0) / CLK_TCK
    doc = {
        "name": name,
        "cmd": cmd,
        "wall_s": round(t1 - t0, 3),
        "cmd_cpu_s": round(cmd_cpu, 3),
        "cmd_user_s": round(ru1.ru_utime - ru0.ru_utime, 3),
        "cmd_sys_s": round(ru1.ru_stime - ru0.ru_stime, 3),
        "cmd_max_rss_kib": ru1.ru_maxrss,
        "db_cpu_s": round(db_cpu, 3),
        "other_cpu_s": round(max(0.0, busy - db_cpu - cmd_cpu), 3),
        "machine_busy_s": round(busy, 3),
        "loadavg_before": load0,
        "loadavg_after": load1,
        "exit": proc.returncode,
        "started": time.strftime("%H:%M:%S", time.localtime(e0)),
        "start_epoch": e0,
        "end_epoch": e1,
    }
    doc.update(extra)
    with open(base + ".json", "w") as f:
        json.dump(doc, f, indent=1)
    print(
        f"    {name}: {doc['wall_s']:.2f} s wall, exit {proc.returncode}; CPU: command {cmd_cpu:.2f} s, "
        f"databases {db_cpu:.2f} s, everything else {doc['other_cpu_s']:.2f} s; load {load0[0]:.2f}",
        file=sys.stderr,
    )
    sys.exit(proc.returncode)


def _parse_expect(args):
    if args == ["--expect-equal"]:
        return set()
    if len(args) == 2 and args[0] == "--expect-ids":
        return {x for x in args[1].split(",") if x}
    sys.exit("want --expect-equal or --expect-ids 1,2,...")


def _update(path, **kv):
    with open(path) as f:
        doc = json.load(f)
    doc.update(kv)
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    return doc


def _scalar_keys(node):
    """The key values named in a difference entry, as strings."""
    out = set()
    for field in ("key", "keys"):
        if isinstance(node, dict) and field in node:
            v = node[field]
            if isinstance(v, dict):
                v = list(v.values())
            if isinstance(v, list):
                out.update(str(x) for x in v if not isinstance(x, (dict, list)))
            else:
                out.add(str(v))
    return out


def cmd_cutover_check(args):
    path = args.pop(0)
    expect = _parse_expect(args)
    m = json.load(open(path))
    out = path[: -len(".json")] + ".out"
    problems = []
    try:
        doc = json.load(open(out))
    except (OSError, ValueError) as e:
        doc = None
        problems.append(f"no JSON document on stdout ({e})")
    diffs = None
    different_keys = set()
    other_kinds = {}
    elapsed = None
    chunks = None
    if doc is not None:
        totals = doc.get("totals") if isinstance(doc, dict) else None
        if isinstance(totals, dict):
            diffs = totals.get("differences")
        else:
            problems.append("no totals object")
        if isinstance(doc, dict):
            elapsed = doc.get("elapsed_seconds")
            if m.get("mode") and doc.get("mode") != m["mode"]:
                problems.append(f"mode {doc.get('mode')!r} used, {m['mode']!r} asked")
        # {"tables": [{"table", "status", "chunks", "differences": [{"key": {"id": 42}, "kind": "different"}]}]}
        tables = doc.get("tables", []) if isinstance(doc, dict) else []
        chunks = [t.get("chunks") for t in tables if isinstance(t, dict)]
        for t in tables:
            if not isinstance(t, dict):
                continue
            if t.get("error"):
                problems.append(f"table {t.get('table')}: error {t['error']}")
            if t.get("warning"):
                problems.append(f"table {t.get('table')}: warning {t['warning']}")
            for dd in t.get("differences") or []:
                kind = dd.get("kind") if isinstance(dd, dict) else None
                if kind == "different":
                    different_keys |= _scalar_keys(dd)
                else:
                    other_kinds[str(kind)] = other_kinds.get(str(kind), 0) + 1
    want_exit = 0 if not expect else 1
    if m["exit"] != want_exit:
        problems.append(f"exit {m['exit']}, expected {want_exit}")
    if diffs is not None and diffs != len(expect):
        problems.append(f"totals.differences = {diffs}, expected {len(expect)}")
    if expect and different_keys != expect:
        miss = sorted(expect - different_keys, key=lambda x: int(x) if x.isdigit() else 0)
        more = sorted(different_keys - expect)
        problems.append(f"keys reported as different: missing {miss or 'none'}, unexpected {more[:10] or 'none'}")
    if other_kinds:
        problems.append(f"other difference kinds reported: {other_kinds}")
    doc_m = _update(path, differences=diffs, different_keys=sorted(different_keys),
                    elapsed_seconds_reported=elapsed, chunks=chunks, check="ok" if not problems else "; ".join(problems))
    print(f"    {doc_m['name']}: differences={diffs}, chunks={chunks}, elapsed_seconds={elapsed}, check: {doc_m['check']}",
          file=sys.stderr)
    sys.exit(0 if not problems else 1)


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def cmd_reladiff_check(args):
    path = args.pop(0)
    expect = _parse_expect(args)
    m = json.load(open(path))
    out = path[: -len(".json")] + ".out"
    plus, minus = set(), set()
    for line in open(out, errors="replace"):
        line = ANSI.sub("", line).strip()
        if not line:
            continue
        try:
            op, values = json.loads(line)
            key = str(values[0])
        except (ValueError, TypeError, IndexError):
            mm = re.match(r"^([+-])\s*\[?\s*\"?([^,\"\]]+)", line)
            if not mm:
                continue
            op, key = mm.group(1), mm.group(2).strip()
        (plus if op == "+" else minus).add(key)
    keys = plus | minus
    problems = []
    if m["exit"] != 0:
        problems.append(f"exit {m['exit']}")
    if keys != expect:
        problems.append(f"reported {len(keys)} keys, expected {len(expect)}"
                        + (f" (missing {sorted(expect - keys)})" if expect - keys else ""))
    doc_m = _update(path, differences=len(keys), rows_minus=len(minus), rows_plus=len(plus),
                    check="ok" if not problems else "; ".join(problems))
    print(f"    {doc_m['name']}: {len(keys)} keys differ, check: {doc_m['check']}", file=sys.stderr)
    sys.exit(0 if not problems else 1)


def cmd_baseline_check(args):
    path, want = args[0], args[1]
    m = json.load(open(path))
    out = path[: -len(".json")] + ".out"
    sums = {}
    for line in open(out, errors="replace"):
        side, _, val = line.strip().partition(" ")
        sums[side] = val.strip()
    problems = []
    if m["exit"] != 0:
        problems.append(f"exit {m['exit']}")
    src, tgt = sums.get("source", ""), sums.get("target", "")
    if not src or not tgt:
        problems.append("a side printed no sum")
    elif want == "--expect-equal" and src != tgt:
        problems.append(f"sums differ on equal tables ({src} vs {tgt})")
    elif want == "--expect-differ" and src == tgt:
        problems.append("sums equal although 10 rows changed")
    doc_m = _update(path, source_sum=src, target_sum=tgt, check="ok" if not problems else "; ".join(problems))
    print(f"    {doc_m['name']}: check: {doc_m['check']}", file=sys.stderr)
    sys.exit(0 if not problems else 1)


# --- the report ---------------------------------------------------------------

def _load_all(d):
    runs = {}
    for fn in sorted(os.listdir(d)):
        if fn.endswith(".json") and not fn.startswith("_"):
            with open(os.path.join(d, fn)) as f:
                doc = json.load(f)
            runs[doc["name"]] = doc
    return runs


def _best(runs, prefix):
    """The fastest successful run among NAME-<prefix>[.N] / reladiff variants."""
    cands = [r for n, r in runs.items() if n == prefix or n.startswith(prefix + ".")]
    ok = [r for r in cands if r.get("check", "ok") == "ok" and r["exit"] in (0, 1)]
    pool = ok or cands
    return min(pool, key=lambda r: r["wall_s"]) if pool else None


def cmd_report(args):
    d = args[0]
    runs = _load_all(d)
    meta = {}
    mp = os.path.join(d, "_meta.json")
    if os.path.exists(mp):
        meta = json.load(open(mp))

    print()
    print("=" * 100)
    if meta:
        print(f"verify-bench  {meta.get('date', '')}  rows={meta.get('rows')}  table={meta.get('table_size', '?')} per side"
              f"  {meta.get('cpus', '?')} CPUs  {meta.get('pg_version', '')}")
        print(f"  cutover {meta.get('cutover_commit', '?')}  jobs={meta.get('cutover_jobs', 'default')}"
              f"  chunk-rows={meta.get('chunk_rows', 'default')}"
              + (f"  dsn options '{meta['dsn_options']}'" if meta.get("dsn_options") else "")
              + f"  reladiff {meta.get('reladiff_version', '-')}  load at start {meta.get('load_start', '?')}")
    print("=" * 100)
    hdr = (f"{'measurement':34} {'wall s':>8} {'exit':>4} {'own CPU s':>9} {'DB CPU s':>9} {'own/DB':>7}"
           f" {'others':>7}  check")
    print(hdr)
    print("-" * len(hdr))
    noisy = []
    for name, r in sorted(runs.items(), key=lambda kv: kv[1].get("seq", 0)):
        pct = (100.0 * r["cmd_cpu_s"] / r["db_cpu_s"]) if r["db_cpu_s"] > 0 else float("nan")
        others = r["other_cpu_s"] / r["wall_s"] if r["wall_s"] > 0 else 0.0
        mark = " !" if others > 0.15 else "  "
        if mark.strip():
            noisy.append(name)
        print(f"{name:34} {r['wall_s']:8.2f} {r['exit']:4d} {r['cmd_cpu_s']:9.2f} {r['db_cpu_s']:9.2f}"
              f" {pct:6.1f}% {others:5.2f}{mark} {r.get('check', '')}")
    print("  own CPU: the measured command and its children (getrusage); DB CPU: every process of both clusters;")
    print("  others: CPU of everything else on the machine during the measurement, in cores"
          " (! = over 0.15: the figure is disturbed)")
    if noisy:
        print(f"  disturbed: {', '.join(noisy)}")
    print()

    def w(prefix):
        r = _best(runs, prefix)
        return r["wall_s"] if r else None

    fig = {
        "baseline_typed_s": w("baseline-typed-equal"),
        "baseline_portable_s": w("baseline-portable-equal"),
        "cutover_typed_s": w("cutover-typed-equal"),
        "cutover_portable_s": w("cutover-portable-equal"),
        "baseline_typed_changed_s": w("baseline-typed-changed"),
        "baseline_portable_changed_s": w("baseline-portable-changed"),
        "cutover_typed_changed_s": w("cutover-typed-changed"),
        "cutover_portable_changed_s": w("cutover-portable-changed"),
    }
    rel = {}
    for rnd in ("equal", "changed"):
        cands = [r for n, r in runs.items() if n.startswith(f"reladiff-{rnd}-j")]
        ok = [r for r in cands if r.get("check") == "ok"]
        if ok:
            b = min(ok, key=lambda r: r["wall_s"])
            rel[rnd] = b
            fig[f"reladiff_{rnd}_s"] = b["wall_s"]
            fig[f"reladiff_{rnd}_j"] = int(b.get("jobs", 0))
    # cutover's own CPU against the databases', over all cutover runs
    cut = [r for n, r in runs.items() if n.startswith("cutover-")]
    if cut:
        own = sum(r["cmd_cpu_s"] for r in cut)
        db = sum(r["db_cpu_s"] for r in cut)
        fig["cutover_cpu_pct_of_db"] = round(100.0 * own / db, 2) if db else None

    def ratio(a, b):
        return round(fig[a] / fig[b], 3) if fig.get(a) and fig.get(b) else None

    goals = [
        ("typed / its baseline (equal)", ratio("cutover_typed_s", "baseline_typed_s"), "<=", 1.2),
        ("portable / its baseline (equal)", ratio("cutover_portable_s", "baseline_portable_s"), "<=", 1.2),
        ("typed / its baseline (10 changed)", ratio("cutover_typed_changed_s", "baseline_typed_changed_s"), "info", 1.2),
        ("portable / its baseline (10 changed)", ratio("cutover_portable_changed_s", "baseline_portable_changed_s"), "info", 1.2),
        ("reladiff / typed (equal)", ratio("reladiff_equal_s", "cutover_typed_s"), ">=", 3.0),
        ("reladiff / typed (10 changed)", ratio("reladiff_changed_s", "cutover_typed_changed_s"), ">=", 4.0),
        ("typed changed / typed equal", ratio("cutover_typed_changed_s", "cutover_typed_s"), "<=", 4 / 3),
        ("portable changed / portable equal", ratio("cutover_portable_changed_s", "cutover_portable_s"), "<=", 4 / 3),
        ("cutover CPU % of the databases'", fig.get("cutover_cpu_pct_of_db"), "<=", 5.0),
    ]
    print("goals")
    met = missed = 0
    for label, val, op, lim in goals:
        if val is None:
            verdict = "n/a"
        elif op == "info":
            verdict = "(for information: the goal is the line below)"
        else:
            ok = val <= lim if op == "<=" else val >= lim
            verdict = "MET" if ok else "MISSED"
            met += ok
            missed += not ok
        vs = "-" if val is None else f"{val:.2f}"
        if op == "info":
            print(f"  {label:38} {vs:>7}   {'':15}  {verdict}")
        else:
            print(f"  {label:38} {vs:>7}   goal {op} {lim:.2f}   {verdict}")
    print(f"  ({met} met, {missed} missed)")
    bad = [n for n, r in runs.items() if r.get("check", "ok") != "ok"]
    if bad:
        print(f"  CHECK FAILURES: {', '.join(bad)}")
    print()

    def fmt(k, v):
        if v is None:
            return f"{k}=-"
        if k.startswith("reladiff_") and k.endswith("_s"):
            j = fig.get(k[:-2] + "_j")
            return f"{k}={v:.2f}(j={j})"
        if k.endswith("_j"):
            return None
        return f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}"

    order = ["baseline_typed_s", "baseline_portable_s", "cutover_typed_s", "cutover_portable_s",
             "baseline_typed_changed_s", "baseline_portable_changed_s",
             "cutover_typed_changed_s", "cutover_portable_changed_s",
             "reladiff_equal_s", "reladiff_changed_s", "cutover_cpu_pct_of_db"]
    parts = [fmt(k, fig.get(k)) for k in order]
    print("verify-bench: rows=%s " % meta.get("rows", "?") + " ".join(p for p in parts if p))
    rparts = []
    for label, val, op, lim in goals:
        key = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
        rparts.append(f"{key}={'-' if val is None else f'{val:.2f}'}")
    print("verify-bench-ratios: " + " ".join(rparts) + f" goals_met={met} goals_missed={missed}"
          + f" check_failures={len(bad)}")
    with open(os.path.join(d, "_summary.json"), "w") as f:
        json.dump({"figures": fig, "goals": [{"goal": g[0], "value": g[1], "op": g[2], "limit": g[3]} for g in goals],
                   "meta": meta}, f, indent=1)


LOG_LINE = re.compile(r"^(\S+ \S+) \S+ \[(\d+)\] (\S+) LOG:  duration: ([\d.]+) ms  (\w+)[^:]*: (.*)")


def _kind(q):
    if "OFFSET" in q:
        return "boundary"
    if "row_number()" in q:
        return "split"
    if "count(*)" in q and "sum(hash" in q:
        return "hash"
    if "jsonb_build_object" in q:
        return "rows"
    return "other"


def cmd_log_breakdown(args):
    """Per cutover run, per backend: span, busy time and the statements' kinds (server logs with
    log_min_duration_statement = 0 and application_name = cutover)."""
    d = args[0]
    import datetime
    backends = {}
    for side in ("source", "target"):
        path = os.path.join(d, f"{side}.log")
        if not os.path.exists(path):
            continue
        for line in open(path, errors="replace"):
            m = LOG_LINE.match(line)
            if not m or m.group(3) != "cutover":
                continue
            ts = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f")
            pid, dur, phase, q = m.group(2), float(m.group(4)) / 1000, m.group(5), m.group(6)
            b = backends.setdefault((side, pid), {"side": side, "pid": pid, "first": ts, "last": ts, "busy": 0.0,
                                                  "kinds": {}, "n": {}})
            b["last"] = ts
            b["busy"] += dur
            k = _kind(q)
            b["kinds"][k] = b["kinds"].get(k, 0.0) + dur
            if phase in ("execute", "statement"):
                b["n"][k] = b["n"].get(k, 0) + 1
    if not backends:
        print("no cutover statements in the server logs (run with --log-statements)")
        return
    # a backend belongs to the cutover run during which it ran its first statement
    runs = [r for n, r in sorted(_load_all(d).items(), key=lambda kv: kv[1].get("seq", 0))
            if n.startswith("cutover-") and "start_epoch" in r]
    groups, names = [], []
    for r in runs:
        lo = datetime.datetime.fromtimestamp(r["start_epoch"], datetime.timezone.utc).replace(tzinfo=None)
        hi = datetime.datetime.fromtimestamp(r["end_epoch"], datetime.timezone.utc).replace(tzinfo=None)
        g = [b for b in backends.values() if lo - datetime.timedelta(milliseconds=5) <= b["first"] <= hi]
        if g:
            groups.append(g)
            names.append(r["name"])
    print("where cutover's time goes, per run and server backend (from the server logs):")
    print("  busy = time inside statements; span = first to last statement; kinds: seconds/statements")
    for name, g in zip(names, groups):
        print(f"  {name}")
        for b in sorted(g, key=lambda b: (b["side"], b["pid"])):
            span = (b["last"] - b["first"]).total_seconds()
            ks = ", ".join(f"{k} {v:.2f}s/{b['n'].get(k, 0)}" for k, v in sorted(b["kinds"].items(), key=lambda kv: -kv[1]))
            print(f"    {b['side']:6} backend {b['pid']:>7}: span {span:5.2f}s busy {b['busy']:5.2f}s"
                  f" ({100 * b['busy'] / span if span else 0:3.0f}%)  {ks}")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    {
        "ports": cmd_ports,
        "measure": cmd_measure,
        "cutover-check": cmd_cutover_check,
        "reladiff-check": cmd_reladiff_check,
        "baseline-check": cmd_baseline_check,
        "log-breakdown": cmd_log_breakdown,
        "report": cmd_report,
    }.get(cmd, lambda _a: sys.exit(__doc__))(args)


if __name__ == "__main__":
    main()
