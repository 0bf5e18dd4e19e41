#!/usr/bin/env bash
# devenv against docker compose v2 on the same 5-service busybox stack (benches/stack/), side
# by side in one run: no-op `up -d` (plain and health-gated), `ps`, `run --no-deps`, cold
# `up -d`, `down`, `--version`, peak RSS of a no-op up, and the engine requests each command
# makes. Timings are medians: hyperfine for the fast commands, benches/interleave.py (tools
# alternating run by run) for the slow ones. The summary is a markdown table with ratios.
#
#   benches/stack.sh [OUT_DIR]
#
# Env: DEVENV (default target/release/devenv), RUNS (runs of the cheap commands, default 30),
# SLOW_RUNS (cold up and down, default 15), RUN_RUNS (one-offs, default 20), RSS_RUNS
# (default 10).
# Needs: docker with devenv-test/busybox:latest (scripts/test-image), `docker compose` v2
# (/work/shared/tools/install-compose-v2), hyperfine, GNU time, python3.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cd "$root"

DEVENV="${DEVENV:-$root/target/release/devenv}"
RUNS="${RUNS:-30}"
SLOW_RUNS="${SLOW_RUNS:-15}"
RUN_RUNS="${RUN_RUNS:-20}"
RSS_RUNS="${RSS_RUNS:-10}"
FILE="$here/stack/compose.yml"
GATED="$here/stack/health.yml"
DV_P=dvbench
DC_P=dcbench
IMAGE=devenv-test/busybox:latest
PLUGIN="${PLUGIN:-/usr/local/lib/docker/cli-plugins/docker-compose}"

# The same command line for both tools, each with its own project and host port. `env` is
# part of every timed command of both tools, so its cost (well under 1 ms) cancels out.
dv_cmd() { echo "env BENCH_WEB_PORT=18081 $DEVENV -f $FILE $* -p $DV_P"; }
dc_cmd() { echo "env BENCH_WEB_PORT=18082 docker compose -f $FILE $* -p $DC_P"; }
# compose run standalone (no docker CLI in front), to show what the CLI plugin hop costs.
dcs_cmd() { echo "env BENCH_WEB_PORT=18082 $PLUGIN -f $FILE $* -p $DC_P"; }

# Helpers hyperfine calls as --prepare / --conclude (prefixed `_`, not for users).
case "${1:-}" in
_reset)
    # $2 = dv|dc: from nothing, checked: no container, network or volume of the project.
    if [[ "$2" == dv ]]; then
        BENCH_WEB_PORT=18081 "$DEVENV" -f "$FILE" -p "$DV_P" down -v >/dev/null 2>&1
        label="dev.devenv.project=$DV_P"
    else
        BENCH_WEB_PORT=18082 docker compose -f "$FILE" -p "$DC_P" down -v >/dev/null 2>&1
        label="com.docker.compose.project=$DC_P"
    fi
    left="$(docker ps -aq --filter "label=$label")$(docker network ls -q --filter "label=$label")$(docker volume ls -q --filter "label=$label")"
    if [[ -n "$left" ]]; then
        echo "stack.sh: objects of $label survived down -v: $left" >&2
        exit 1
    fi
    exit 0
    ;;
_up)
    if [[ "$2" == dv ]]; then
        BENCH_WEB_PORT=18081 "$DEVENV" -f "$FILE" -p "$DV_P" up -d >/dev/null 2>&1
    else
        BENCH_WEB_PORT=18082 docker compose -f "$FILE" -p "$DC_P" up -d >/dev/null 2>&1
    fi
    exit 0
    ;;
esac

OUT="${1:-/tmp/devenv-bench/stack-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
echo "results in $OUT"

for tool in hyperfine /usr/bin/time python3; do
    command -v "$tool" >/dev/null || { echo "stack.sh: $tool is missing" >&2; exit 1; }
done
docker compose version | grep -q 'version v\?2' || { echo "stack.sh: docker compose v2 is missing (run /work/shared/tools/install-compose-v2)" >&2; exit 1; }
docker image inspect "$IMAGE" >/dev/null 2>&1 || scripts/test-image
[[ -x "$DEVENV" ]] || { echo "stack.sh: $DEVENV is not built (cargo build --release)" >&2; exit 1; }

load() { echo "$(date +%T) $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/load.txt"; }
hf() {
    # hf NAME RUNS WARMUP [hyperfine options] -- commands...
    local name="$1" runs="$2" warmup="$3"
    shift 3
    load
    echo "== $name"
    hyperfine -N --style basic --runs "$runs" --warmup "$warmup" \
        --export-json "$OUT/$name.json" "$@" 2>&1 | tee "$OUT/$name.txt" | grep -E '^(Benchmark|  Time|  Range)' || true
}

# Container id and start time of every container of both projects: a no-op must leave them be.
snapshot() {
    docker ps -aq --filter "label=dev.devenv.project=$DV_P" --filter status=running | sort
    docker ps -aq --filter "label=com.docker.compose.project=$DC_P" --filter status=running | sort
}
assert_untouched() {
    local after
    after="$(snapshot | xargs -r docker inspect -f '{{.Id}} {{.State.StartedAt}}')"
    if [[ "$after" != "$1" ]]; then
        echo "stack.sh: a no-op up changed containers ($2)" >&2
        diff <(echo "$1") <(echo "$after") >&2 || true
        exit 1
    fi
}

cleanup() {
    "$0" _reset dv >/dev/null 2>&1 || true
    "$0" _reset dc >/dev/null 2>&1 || true
}
trap cleanup EXIT

{
    echo "date: $(date -Is)"
    echo "nproc: $(nproc)"
    echo "memory: $(free -m | awk '/^Mem:/ {print $2 " MiB total, " $7 " MiB available"}')"
    echo "kernel: $(uname -r)"
    echo "docker: $(docker version --format 'client {{.Client.Version}}, engine {{.Server.Version}} (API {{.Server.APIVersion}})')"
    echo "storage driver: $(docker info --format '{{.Driver}}')"
    echo "compose: $(docker compose version)"
    echo "devenv: $("$DEVENV" --version) ($DEVENV)"
    echo "hyperfine: $(hyperfine --version)"
    echo "uptime at start: $(uptime)"
} | tee "$OUT/machine.txt"

cleanup
"$0" _up dv
"$0" _up dc

# ---- no-op up, ps
before="$(snapshot | xargs -r docker inspect -f '{{.Id}} {{.State.StartedAt}}')"
hf noop_up "$RUNS" 3 -n devenv "$(dv_cmd) up -d" -n compose "$(dc_cmd) up -d" -n compose-standalone "$(dcs_cmd) up -d"
assert_untouched "$before" "noop_up"
# The gated variant: app waits for db to be healthy (db is, already). Warm-up runs absorb a
# recreate, should a tool count depends_on in its config hash.
hf noop_up_gated "$RUNS" 3 -n devenv "$(dv_cmd -f "$GATED") up -d" -n compose "$(dc_cmd -f "$GATED") up -d"
before="$(snapshot | xargs -r docker inspect -f '{{.Id}} {{.State.StartedAt}}')"
hf noop_up_gated_check 5 0 -n devenv "$(dv_cmd -f "$GATED") up -d" -n compose "$(dc_cmd -f "$GATED") up -d" >/dev/null
assert_untouched "$before" "noop_up_gated"
"$0" _up dv
"$0" _up dc
# Reading and resolving the config alone, no engine: the part of every command that is
# devenv's own work.
hf config "$RUNS" 3 -n devenv "$(dv_cmd) config --services" -n compose "$(dc_cmd) config --services" -n compose-standalone "$(dcs_cmd) config --services"
hf ps "$RUNS" 3 -n devenv "$(dv_cmd) ps" -n compose "$(dc_cmd) ps" -n compose-standalone "$(dcs_cmd) ps"

# ---- one-off containers
# Two bare references: the default bridge (what `docker run` does), and the project's own
# network, which one-offs of both tools join (a user-defined network costs the engine more
# at start: its embedded DNS is set up per container).
# Slow, engine-bound commands run interleaved (benches/interleave.py): minutes of drifting
# load then hit each tool alike.
il() {
    # il NAME RUNS (LABEL PREPARE COMMAND)...
    local name="$1" runs="$2"
    shift 2
    load
    echo "== $name (interleaved)"
    python3 "$here/interleave.py" "$OUT/$name.json" "$runs" "$@" | tee "$OUT/$name.txt"
}
il run "$RUN_RUNS" devenv "" "$(dv_cmd) run --no-deps cache true" \
    compose "" "$(dc_cmd) run --rm --no-deps cache true" \
    "docker run" "" "docker run --rm $IMAGE true" \
    "docker run --network" "" "docker run --rm --network ${DV_P}_default $IMAGE true"

# ---- --version
# /bin/true is the floor: what starting any process costs here.
hf version 300 10 -n devenv "$DEVENV --version" -n "/bin/true" "/bin/true"
hf version_compose 20 2 -n compose "docker compose version" -n compose-standalone "$PLUGIN version"

# ---- peak RSS of a no-op up (GNU time's max RSS: the largest single process of the tree,
# which for `docker compose` is the plugin, not the docker CLI in front of it).
load
echo "== rss"
for i in $(seq "$RSS_RUNS"); do
    for t in dv dc dcs; do
        cmd="$("${t}_cmd") up -d"
        /usr/bin/time -f "$t %M" -a -o "$OUT/rss.txt" $cmd >/dev/null 2>&1
    done
done
python3 - "$OUT/rss.txt" <<'EOF'
import statistics, sys
by = {}
for line in open(sys.argv[1]):
    t, kib = line.split()
    by.setdefault(t, []).append(int(kib))
for t, v in by.items():
    print(f"{t}: median {statistics.median(v)/1024:.1f} MiB (min {min(v)/1024:.1f}, max {max(v)/1024:.1f}, n={len(v)})")
EOF

# ---- single engine round trips, to weigh the requests above
load
echo "== engine round trips"
python3 "$here/engine_rtt.py" 50 | tee "$OUT/engine_rtt.md"

# ---- engine requests per command, through a logging proxy (counted, never timed)
load
echo "== engine requests"
sock="$OUT/engine.sock"
# The interpreter itself, not a version manager's shim: killing a shim would leave the proxy.
py="$(python3 -c 'import sys; print(sys.executable)')"
"$py" "$here/engine_log.py" "$sock" "$OUT/proxy-unused.log" 2>"$OUT/proxy.err" &
proxy=$!
trap 'kill $proxy 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 50); do [[ -S "$sock" ]] && break; sleep 0.1; done
requests() {
    # requests NAME COMMAND...: the engine requests COMMAND makes, to $OUT/requests/NAME.log
    local name="$1"
    shift
    mkdir -p "$OUT/requests"
    : >"$OUT/proxy-unused.log"
    DOCKER_HOST="unix://$sock" "$@" >/dev/null 2>&1 || echo "  ($name exited $?)"
    sleep 0.2
    cp "$OUT/proxy-unused.log" "$OUT/requests/$name.log"
    printf '  %-22s %3d requests\n' "$name" "$(grep -c ' -> ' "$OUT/requests/$name.log")"
}
for t in dv dc; do
    requests "$t-noop_up" $("${t}_cmd") up -d
    requests "$t-noop_up_gated" $("${t}_cmd" -f "$GATED") up -d
    requests "$t-ps" $("${t}_cmd") ps
    requests "$t-down" $("${t}_cmd") down
    requests "$t-cold_up" $("${t}_cmd") up -d
done
requests dv-run $(dv_cmd) run --no-deps cache true
requests dc-run $(dc_cmd) run --rm --no-deps cache true
requests docker-run docker run --rm "$IMAGE" true
kill "$proxy" 2>/dev/null || true
trap cleanup EXIT

# ---- cold up and down (slow: fewer runs, interleaved)
# "raw API": the same stack created straight through the engine API by a Python client in
# devenv's call order (benches/cold_up_schedule.py), the floor under both tools.
il cold_up "$SLOW_RUNS" devenv "$0 _reset dv" "$(dv_cmd) up -d" \
    compose "$0 _reset dc" "$(dc_cmd) up -d" \
    "raw API" "python3 $here/cold_up_schedule.py clean" "python3 $here/cold_up_schedule.py up layers"
python3 "$here/cold_up_schedule.py" clean
il down "$SLOW_RUNS" devenv "$0 _up dv" "$(dv_cmd) down" \
    compose "$0 _up dc" "$(dc_cmd) down"

# Would another order of the same calls help? Three schedules, alternating.
load
echo "== cold up schedules (raw engine API)"
python3 "$here/cold_up_schedule.py" "$SLOW_RUNS" | tee "$OUT/schedule.md"
load

echo "uptime at end: $(uptime)" | tee -a "$OUT/machine.txt"
python3 "$here/summarize.py" "$OUT" | tee "$OUT/summary.md"
