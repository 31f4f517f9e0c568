#!/usr/bin/env python3
"""The switch as clients feel it, measured: pgbench at a fixed rate through a
real PgBouncer while `cutover run --yes` switches the application from a
source to a target that follows it by logical replication.

Three rounds, each on fresh clusters (source, target, pooler in front of the
source, pgbench's tables, a FOR ALL TABLES subscription), each with
`pgbench --rate RATE -c 8 -j 2 -T SECONDS -l` through the pooler:

  baseline   no cutover at all: the latency the clients get anyway;
  pooler     tests/fixtures/run/pooler-switch.toml: PAUSE, drain, drop the
             subscription, repoint, RESUME;
  read-only  tests/fixtures/run/readonly-switch.toml: today's way, the source
             made read-only, drain, repoint, RESUME (writes fail meanwhile);
  shipped    runbooks/pg-logical-migration-pooler.toml whole (pgbench from
             the start, twice as long): its pause also syncs sequences, runs
             a final verify and opens the way back.

Printed per round: the write pause cutover measured (first step started to
the resume finished), pgbench's p50/p99/max latency over the run and in the
second around the switch, the p99 outside the switch, the transactions that
failed (pgbench: errors abort a client; counted from its log and summary),
and for the pooler round the rows lost (source history rows missing on the
target, which must be 0).

Goals (issue 14, 2 cores): write pause <= 1 s; 0 failed; 0 lost; the p99
outside the switch within 10 % of the baseline's.

usage: scripts/switch-bench.py [--rate 500] [--seconds 30] [--switch-at 12]
       [--bin target/release/cutover] [--no-build] [--rounds baseline,pooler,read-only,shipped]
Needs PostgreSQL server binaries (CUTOVER_PG_BINDIR, or the newest
/usr/lib/postgresql/*/bin), pgbouncer and pgbench. Run as root, the servers
run as `postgres`.
"""

import argparse
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pg_bindir():
    given = os.environ.get("CUTOVER_PG_BINDIR")
    if given and os.access(os.path.join(given, "pg_ctl"), os.X_OK):
        return given
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]))
    for d in reversed(dirs):
        if os.access(os.path.join(d, "initdb"), os.X_OK):
            return d
    sys.exit("switch-bench: PostgreSQL server binaries not found (set CUTOVER_PG_BINDIR)")


BIN = pg_bindir()
ROOT_USER = os.getuid() == 0


def as_pg(cmd, **kw):
    if ROOT_USER:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    return subprocess.run(cmd, check=True, **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(port, sql, db="postgres"):
    out = subprocess.run(
        [f"{BIN}/psql", "-X", "-At", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", db, "-c", sql],
        check=True, capture_output=True, text=True)
    return out.stdout.strip()


class World:
    """Two clusters, a subscription, a pooler: torn down by close()."""

    def __init__(self, work, pub="pub", sub="sub"):
        self.work = work
        os.makedirs(work, exist_ok=True)
        if ROOT_USER:
            shutil.chown(work, "postgres", "postgres")
        self.source = self.cluster("source", logical=True)
        # Logical on the target too: the shipped runbook publishes back after the switch.
        self.target = self.cluster("target", logical=True)
        bench = lambda port, init: subprocess.run(
            [f"{BIN}/pgbench", "-i", "-I", init, "-s", "1", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
             "postgres"], check=True, capture_output=True)
        bench(self.source, "dtgp")
        bench(self.target, "dtp")
        psql(self.source, f"ALTER TABLE pgbench_history REPLICA IDENTITY FULL; CREATE PUBLICATION {pub} FOR ALL TABLES")
        psql(self.target, f"CREATE SUBSCRIPTION {sub} CONNECTION 'host=127.0.0.1 port={self.source} user=postgres "
                          f"dbname=postgres' PUBLICATION {pub}")
        for _ in range(600):
            if psql(self.target, "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'") == "0":
                break
            time.sleep(0.1)
        self.pooler_port = free_port()
        self.ini = os.path.join(work, "pgbouncer.ini")
        with open(os.path.join(work, "userlist.txt"), "w") as f:
            f.write('"postgres" ""\n')
        with open(self.ini, "w") as f:
            f.write(f"[databases]\napp = host=127.0.0.1 port={self.source} dbname=postgres\n[pgbouncer]\n"
                    f"listen_addr = 127.0.0.1\nlisten_port = {self.pooler_port}\nunix_socket_dir = {work}\n"
                    f"auth_type = trust\nauth_file = {work}/userlist.txt\nadmin_users = postgres\n"
                    f"pool_mode = transaction\ndefault_pool_size = 8\nmax_client_conn = 100\n"
                    f"ignore_startup_parameters = extra_float_digits\n")
        if ROOT_USER:
            for p in (self.ini, os.path.join(work, "userlist.txt")):
                shutil.chown(p, "postgres", "postgres")
        cmd = ["pgbouncer", self.ini]
        if ROOT_USER:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        self.bouncer = subprocess.Popen(cmd, stdout=open(os.path.join(work, "pgbouncer.log"), "w"),
                                        stderr=subprocess.STDOUT)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.pooler_port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        self.inventory = os.path.join(work, "inventory.toml")
        with open(self.inventory, "w") as f:
            f.write(f'name = "bench"\ninterval = "500ms"\n'
                    f'[endpoints.source]\nkind = "postgres"\ndsn = "host=127.0.0.1 port={self.source} user=postgres dbname=postgres"\n'
                    f'[endpoints.target]\nkind = "postgres"\ndsn = "host=127.0.0.1 port={self.target} user=postgres dbname=postgres"\n'
                    f'[endpoints.pooler]\nkind = "pgbouncer"\ndsn = "host=127.0.0.1 port={self.pooler_port} user=postgres dbname=pgbouncer"\n'
                    f'ini = "{self.ini}"\n')

    def cluster(self, name, logical):
        d = os.path.join(self.work, name)
        as_pg(["mkdir", "-p", d])
        as_pg([f"{BIN}/initdb", "-D", f"{d}/data", "-U", "postgres", "--auth=trust", "--no-sync"],
              capture_output=True)
        port = free_port()
        conf = f"port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{d}'\nfsync = off\n"
        if logical:
            conf += "wal_level = logical\n"
        as_pg(["sh", "-c", f"cat >> {d}/data/postgresql.conf"], input=conf.encode())
        as_pg([f"{BIN}/pg_ctl", "-D", f"{d}/data", "-l", f"{d}/postgres.log", "-w", "start"], capture_output=True)
        return port

    def close(self):
        # SIGTERM: PgBouncer's immediate shutdown (runuser passes it on; SIGINT's
        # "safe shutdown" would wait for clients and runuser does not pass it).
        self.bouncer.send_signal(signal.SIGTERM)
        try:
            self.bouncer.wait(timeout=10)
        except subprocess.TimeoutExpired:
            subprocess.run(["pkill", "-KILL", "-f", self.ini])
            self.bouncer.wait()
        for name in ("source", "target"):
            subprocess.run((["runuser", "-u", "postgres", "--"] if ROOT_USER else []) +
                           [f"{BIN}/pg_ctl", "-D", os.path.join(self.work, name, "data"), "-m", "immediate", "stop"],
                           capture_output=True)


def pgbench(world, work, rate, seconds):
    return subprocess.Popen(
        [f"{BIN}/pgbench", "-h", "127.0.0.1", "-p", str(world.pooler_port), "-U", "postgres", "-c", "8", "-j", "2",
         "--rate", str(rate), "-T", str(seconds), "-n", "-l", "--log-prefix", os.path.join(work, "pgbench_log"),
         "app"], cwd=work, stdout=open(os.path.join(work, "pgbench.out"), "w"),
        stderr=open(os.path.join(work, "pgbench.err"), "w"))


def latencies(work):
    """(epoch seconds at the end, latency seconds) per transaction."""
    out = []
    for path in glob.glob(os.path.join(work, "pgbench_log*")):
        for line in open(path):
            f = line.split()
            # client_id transaction_no time_us script_no time_epoch time_us [schedule_lag]
            out.append((int(f[4]) + int(f[5]) / 1e6, int(f[2]) / 1e6))
    return out


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def journal_pause(path):
    """The write pause as cutover's stopwatch has it: from the start of the
    step marked starts_write_pause to the end of the one marked
    ends_write_pause (the forward ones: the first of each)."""
    records = [json.loads(l) for l in open(path)]
    t = lambda r: time_of(r["at"])
    steps = [st for ph in records[0]["outline"]["phases"] for st in ph["steps"]]
    flagged = lambda flag: next(st["id"] for st in steps if st.get(flag))
    pause, resume = flagged("starts_write_pause"), flagged("ends_write_pause")
    first = next(t(r) for r in records if r["event"] == "step_started" and r["step"] == pause)
    last = next(t(r) for r in records if r["event"] == "step_finished" and r["step"] == resume and r.get("ok"))
    return first, last


def time_of(stamp):
    from datetime import datetime
    stamp = stamp.rstrip("Z")
    whole, _, frac = stamp.partition(".")
    return datetime.fromisoformat(whole + "+00:00").timestamp() + float("0." + (frac or "0"))


def round_(name, runbook, args, cutover, shipped=False):
    work = tempfile.mkdtemp(prefix=f"cutover-switch-bench-{name}-")
    if ROOT_USER:
        shutil.chown(work, "postgres", "postgres")
    # The shipped runbook finds its own subscription and carries on with it.
    world = World(os.path.join(work, "w"), *(("cutover_pub", "cutover_sub") if shipped else ()))
    try:
        load = pgbench(world, work, args.rate, args.seconds * 2 if shipped else args.seconds)
        pause = None
        failed_run = None
        if runbook:
            if not shipped:
                time.sleep(args.switch_at)
            journal = os.path.join(work, "switch.jsonl")
            run = subprocess.run([cutover, "run", runbook, "--inventory", world.inventory, "--journal", journal,
                                  "--yes"] + (["--allow-manual"] if shipped else []), capture_output=True, text=True)
            if run.returncode != 0:
                print(f"switch-bench: {name}: cutover exited {run.returncode}: {run.stderr[-2000:]}", file=sys.stderr)
            failed_run = run.returncode
            if run.returncode != 0:
                keep = tempfile.mkdtemp(prefix=f"cutover-switch-bench-{name}-failed-")
                shutil.copy(journal, keep)
                print(f"switch-bench: {name}: its journal is kept in {keep}", file=sys.stderr)
            pause = journal_pause(journal)
        load.wait()
        out = open(os.path.join(work, "pgbench.out")).read()
        failed = 0
        for line in out.splitlines():
            if line.startswith("number of failed transactions:"):
                failed = int(line.split(":")[1].split()[0])
        aborted = "aborted" in open(os.path.join(work, "pgbench.err")).read()
        lat = latencies(work)
        all_lat = [l for _, l in lat]
        result = {"round": name, "transactions": len(lat), "failed": failed, "clients_aborted": aborted,
                  "p50_ms": pct(all_lat, 50) * 1e3, "p99_ms": pct(all_lat, 99) * 1e3, "max_ms": max(all_lat) * 1e3}
        if pause:
            start, end = pause
            result["write_pause_s"] = end - start
            result["cutover_exit"] = failed_run
            # Transactions that ended in the second around the switch, and outside it.
            near = [l for at, l in lat if start - 0.5 <= at - l and at <= end + 0.5]
            far = [l for at, l in lat if at < start - 1 or at - l > end + 1]
            result["switch_p50_ms"] = pct(near, 50) * 1e3
            result["switch_p99_ms"] = pct(near, 99) * 1e3
            result["switch_max_ms"] = max(near, default=0) * 1e3
            result["outside_p99_ms"] = pct(far, 99) * 1e3
            src = set(psql(world.source, "SELECT tid, bid, aid, delta, mtime FROM pgbench_history").splitlines())
            dst = set(psql(world.target, "SELECT tid, bid, aid, delta, mtime FROM pgbench_history").splitlines())
            result["rows_lost"] = len(src - dst) if name != "read-only" else None
        else:
            result["outside_p99_ms"] = result["p99_ms"]
        return result
    finally:
        world.close()
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rate", type=int, default=500)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--switch-at", type=float, default=12.0)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/cutover"))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--rounds", default="baseline,pooler,read-only,shipped",
                    help="which rounds, comma-separated (the goals need baseline and pooler)")
    args = ap.parse_args()
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    fixtures = os.path.join(ROOT, "tests/fixtures/run")
    rounds = {
        "baseline": (None, False),
        "pooler": (os.path.join(fixtures, "pooler-switch.toml"), False),
        "read-only": (os.path.join(fixtures, "readonly-switch.toml"), False),
        "shipped": (os.path.join(ROOT, "runbooks/pg-logical-migration-pooler.toml"), True),
    }
    results = {}
    for name in args.rounds.split(","):
        runbook, shipped = rounds[name]
        r = round_(name, runbook, args, args.bin, shipped=shipped)
        results[name] = r
        print("switch-bench: " + " ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()),
              flush=True)
    if "baseline" not in results or "pooler" not in results:
        return 0 if all(r["failed"] == 0 and not r.get("rows_lost") for r in results.values()) else 1
    base = results["baseline"]["outside_p99_ms"]
    pooler = results["pooler"]
    goals = {
        "write_pause_le_1s": pooler["write_pause_s"] <= 1.0,
        "no_failed": pooler["failed"] == 0 and not pooler["clients_aborted"],
        "no_lost_rows": pooler["rows_lost"] == 0,
        "p99_outside_within_10pct": abs(pooler["outside_p99_ms"] - base) <= 0.1 * base,
    }
    print("switch-bench-goals: " + " ".join(f"{k}={'met' if v else 'MISSED'}" for k, v in goals.items()))
    shipped = results.get("shipped")
    if shipped is None:
        return 0 if pooler["failed"] == 0 and pooler["rows_lost"] == 0 else 1
    print(f"switch-bench-shipped: write_pause_s={shipped['write_pause_s']:.2f} failed={shipped['failed']} "
          f"rows_lost={shipped['rows_lost']} (the shipped runbook: sequences, a final verify and the way back in the pause)")
    ok = all(r["failed"] == 0 and r["rows_lost"] == 0 for r in (pooler, shipped))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
