#!/usr/bin/env bash
# devenv watch against docker compose watch on a 100,000-file tree (50,000 in node_modules):
# save-to-reaction latency (p50, p99) over many saves, time to ready, RSS and inotify watches.
# The two run one after another in the same run, on the same tree, each against its own
# running busybox container.
#
#   benches/watch.sh [OUT_DIR]
#
# Env: DEVENV (default target/release/devenv), TREE (default /tmp/devenv-bench-watch-tree),
# SAVES (per variant, default 100), INTERVAL (seconds between saves, default 0.3).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cd "$root"

DEVENV="${DEVENV:-$root/target/release/devenv}"
TREE="${TREE:-/tmp/devenv-bench-watch-tree}"
SAVES="${SAVES:-100}"
INTERVAL="${INTERVAL:-0.3}"
OUT="${1:-/tmp/devenv-bench/watch-$(date +%Y%m%d-%H%M%S)}"
DV_P=dvwatch
DC_P=dcwatch
mkdir -p "$OUT"
echo "results in $OUT"

[[ -x "$DEVENV" ]] || { echo "watch.sh: $DEVENV is not built (cargo build --release)" >&2; exit 1; }
docker compose version | grep -q 'version v\?2' || { echo "watch.sh: docker compose v2 is missing" >&2; exit 1; }
docker image inspect devenv-test/busybox:latest >/dev/null 2>&1 || scripts/test-image

cleanup() {
    "$DEVENV" -f "$TREE/compose.yml" -p "$DV_P" down >/dev/null 2>&1 || true
    docker compose -f "$TREE/compose.yml" -p "$DC_P" down >/dev/null 2>&1 || true
}
trap 'cleanup; docker rmi devenv-bench/watchbox:latest >/dev/null 2>&1 || true' EXIT
load() { echo "$(date +%T) $1 $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt"; }

{
    echo "date: $(date -Is)"
    echo "devenv: $("$DEVENV" --version)"
    echo "compose: $(docker compose version)"
    echo "uptime at start: $(uptime)"
} | tee "$OUT/machine.txt"

# The tree (built once, reused), and the core's own figures as a baseline: the watch in
# process, no engine, no CLI.
load "core"
benches/watch_tree.sh "$TREE" | tee "$OUT/core.txt"
cp "$here/watch/compose.yml" "$here/watch/devenv-exec.yml" "$TREE/"
# compose watches only services with a build section; the image it names already exists, so
# neither tool builds.
mkdir -p "$TREE/.bench-build"
echo 'FROM devenv-test/busybox:latest' >"$TREE/.bench-build/Dockerfile"
docker tag devenv-test/busybox:latest devenv-bench/watchbox:latest
find "$TREE" -type f | wc -l | awk '{print "files in the tree: " $1}' | tee -a "$OUT/machine.txt"

measure() {
    # measure NAME TOOL CONTAINER SYNC_TARGET -- ARGV...
    local name="$1" tool="$2" container="$3" target="$4"
    shift 5
    load "$name"
    local sync=()
    [[ -n "$target" ]] && sync=(--sync-target "$target")
    python3 "$here/watch_latency.py" --tool "$tool" --tree "$TREE" --container "$container" \
        "${sync[@]}" --saves "$SAVES" --interval "$INTERVAL" --log "$OUT/$name.log" \
        -- "$@" | tee "$OUT/$name.json"
}

cleanup
"$DEVENV" -f "$TREE/compose.yml" -p "$DV_P" up -d
dv_box="$(docker ps -q --filter "label=dev.devenv.project=$DV_P" --filter "label=dev.devenv.service=box")"
measure devenv-sync devenv "$dv_box" /app -- "$DEVENV" -f "$TREE/compose.yml" -p "$DV_P" watch --json
measure devenv-exec devenv "$dv_box" "" -- "$DEVENV" -f "$TREE/devenv-exec.yml" -p "$DV_P" watch --json
"$DEVENV" -f "$TREE/compose.yml" -p "$DV_P" down

docker compose -f "$TREE/compose.yml" -p "$DC_P" up -d
dc_box="$(docker ps -q --filter "label=com.docker.compose.project=$DC_P" --filter "label=com.docker.compose.service=box")"
measure compose-sync compose "$dc_box" /app -- docker compose -f "$TREE/compose.yml" -p "$DC_P" watch --no-up
docker compose -f "$TREE/compose.yml" -p "$DC_P" down
load "end"
echo "uptime at end: $(uptime)" | tee -a "$OUT/machine.txt"

python3 - "$OUT" <<'EOF' | tee "$OUT/summary.md"
import json, os, sys
out = sys.argv[1]
rows = [("devenv-sync", "devenv watch, sync app/ → /app"),
        ("devenv-exec", "devenv watch, `**` → exec `true`"),
        ("compose-sync", "docker compose watch, sync app/ → /app")]
def cell(s, k):
    return f"{s[k]}" if s else "–"
print("| watcher | save → action_started p50 / p99 | save → action_finished p50 / p99 | save → compose log line p50 / p99 | save → visible in container p50 / p99 | ready (spawn → ready) | RSS at ready / end / peak | inotify watches | in node_modules | missed |")
print("|---|---|---|---|---|---|---|---|---|---|")
for name, label in rows:
    p = os.path.join(out, name + ".json")
    if not os.path.exists(p):
        continue
    r = json.load(open(p))
    def pp(k):
        s = r.get(k)
        return f"{s['p50_ms']} / {s['p99_ms']} ms" if s else "–"
    ready = f"{r['ready_wall_ms']} ms"
    if "ready_event" in r:
        ready += f" (event's elapsed_ms: {r['ready_event'].get('elapsed_ms')})"
    mib = lambda k: f"{r[k] / 1024:.1f}" if r.get(k) else "?"
    rss = f"{mib('rss_ready_kib')} / {mib('rss_end_kib')} / {mib('rss_peak_kib')} MiB"
    if r.get("cli_rss_kib"):
        rss += f" (+ docker CLI {r['cli_rss_kib'] / 1024:.1f} MiB)"
    print(f"| {label} | {pp('to_action_started')} | {pp('to_action_finished')} | {pp('to_log_line')} | {pp('to_visible_in_container')} "
          f"| {ready} | {rss} | {r['inotify_watches']} | {r['watches_in_node_modules']} of {r['dirs_in_node_modules']} dirs "
          f"| {r['missed']} of {r['saves']} |")
EOF
