#!/usr/bin/env bash
# How fast `cutover verify` compares a table on two PostgreSQL servers, against
# what the servers cannot go below and against reladiff.
#
# Two local clusters get the same table of ROWS rows x 6 mixed columns
#   t(id bigint primary key, customer_id int, amount numeric(12,2),
#     created_at timestamptz, status text, note text)   -- ~60-byte notes, 1% NULL
# generated on each side from generate_series with a deterministic function of
# id. Then, in one run:
#   round "equal"   — the tables are identical;
#   round "changed" — 10 rows scattered across the key range are updated on the
#                     target (amount, note, status or created_at);
# and in each round:
#   baseline-typed     SELECT sum(hash_record_extended(t, 0)) FROM t   on both servers at once
#   baseline-portable  SELECT sum(hashtext(t::text)) FROM t            on both servers at once
#   cutover-typed      cutover verify --mode typed
#   cutover-portable   cutover verify --mode portable
#   reladiff-j<J>      reladiff … -k id -c % -j J   (every J of --reladiff-jobs; the best counts)
# Each is timed (wall), with its own CPU (getrusage of the command and its
# children), the databases' CPU (every process of both clusters, from /proc)
# and everything else's CPU on the machine (to see interference). Results are
# checked: cutover must exit 0 with no difference on equal tables, and exit 1
# with exactly the 10 keys reported as `different` in the changed round;
# reladiff must list the 10 keys; the baselines' sums must agree / disagree.
#
# Goals (the issue's): each mode within 1.2x of its baseline; typed at least
# 3x faster than reladiff on equal tables and 4x with 10 changes; localising
# the 10 rows adds at most a third to the equal-table time; cutover's CPU a
# few percent (<= 5%) of the databases'.
#
# usage: scripts/verify-bench.sh [options]
#   --rows N             rows of the table               (default 5000000)
#   --jobs N             cutover verify --jobs N         (default: cutover's own)
#   --modes LIST         cutover modes to run            (default typed,portable)
#   --chunk-rows N       cutover verify --chunk-rows N   (default: cutover's own)
#   --dsn-options S      libpq `options` for cutover's connections, e.g.
#                        '-c max_parallel_workers_per_gather=0' (default: none)
#   --repeat N           run baselines and cutover N times per round, keep the fastest (default 3;
#                        single runs on a small VM vary by 15-25%)
#   --reladiff-jobs LIST reladiff -j values to try       (default 1,2,4,8)
#   --skip-reladiff      no reladiff
#   --skip-cutover       no cutover (automatic, with a warning, while the binary has no `verify`)
#   --bin PATH           the cutover binary              (default target/release/cutover, built)
#   --no-build           do not run `cargo build --release`
#   --pgss               load pg_stat_statements; after each cutover run save its top
#                        statements on both sides to RESULTS/NAME.pgss-{source,target}
#   --log-statements     log_min_duration_statement=0 on both servers; the logs are
#                        saved to RESULTS/{source,target}.log and summed per cutover run
#                        and backend (chunk hashes, boundary walks, drill-down splits,
#                        row fetches, idle share) into RESULTS/_log-breakdown.txt
#   --shared-buffers S   shared_buffers of both clusters (default 256MB)
#   --keep               keep the clusters (and print how to reach them)
#
# Environment: CUTOVER_PG_BINDIR (PostgreSQL server binaries, default the newest
# /usr/lib/postgresql/*/bin), BENCH_DIR (results, default /tmp/cutover-verify-bench),
# VERIFY_BENCH_CACHE (reladiff's venv, default ~/.cache/cutover-verify-bench),
# RELADIFF_SPEC (what pip installs, default 'reladiff[postgresql]==0.6.0').
#
# Results: BENCH_DIR/runs/<date>-rows<N>/ holds per measurement NAME.json
# (figures), NAME.out/.err (the command's output); _summary.json; bench.log.
# The last lines printed are
#   verify-bench: rows=… baseline_typed_s=… … reladiff_equal_s=…(j=…) … cutover_cpu_pct_of_db=…
#   verify-bench-ratios: … goals_met=… goals_missed=… check_failures=…
# Exit status: 0 when every result checked out (goals are reported, not enforced),
# 1 when a result was wrong, 2 on a setup failure.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
helper="$repo/scripts/verify-bench.py"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'scripts/verify-bench.sh: %s\n' "$*" >&2; exit 2; }
is_root() { [ "$(id -u)" = 0 ]; }

rows=5000000 jobs="" modes="typed,portable" repeat=3 rel_jobs="1,2,4,8"
skip_reladiff=0 skip_cutover=0 bin=target/release/cutover build=1 pgss=0 log_statements=0
shared_buffers=256MB keep=0 chunk_rows="" dsn_options=""
while [ $# -gt 0 ]; do
    case $1 in
        --rows) [[ ${2:-} =~ ^[0-9]+$ ]] && [ "$2" -ge 1000 ] || die "--rows wants a whole number, 1000 or more"
            rows=$2; shift 2 ;;
        --jobs) [[ ${2:-} =~ ^[0-9]+$ ]] && [ "$2" -ge 1 ] || die "--jobs wants a whole number"; jobs=$2; shift 2 ;;
        --modes) [[ ${2:-} =~ ^(typed|portable)(,(typed|portable))*$ ]] || die "--modes wants typed,portable"
            modes=$2; shift 2 ;;
        --chunk-rows) [[ ${2:-} =~ ^[0-9]+$ ]] && [ "$2" -ge 1 ] || die "--chunk-rows wants a whole number"
            chunk_rows=$2; shift 2 ;;
        --dsn-options) [ -n "${2:-}" ] && [[ $2 != *\'* ]] || die "--dsn-options wants a value without single quotes"
            dsn_options=$2; shift 2 ;;
        --repeat) [[ ${2:-} =~ ^[0-9]+$ ]] && [ "$2" -ge 1 ] || die "--repeat wants a whole number"; repeat=$2; shift 2 ;;
        --reladiff-jobs) [[ ${2:-} =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--reladiff-jobs wants e.g. 1,2,4,8"
            rel_jobs=$2; shift 2 ;;
        --skip-reladiff) skip_reladiff=1; shift ;;
        --skip-cutover) skip_cutover=1; shift ;;
        --bin) [ -n "${2:-}" ] || die "--bin wants a path"; bin=$2; build=0; shift 2 ;;
        --no-build) build=0; shift ;;
        --pgss) pgss=1; shift ;;
        --log-statements) log_statements=1; shift ;;
        --shared-buffers) [ -n "${2:-}" ] || die "--shared-buffers wants a size"; shared_buffers=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

# --- tools -------------------------------------------------------------------
command -v python3 >/dev/null || die "python3 is needed"
python3 -c "import ast,sys; ast.parse(open(sys.argv[1]).read())" "$helper" ||
    die "$helper does not compile"
pg_bindir() {
    if [ -n "${CUTOVER_PG_BINDIR:-}" ] && [ -x "$CUTOVER_PG_BINDIR/pg_ctl" ]; then echo "$CUTOVER_PG_BINDIR"; return; fi
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return; }
    done
    if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then pg_config --bindir; return; fi
}
PGBIN=$(pg_bindir)
[ -n "$PGBIN" ] || die "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql, or set CUTOVER_PG_BINDIR"
PSQL=$PGBIN/psql
[ -x "$PSQL" ] || PSQL=$(command -v psql) || die "psql not found"
pg_version=$("$PGBIN/postgres" --version)

# The server tools refuse to run as root: run them as `postgres` then.
as_pg() {
    if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}
is_root && { id postgres >/dev/null 2>&1 || die "running as root, but there is no postgres user to run the servers as"; }

# --- the binary ------------------------------------------------------------------
if [ $skip_cutover = 0 ]; then
    if [ $build = 1 ]; then
        say "cargo build --release"
        cargo build --release --quiet || die "cargo build --release failed"
    fi
    [ -x "$bin" ] || die "no binary at $bin"
    bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
    if ! "$bin" verify --help >/dev/null 2>&1; then
        say "WARNING: $bin has no \`verify\` command yet: the cutover measurements are skipped"
        skip_cutover=1
    fi
fi
cutover_commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null)" ]; then cutover_commit+="+dirty"; fi

# --- reladiff -------------------------------------------------------------------
cache=${VERIFY_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cutover-verify-bench}
rel_spec=${RELADIFF_SPEC:-'reladiff[postgresql]==0.6.0'}
venv=$cache/venv-reladiff
reladiff_version=-
if [ $skip_reladiff = 0 ]; then
    if [ ! -x "$venv/bin/reladiff" ] || [ "$(cat "$venv/.spec" 2>/dev/null)" != "$rel_spec" ]; then
        say "installing $rel_spec into $venv"
        rm -rf "$venv"
        mkdir -p "$cache"
        python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
        "$venv/bin/pip" install -q --disable-pip-version-check "$rel_spec" || die "pip install $rel_spec failed"
        echo "$rel_spec" > "$venv/.spec"
    fi
    reladiff_version=$("$venv/bin/reladiff" --version 2>/dev/null | tail -1 | tr -d '\r')
fi

# --- results and clusters -----------------------------------------------------
R=${BENCH_DIR:-/tmp/cutover-verify-bench}/runs/$(date +%Y%m%d-%H%M%S)-rows$rows
mkdir -p "$R"
exec > >(tee -a "$R/bench.log") 2>&1
say "results in $R"

W=$(mktemp -d /tmp/cutover-verify-bench.XXXXXX)
chmod 755 "$W"
is_root && chown postgres: "$W"
cleanup() {
    local rc=$?
    for side in source target; do
        if [ -f "$W/$side/data/postmaster.pid" ]; then
            [ $log_statements = 1 ] && [ ! -f "$R/$side.log" ] && cp "$W/$side/postgres.log" "$R/$side.log" 2>/dev/null
            if [ $keep = 1 ]; then continue; fi
            as_pg "$PGBIN/pg_ctl" -D "$W/$side/data" -m immediate stop >/dev/null 2>&1 || true
        fi
    done
    if [ $keep = 1 ]; then
        say "kept the clusters in $W (stop: runuser -u postgres -- $PGBIN/pg_ctl -D $W/<side>/data stop; then rm -rf $W)"
        [ -n "${P1:-}" ] && say "  source: $PSQL -h 127.0.0.1 -p $P1 -U postgres bench; target: … -p $P2"
    else
        rm -rf "$W"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A copy of the binary: a rebuild during the run does not change what is measured.
if [ $skip_cutover = 0 ]; then cp "$bin" "$W/cutover"; bin=$W/cutover; fi

mapfile -t ports < <(python3 "$helper" ports 2)
[ ${#ports[@]} = 2 ] || die "scripts/verify-bench.py ports failed"
P1=${ports[0]} P2=${ports[1]}
declare -A PORT=([source]=$P1 [target]=$P2)

start_cluster() { # side port
    local side=$1 port=$2 d=$W/$1
    as_pg mkdir -p "$d"
    as_pg "$PGBIN/initdb" -D "$d/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >"$d/initdb.log" 2>&1 ||
        { cat "$d/initdb.log"; die "initdb ($side) failed"; }
    {
        echo "port = $port"
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$d'"
        echo "fsync = off"
        echo "synchronous_commit = off"
        echo "full_page_writes = off"
        echo "shared_buffers = '$shared_buffers'"
        echo "max_wal_size = '4GB'"
        echo "checkpoint_timeout = '30min'"
        echo "maintenance_work_mem = '512MB'"
        echo "autovacuum = off"
        echo "max_connections = 100"
        echo "track_io_timing = on"
        if [ $pgss = 1 ]; then
            echo "shared_preload_libraries = 'pg_stat_statements'"
            echo "pg_stat_statements.max = 1000"
            echo "pg_stat_statements.track = all"
        fi
        if [ $log_statements = 1 ]; then
            echo "log_min_duration_statement = 0"
            echo "log_line_prefix = '%m [%p] %a '"
            echo "log_timezone = 'UTC'"
            echo "log_connections = on"
            echo "log_disconnections = on"
        fi
    } | as_pg tee -a "$d/data/postgresql.conf" >/dev/null
    printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' | as_pg tee "$d/data/pg_hba.conf" >/dev/null
    as_pg "$PGBIN/pg_ctl" -D "$d/data" -l "$d/postgres.log" -w -t 60 start >/dev/null ||
        { cat "$d/postgres.log"; die "pg_ctl start ($side) failed"; }
}
q() { # side sql... (psql on the bench database, unaligned, no headers)
    local side=$1; shift
    "$PSQL" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${PORT[$side]}" -U postgres -d "${DB:-bench}" -At "$@"
}
postmaster() { head -1 "$W/$1/data/postmaster.pid"; }

say "clusters: $pg_version, source on 127.0.0.1:$P1, target on 127.0.0.1:$P2, shared_buffers=$shared_buffers (in $W)"
start_cluster source "$P1"
start_cluster target "$P2"
for side in source target; do DB=postgres q $side -c "CREATE DATABASE bench"; done
if [ $pgss = 1 ]; then for side in source target; do q $side -c "CREATE EXTENSION pg_stat_statements"; done; fi
PM1=$(postmaster source) PM2=$(postmaster target)

# --- the table -------------------------------------------------------------------
gen_sql="
CREATE TABLE t (
    id          bigint NOT NULL,
    customer_id integer NOT NULL,
    amount      numeric(12,2) NOT NULL,
    created_at  timestamptz NOT NULL,
    status      text NOT NULL,
    note        text
);
INSERT INTO t
SELECT i,
       (i * 7919 % 1000003)::integer,
       ((i * 104729 % 100000000) / 100.0)::numeric(12,2),
       timestamptz '2020-01-01 00:00:00+00' + i * interval '7 seconds' + (i % 1000) * interval '1 millisecond',
       (ARRAY['new','paid','shipped','delivered','cancelled','refunded'])[1 + i % 6],
       CASE WHEN i % 101 = 0 THEN NULL ELSE md5(i::text) || left(md5((i * 31)::text), 28) END
FROM generate_series(1::bigint, $rows) AS i;
ALTER TABLE t ADD PRIMARY KEY (id);
"
say "generating $rows rows on both sides (in parallel)"
t0=$(date +%s.%N)
q source -c "$gen_sql" & g1=$!
q target -c "$gen_sql" & g2=$!
wait $g1 || die "generating the table on the source failed"
wait $g2 || die "generating the table on the target failed"
say "VACUUM (FREEZE, ANALYZE) and CHECKPOINT on both sides"
# (explicit PIDs everywhere: a bare `wait` would also wait for the `tee` of the log)
q source -c "VACUUM (FREEZE, ANALYZE) t" -c "CHECKPOINT" & g1=$!
q target -c "VACUUM (FREEZE, ANALYZE) t" -c "CHECKPOINT" & g2=$!
wait $g1 && wait $g2 || die "VACUUM failed"
t1=$(date +%s.%N)
table_size=$(q source -c "SELECT pg_size_pretty(pg_table_size('t')) || ' + ' || pg_size_pretty(pg_indexes_size('t')) || ' index'")
say "table ready in $(python3 -c "print(f'{$t1-$t0:.1f}')") s: $table_size per side"
q source -c "SELECT * FROM t WHERE id IN (1, 101, $rows)" | sed 's/^/    /'

# the 10 changed ids, spread over the key range (the middle of each tenth, shifted a little)
changed_ids=()
for k in 0 1 2 3 4 5 6 7 8 9; do changed_ids+=($(( rows * (2 * k + 1) / 20 + k * 7 + 3 ))); done
changed_csv=$(IFS=,; echo "${changed_ids[*]}")

sql_typed="SELECT sum(hash_record_extended(t, 0)) FROM t"
sql_portable="SELECT sum(hashtext(t::text)) FROM t"
q source -c "EXPLAIN $sql_typed" > "$R/_explain-baseline-typed.txt"
q source -c "EXPLAIN $sql_portable" > "$R/_explain-baseline-portable.txt"

dsn_extra=""
[ -n "$dsn_options" ] && dsn_extra=" options='$dsn_options'"
cat > "$R/inventory.toml" <<EOF
[endpoints.source]
kind = "postgres"
dsn = "host=127.0.0.1 port=$P1 user=postgres dbname=bench$dsn_extra"

[endpoints.target]
kind = "postgres"
dsn = "host=127.0.0.1 port=$P2 user=postgres dbname=bench$dsn_extra"
EOF

ncpu=$(nproc)
python3 - "$R/_meta.json" <<EOF
import json, sys
json.dump({"date": "$(date -Is)", "rows": $rows, "table_size": "$table_size", "cpus": $ncpu,
           "pg_version": "$pg_version", "cutover_commit": "$cutover_commit", "cutover_jobs": "${jobs:-default}", "chunk_rows": "${chunk_rows:-default}", "dsn_options": "$dsn_options",
           "reladiff_version": "$reladiff_version", "load_start": "$(cut -d' ' -f1-3 /proc/loadavg)",
           "changed_ids": "$changed_csv", "shared_buffers": "$shared_buffers",
           "ports": {"source": $P1, "target": $P2}}, open(sys.argv[1], "w"), indent=1)
EOF

# --- measuring ---------------------------------------------------------------------
seq=0 failures=0
measure() { # name [--meta k=v]... -- cmd...
    local name=$1; shift
    seq=$((seq + 1))
    python3 "$helper" measure --name "$name" --dir "$R" --pm "$PM1" --pm "$PM2" --meta "seq=$seq" "$@"
}
note_fail() { failures=$((failures + 1)); say "CHECK FAILED: $1"; }

baseline() { # name sql expect
    local name=$1 sql=$2 expect=$3
    measure "$name" -- bash -c '
        "$0" -X -q -At -h 127.0.0.1 -p "$1" -U postgres -d bench -c "$3" > "$4.source" 2>&1 & a=$!
        "$0" -X -q -At -h 127.0.0.1 -p "$2" -U postgres -d bench -c "$3" > "$4.target" 2>&1 & b=$!
        wait $a; ra=$?; wait $b; rb=$?
        echo "source $(cat "$4.source")"; echo "target $(cat "$4.target")"; rm -f "$4.source" "$4.target"
        [ $ra = 0 ] && [ $rb = 0 ]' "$PSQL" "$P1" "$P2" "$sql" "$R/$name" || true
    python3 "$helper" baseline-check "$R/$name.json" "$expect" || note_fail "$name"
}

pgss_reset() { [ $pgss = 1 ] || return 0; for side in source target; do q $side -c "SELECT pg_stat_statements_reset()" >/dev/null; done; }
pgss_save() { # name
    [ $pgss = 1 ] || return 0
    for side in source target; do
        q $side -P footer=off -F ' | ' -c "SELECT calls, round(total_exec_time::numeric, 1) AS total_ms,
                round(mean_exec_time::numeric, 2) AS mean_ms, round(max_exec_time::numeric, 1) AS max_ms, rows,
                shared_blks_hit + shared_blks_read AS blks, left(regexp_replace(query, '\s+', ' ', 'g'), 400) AS query
            FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'
            ORDER BY total_exec_time DESC LIMIT 20" > "$R/$1.pgss-$side" 2>&1 || true
    done
}

cutover_run() { # mode round name
    local mode=$1 round=$2 name=$3
    local args=(verify --inventory "$R/inventory.toml" --source source --target target --table public.t --json --mode "$mode")
    [ -n "$jobs" ] && args+=(--jobs "$jobs")
    [ -n "$chunk_rows" ] && args+=(--chunk-rows "$chunk_rows")
    pgss_reset
    measure "$name" --meta "mode=$mode" -- "$bin" "${args[@]}" || true
    pgss_save "$name"
    if [ "$round" = equal ]; then
        python3 "$helper" cutover-check "$R/$name.json" --expect-equal || note_fail "$name"
    else
        python3 "$helper" cutover-check "$R/$name.json" --expect-ids "$changed_csv" || note_fail "$name"
    fi
}

reladiff_run() { # round
    local round=$1 j name
    local expect=(--expect-equal)
    [ "$round" = changed ] && expect=(--expect-ids "$changed_csv")
    for j in ${rel_jobs//,/ }; do
        name=reladiff-$round-j$j
        COLUMNS=100000 measure "$name" --meta "jobs=$j" -- "$venv/bin/reladiff" \
            "postgresql://postgres@127.0.0.1:$P1/bench" t "postgresql://postgres@127.0.0.1:$P2/bench" t \
            -k id -c % -j "$j" --json || true
        python3 "$helper" reladiff-check "$R/$name.json" "${expect[@]}" || note_fail "$name"
    done
}

run_round() { # round
    local round=$1 expect_sum=--expect-equal i suffix mode
    [ "$round" = changed ] && expect_sum=--expect-differ
    say "round \"$round\": warm-up scan"
    local w1 w2
    q source -c "$sql_portable" >/dev/null & w1=$!
    q target -c "$sql_portable" >/dev/null & w2=$!
    wait $w1 && wait $w2 || die "warm-up scan failed"
    for i in $(seq 1 "$repeat"); do
        suffix=""; [ "$repeat" -gt 1 ] && suffix=".$i"
        for mode in ${modes//,/ }; do
            say "round \"$round\" ($i/$repeat): baseline $mode"
            if [ $mode = typed ]; then baseline "baseline-typed-$round$suffix" "$sql_typed" $expect_sum
            else baseline "baseline-portable-$round$suffix" "$sql_portable" $expect_sum; fi
            if [ $skip_cutover = 0 ]; then
                say "round \"$round\" ($i/$repeat): cutover verify --mode $mode"
                cutover_run "$mode" "$round" "cutover-$mode-$round$suffix"
            fi
        done
    done
    if [ $skip_reladiff = 0 ]; then
        say "round \"$round\": reladiff -j {$rel_jobs}"
        reladiff_run "$round"
    fi
}

say "load before measuring: $(cut -d' ' -f1-3 /proc/loadavg); busiest processes:"
ps -eo pid,pcpu,etime,comm --sort=-pcpu | head -6 | sed 's/^/    /'
run_round equal

say "changing 10 rows on the target: ids $changed_csv"
upd=""
for k in "${!changed_ids[@]}"; do
    id=${changed_ids[$k]}
    case $((k % 4)) in
        0) upd+="UPDATE t SET amount = amount + 0.01 WHERE id = $id;" ;;
        1) upd+="UPDATE t SET note = coalesce(note, '') || 'x' WHERE id = $id;" ;;
        2) upd+="UPDATE t SET status = status || '!' WHERE id = $id;" ;;
        3) upd+="UPDATE t SET created_at = created_at + interval '1 microsecond' WHERE id = $id;" ;;
    esac
done
[ "$(q target -c "BEGIN; $upd COMMIT;" -c "SELECT count(*) FROM t WHERE id IN ($changed_csv)")" = 10 ] ||
    die "the 10 updates did not land"
q target -c "VACUUM (FREEZE, ANALYZE) t" -c "CHECKPOINT"
q source -c "CHECKPOINT"
run_round changed

say "load after measuring: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ $log_statements = 1 ] && [ $skip_cutover = 0 ]; then
    for side in source target; do cp "$W/$side/postgres.log" "$R/$side.log"; done
    python3 "$helper" log-breakdown "$R" | tee "$R/_log-breakdown.txt"
fi
python3 "$helper" report "$R"
say "results in $R"
[ $failures = 0 ] || { say "$failures check(s) failed"; exit 1; }
