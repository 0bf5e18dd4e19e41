#!/usr/bin/env python3
"""Turns the raw results of benches/stack.sh (hyperfine JSON, GNU time output, engine request
logs) into markdown tables with devenv/compose ratios and the targets.

    benches/summarize.py OUT_DIR
"""

import collections
import json
import os
import statistics
import sys

out = sys.argv[1]

# name, label, the reference the ratio is taken against, target (text, check)
ROWS = [
    ("noop_up", "no-op `up -d`", "compose", "≤ 25 ms and ≤ 0.3×",
     lambda d, r: d <= 0.025 and r <= 0.3),
    ("noop_up_gated", "no-op `up -d`, app gated on db healthy", "compose", "≤ 25 ms and ≤ 0.3×",
     lambda d, r: d <= 0.025 and r <= 0.3),
    ("ps", "`ps`", "compose", "≤ 0.3×", lambda d, r: r <= 0.3),
    ("config", "`config --services` (no engine)", "compose", "", None),
    ("run", "`run --no-deps cache true`", "docker run", "≤ 1.1× `docker run`",
     lambda d, r: r <= 1.1),
    ("cold_up", "cold `up -d` (no containers, network, volume)", "compose", "≤ 0.8×",
     lambda d, r: r <= 0.8),
    ("down", "`down`", "compose", "≤ 0.8×", lambda d, r: r <= 0.8),
    ("version", "`--version` (compose: `version`)", "compose", "≤ 3 ms", lambda d, r: d <= 0.003),
]


def requests(path):
    return sum(1 for line in open(path) if " -> " in line)


def ms(s):
    return f"{s * 1000:.1f} ms" if s < 10 else f"{s:.2f} s"


def load(name):
    # A benchmark may be split over NAME.json and NAME_compose.json (different run counts).
    found = None
    for suffix in ("", "_compose"):
        path = os.path.join(out, f"{name}{suffix}.json")
        if os.path.exists(path):
            found = found or {}
            found.update({r["command"]: r for r in json.load(open(path))["results"]})
    return found


print("| command | devenv | compose | devenv/compose | other | devenv/other | target | met |")
print("|---|---|---|---|---|---|---|---|")
for name, label, ref, target, check in ROWS:
    res = load(name)
    if res is None:
        continue
    d = res["devenv"]["median"]
    c = res["compose"]["median"]
    others = [k for k in res if k not in ("devenv", "compose")]
    r_ref = d / (res[ref]["median"] if ref in res else c)
    cells = [
        label,
        ms(d),
        ms(c),
        f"{d / c:.2f}×",
        "<br>".join(f"{k}: {ms(res[k]['median'])}" for k in others),
        "<br>".join(f"{d / res[k]['median']:.2f}×" for k in others),
        target,
        "" if check is None else ("yes" if check(d, r_ref) else "**no**"),
    ]
    print("| " + " | ".join(cells) + " |")

print()
print("Spread (hyperfine, seconds): median / mean ± stddev / min–max, runs")
print()
print("| command | tool | median | mean ± σ | min–max | runs |")
print("|---|---|---|---|---|---|")
for name, label, *_ in ROWS:
    res = load(name)
    if res is None:
        continue
    for tool, r in res.items():
        print(f"| {label} | {tool} | {ms(r['median'])} | {ms(r['mean'])} ± {ms(r['stddev'] or 0)} "
              f"| {ms(r['min'])}–{ms(r['max'])} | {len(r['times'])} |")

rss = os.path.join(out, "rss.txt")
if os.path.exists(rss):
    by = collections.defaultdict(list)
    for line in open(rss):
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            by[parts[0]].append(int(parts[1]))
    names = {"dv": "devenv", "dc": "docker compose", "dcs": "docker-compose (standalone)"}
    print()
    print("Peak RSS of a no-op `up -d` (GNU time %M, the largest single process)")
    print()
    print("| tool | median | min–max | runs |")
    print("|---|---|---|---|")
    for t in ("dv", "dc", "dcs"):
        v = by.get(t)
        if v:
            print(f"| {names[t]} | {statistics.median(v) / 1024:.1f} MiB | "
                  f"{min(v) / 1024:.1f}–{max(v) / 1024:.1f} MiB | {len(v)} |")

req = os.path.join(out, "requests")
if os.path.isdir(req):
    print()
    print("Engine requests per command (through benches/engine_log.py)")
    print()
    print("| command | devenv | compose |")
    print("|---|---|---|")
    for cmd in ("noop_up", "noop_up_gated", "ps", "run", "cold_up", "down"):
        counts = []
        for t in ("dv", "dc"):
            p = os.path.join(req, f"{t}-{cmd}.log")
            counts.append(str(requests(p)) if os.path.exists(p) else "")
        print(f"| {cmd} | {counts[0]} | {counts[1]} |")
    p = os.path.join(req, "docker-run.log")
    if os.path.exists(p):
        print(f"| `docker run --rm` | | {requests(p)} (docker CLI) |")

rtt = os.path.join(out, "engine_rtt.md")
if os.path.exists(rtt):
    print()
    print("Single engine round trips (benches/engine_rtt.py, fresh connection each)")
    print()
    print(open(rtt).read().rstrip())

sched = os.path.join(out, "schedule.md")
if os.path.exists(sched):
    print()
    print("Cold up straight through the engine API, by call order (benches/cold_up_schedule.py)")
    print()
    print(open(sched).read().rstrip())
