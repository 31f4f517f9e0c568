#!/usr/bin/env bash
# How fast `cutover verify` compares a MariaDB table with the PostgreSQL table
# pgloader loaded it into, against what the two servers cannot go below and
# against reladiff.
#
# A throwaway MariaDB (mariadb-install-db + mariadbd, UTC) gets ROWS rows x 6
# mixed columns
#   t(id BIGINT PRIMARY KEY, customer_id INT, amount DECIMAL(12,2),
#     created_at DATETIME(6), status VARCHAR(16), note VARCHAR(100))  -- 1% NULL notes
# pgloader loads it into a throwaway PostgreSQL cluster (TimeZone UTC). Then,
# in one run:
#   round "equal"   — the tables are identical;
#   round "changed" — 10 rows scattered over the key range are updated on the
#                     target (amount, note, status or created_at);
# and in each round:
#   limit        one scan of each side computing the canonical row hash verify
#                computes (count + sum of 60-bit SHA-256 prefixes), both at once
#   cutover      cutover verify --jobs J (default 2)
#   reladiff-jN  reladiff … -k id -c % -j N (N in RELADIFF_JOBS; the best counts)
# each timed (wall); cutover's peak RSS from /usr/bin/time. Results are
# checked: the limit's sums agree on equal tables and disagree with changes;
# cutover exits 0 on equal tables and 1 with exactly the 10 keys `different`;
# reladiff lists the 10 keys.
#
# usage: scripts/mysql-verify-bench.sh [--rows N] [--jobs J] [--chunk-rows N] [--repeat N] [--skip-reladiff] [--bin PATH] [--no-build] [--keep]
# Environment: CUTOVER_PG_BINDIR (default the newest /usr/lib/postgresql/*/bin),
# BENCH_DIR (default /tmp/cutover-mysql-verify-bench), RELADIFF_JOBS (default
# "1 2 4"), RELADIFF_SPEC (default 'reladiff[mysql,postgresql]==0.6.0'),
# installed into a venv under target/mysql-verify-bench-venv.
# The last line printed is
#   mysql-verify-bench: rows=… limit_equal_s=… cutover_equal_s=… … goals_met=… goals_missed=… check_failures=…
# Exit status: 0 when every result checked out (goals are reported, not
# enforced), 1 when a result was wrong, 2 on a setup failure.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'scripts/mysql-verify-bench.sh: %s\n' "$*" >&2; exit 2; }

rows=1000000 jobs=2 chunk_rows="" repeat=2 skip_reladiff=0 bin=target/release/cutover build=1 keep=0
while [ $# -gt 0 ]; do
    case $1 in
        --rows) rows=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        --chunk-rows) chunk_rows=$2; shift 2 ;;
        --repeat) repeat=$2; shift 2 ;;
        --skip-reladiff) skip_reladiff=1; shift ;;
        --bin) bin=$2; build=0; shift 2 ;;
        --no-build) build=0; shift ;;
        --keep) keep=1; shift ;;
        *) die "unknown option $1" ;;
    esac
done
[[ $rows =~ ^[0-9]+$ ]] && [ "$rows" -ge 1000 ] || die "--rows wants a whole number, 1000 or more"

pg_bindir=${CUTOVER_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$pg_bindir/initdb" ] || die "no PostgreSQL server binaries (set CUTOVER_PG_BINDIR)"
for tool in mariadbd mariadb-install-db mariadb pgloader; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || die "$tool is missing (apt-get install mariadb-server pgloader)"
done
mariadbd=$(command -v mariadbd || echo /usr/sbin/mariadbd)

bench=${BENCH_DIR:-/tmp/cutover-mysql-verify-bench}
rm -rf "$bench"; mkdir -p "$bench"; chmod 755 "$bench"
results="$bench/results.txt"; : > "$results"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

my_pid="" pg_started=0
cleanup() {
    if [ "$keep" = 1 ]; then say "kept: mariadb :$my_port, postgres :$pg_port, $bench"; return; fi
    [ -n "$my_pid" ] && kill "$my_pid" 2>/dev/null && wait "$my_pid" 2>/dev/null || true
    [ "$pg_started" = 1 ] && as_pg "$pg_bindir/pg_ctl" -D "$bench/pg" -m immediate stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

password=bench-secret
my_port=$(free_port); pg_port=$(free_port)
say "MariaDB on :$my_port, PostgreSQL on :$pg_port, in $bench"
mariadb-install-db --no-defaults --datadir="$bench/my" --auth-root-authentication-method=normal --skip-test-db >"$bench/install.log" 2>&1 \
    || die "mariadb-install-db failed (see $bench/install.log)"
"$mariadbd" --no-defaults --datadir="$bench/my" --port="$my_port" --bind-address=127.0.0.1 --socket="$bench/my.sock" \
    --log-bin --binlog-format=ROW --server-id=1 --user="$(id -un)" --default-time-zone=+00:00 \
    --character-set-server=utf8mb4 --innodb-buffer-pool-size=512M --skip-name-resolve --log-error="$bench/mariadb.err" &
my_pid=$!
for _ in $(seq 100); do mariadb --no-defaults -uroot --socket="$bench/my.sock" -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
my() { mariadb --no-defaults -uroot --socket="$bench/my.sock" --batch --skip-column-names "$@"; }
my -e "CREATE USER bench@'%' IDENTIFIED BY '$password'; GRANT ALL ON *.* TO bench@'%'" || die "MariaDB did not start ($bench/mariadb.err)"

mkdir -p "$bench/pg"; [ "$(id -u)" = 0 ] && chown postgres "$bench/pg"
as_pg "$pg_bindir/initdb" -D "$bench/pg" -U postgres --auth=trust -E UTF8 --locale=C >"$bench/initdb.log" 2>&1 || die "initdb failed"
cat >>"$bench/pg/postgresql.conf" <<EOF
port = $pg_port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$bench/pg'
shared_buffers = 256MB
fsync = off
synchronous_commit = off
timezone = 'UTC'
EOF
as_pg "$pg_bindir/pg_ctl" -D "$bench/pg" -l "$bench/pg/log" -w start >/dev/null || die "PostgreSQL did not start"
pg_started=1
pg() { as_pg "$pg_bindir/psql" -X -At -q -v ON_ERROR_STOP=1 -h "$bench/pg" -p "$pg_port" -U postgres "$@"; }
pg -c "ALTER USER postgres PASSWORD '$password'" -c "CREATE DATABASE bench"

say "building $rows rows in MariaDB"
my -e "CREATE DATABASE bench CHARACTER SET utf8mb4; USE bench; CREATE TABLE bench.t (id BIGINT PRIMARY KEY, customer_id INT NOT NULL,
  amount DECIMAL(12,2), created_at DATETIME(6), status VARCHAR(16), note VARCHAR(100));
  INSERT INTO bench.t SELECT seq, seq * 7 % 100000, (seq * 37 % 1000000) / 100,
    TIMESTAMP('2024-01-01') + INTERVAL (seq * 13) SECOND + INTERVAL (seq % 1000) MICROSECOND,
    ELT(1 + seq % 4, 'new', 'paid', 'shipped', 'cancelled'), IF(seq % 100 = 0, NULL, CONCAT('note ', MD5(seq), ' ', seq))
  FROM seq_1_to_$rows; ANALYZE TABLE bench.t" >/dev/null || die "building the table failed"
say "loading it into PostgreSQL with pgloader"
cat >"$bench/load.load" <<EOF
LOAD DATABASE FROM mysql://bench:$password@127.0.0.1:$my_port/bench
  INTO postgresql://postgres:$password@127.0.0.1:$pg_port/bench
  SET PostgreSQL PARAMETERS timezone = 'UTC';
EOF
pgloader --root-dir "$bench/pgloader" "$bench/load.load" >"$bench/pgloader.log" 2>&1 || die "pgloader failed (see $bench/pgloader.log)"
pg -d bench -c "VACUUM ANALYZE bench.t"

if [ "$build" = 1 ]; then say "cargo build --release"; cargo build --release --quiet; fi
[ -x "$bin" ] || die "no cutover binary at $bin"
cat >"$bench/inventory.toml" <<EOF
[endpoints.maria]
kind = "mysql"
dsn = "mysql://bench@127.0.0.1:$my_port/bench"
password_env = "BENCH_PASSWORD"

[endpoints.pg]
kind = "postgres"
dsn = "postgresql://postgres@127.0.0.1:$pg_port/bench"
password_env = "BENCH_PASSWORD"
EOF

# The canonical row hash cutover computes for this table (see
# src/verify/mysql/queries.rs): the same text on both sides, SHA-256, 60 bits.
my_row="CONCAT_WS(',', \`id\`+0, \`customer_id\`+0, \`amount\`+0, IF((MONTH(\`created_at\`) = 0 OR DAYOFMONTH(\`created_at\`) = 0), NULL, TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM \`created_at\`))), LENGTH(\`status\`), \`status\`, LENGTH(\`note\`), \`note\`, ((\`amount\` IS NULL) + 2 * (\`created_at\` IS NULL OR (MONTH(\`created_at\`) = 0 OR DAYOFMONTH(\`created_at\`) = 0)) + 4 * (\`status\` IS NULL) + 8 * (\`note\` IS NULL)))"
pg_row="concat_ws(',', \"id\", \"customer_id\", \"amount\", (\"created_at\" AT TIME ZONE 'UTC')::text, octet_length(\"status\"::text), \"status\"::text, octet_length(\"note\"::text), \"note\"::text, ((\"amount\" IS NULL)::int::int8 + 2 * (\"created_at\" IS NULL)::int::int8 + 4 * (\"status\" IS NULL)::int::int8 + 8 * (\"note\" IS NULL)::int::int8))"
my_limit="SET time_zone = '+00:00'; SELECT COUNT(*), SUM(CAST(CONV(LEFT(SHA2($my_row, 256), 15), 16, 10) AS UNSIGNED)) FROM bench.t"
pg_limit="SET max_parallel_workers_per_gather = 0; SELECT count(*), sum(('x' || left(encode(sha256(convert_to($pg_row, 'UTF8')), 'hex'), 15))::bit(60)::bigint) FROM bench.t"

now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }
best() { python3 -c "import sys; print(min(float(x) for x in sys.argv[1:]))" "$@"; }
failures=0
fail() { printf 'CHECK FAILED: %s\n' "$*" | tee -a "$results" >&2; failures=$((failures + 1)); }
declare -A figure

limit() { # round
    local times=() a b
    for _ in $(seq "$repeat"); do
        local t0; t0=$(now)
        my -e "$my_limit" >"$bench/limit.my" & local p1=$!
        pg -d bench -c "$pg_limit" >"$bench/limit.pg" & local p2=$!
        wait $p1 $p2
        times+=("$(elapsed "$t0" "$(now)")")
    done
    a=$(tr '\t' '|' <"$bench/limit.my"); b=$(tail -1 "$bench/limit.pg")
    if [ "$1" = equal ] && [ "$a" != "$b" ]; then fail "limit sums differ on equal tables: $a vs $b"; fi
    if [ "$1" = changed ] && [ "$a" = "$b" ]; then fail "limit sums agree with 10 changes: $a"; fi
    figure[limit_$1]=$(best "${times[@]}")
}

cutover_run() { # round
    local times=() rss=0 code
    for _ in $(seq "$repeat"); do
        local t0; t0=$(now)
        set +e
        BENCH_PASSWORD=$password /usr/bin/time -f '%M' -o "$bench/cutover.rss" "$bin" verify --inventory "$bench/inventory.toml" \
            --source maria --target pg --jobs "$jobs" ${chunk_rows:+--chunk-rows "$chunk_rows"} --json >"$bench/cutover.$1.json" 2>"$bench/cutover.$1.err"
        code=$?
        set -e
        times+=("$(elapsed "$t0" "$(now)")")
        rss=$(( $(tail -1 "$bench/cutover.rss") > rss ? $(tail -1 "$bench/cutover.rss") : rss ))
    done
    local want=0 keys
    [ "$1" = changed ] && want=1
    [ "$code" = "$want" ] || fail "cutover exited $code in round $1 (see $bench/cutover.$1.err)"
    keys=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(' '.join(sorted(str(x['key']['id']) + ':' + x['kind'] for t in d['tables'] for x in t['differences'])))" "$bench/cutover.$1.json" 2>/dev/null || echo unreadable)
    [ "$keys" = "${expected[$1]}" ] || fail "cutover found [$keys] in round $1, expected [${expected[$1]}]"
    figure[cutover_$1]=$(best "${times[@]}")
    figure[cutover_rss_kb_$1]=$rss
}

venv="$repo/target/mysql-verify-bench-venv"
reladiff_run() { # round
    local best_t="" best_j="" j
    for j in ${RELADIFF_JOBS:-1 2 4}; do
        local t0; t0=$(now)
        "$venv/bin/reladiff" "mysql://bench:$password@127.0.0.1:$my_port/bench" t \
            "postgresql://postgres:$password@127.0.0.1:$pg_port/bench" bench.t -k id -c % -j "$j" \
            >"$bench/reladiff.$1.j$j.out" 2>"$bench/reladiff.$1.j$j.err" || true
        local t; t=$(elapsed "$t0" "$(now)")
        local found; found=$(grep -cE '^[+-] ' "$bench/reladiff.$1.j$j.out" || true)
        local want=0; [ "$1" = changed ] && want=20
        [ "$found" = "$want" ] || fail "reladiff -j $j listed $found lines in round $1, expected $want ($bench/reladiff.$1.j$j.err)"
        printf 'reladiff %s j=%s %ss\n' "$1" "$j" "$t" >>"$results"
        if [ -z "$best_t" ] || python3 -c "import sys; sys.exit(0 if $t < $best_t else 1)"; then best_t=$t best_j=$j; fi
    done
    figure[reladiff_$1]=$best_t; figure[reladiff_j_$1]=$best_j
}

if [ "$skip_reladiff" = 0 ]; then
    if [ ! -x "$venv/bin/reladiff" ]; then
        say "installing reladiff into $venv"
        python3 -m venv "$venv" && "$venv/bin/pip" install -q "${RELADIFF_SPEC:-reladiff[mysql,postgresql]==0.6.0}" || die "pip install reladiff failed"
    fi
fi

declare -A expected
expected[equal]=""
changed_ids=()
for i in $(seq 0 9); do changed_ids+=($(( (i * rows / 10) + rows / 20 + 7 ))); done
expected[changed]=$(for id in "${changed_ids[@]}"; do echo "$id:different"; done | sort | tr '\n' ' ' | sed 's/ $//')

for round in equal changed; do
    if [ "$round" = changed ]; then
        say "changing 10 rows on the target"
        sets=("amount = amount + 1" "note = 'changed'" "status = 'lost'" "created_at = created_at + interval '1 microsecond'")
        for i in $(seq 0 9); do pg -d bench -c "UPDATE bench.t SET ${sets[$((i % 4))]} WHERE id = ${changed_ids[$i]}"; done
    fi
    say "round $round: limit"; limit "$round"
    say "round $round: cutover verify --jobs $jobs"; cutover_run "$round"
    if [ "$skip_reladiff" = 0 ]; then say "round $round: reladiff"; reladiff_run "$round"; fi
done

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
goals_met=0 goals_missed=0
goal() { # name value op bound
    if python3 -c "import sys; sys.exit(0 if $2 $3 $4 else 1)"; then goals_met=$((goals_met + 1)); else goals_missed=$((goals_missed + 1)); echo "goal missed: $1 = $2 (want $3 $4)" | tee -a "$results"; fi
}
{
    printf '\n%-34s %12s %12s\n' "" "equal" "10 changes"
    printf '%-34s %11ss %11ss\n' "limit (one canonical scan per side)" "${figure[limit_equal]}" "${figure[limit_changed]}"
    printf '%-34s %11ss %11ss\n' "cutover verify --jobs $jobs" "${figure[cutover_equal]}" "${figure[cutover_changed]}"
    if [ "$skip_reladiff" = 0 ]; then
        printf '%-34s %11ss %11ss\n' "reladiff -c % (best -j)" "${figure[reladiff_equal]} (j${figure[reladiff_j_equal]})" "${figure[reladiff_changed]} (j${figure[reladiff_j_changed]})"
    fi
    printf '%-34s %10sMB %10sMB\n' "cutover peak RSS" "$((figure[cutover_rss_kb_equal] / 1024))" "$((figure[cutover_rss_kb_changed] / 1024))"
} | tee -a "$results"
line="mysql-verify-bench: rows=$rows jobs=$jobs"
for round in equal changed; do
    r=$(ratio "${figure[cutover_$round]}" "${figure[limit_$round]}")
    goal "cutover/limit ($round)" "$r" "<=" 1.5
    line+=" limit_${round}_s=${figure[limit_$round]} cutover_${round}_s=${figure[cutover_$round]} cutover_over_limit_$round=$r"
    if [ "$skip_reladiff" = 0 ]; then
        s=$(ratio "${figure[reladiff_$round]}" "${figure[cutover_$round]}")
        goal "reladiff/cutover ($round)" "$s" ">=" 3
        line+=" reladiff_${round}_s=${figure[reladiff_$round]} reladiff_over_cutover_$round=$s"
    fi
    line+=" cutover_rss_mb_$round=$((figure[cutover_rss_kb_$round] / 1024))"
done
echo "$line goals_met=$goals_met goals_missed=$goals_missed check_failures=$failures" | tee -a "$results"
[ "$failures" = 0 ] || exit 1
