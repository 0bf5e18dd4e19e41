#!/usr/bin/env python3
"""Times slow commands in alternation (A B C, B C A, ...) rather than all runs of one after all
runs of the other, so load that drifts over minutes on a shared machine hits every command
alike. Writes hyperfine-shaped JSON (results[].command/median/mean/stddev/min/max/times), so
benches/summarize.py reads it like hyperfine's.

    benches/interleave.py OUT.json RUNS NAME PREPARE COMMAND [NAME PREPARE COMMAND ...]

PREPARE (run before each timed run, not timed; "" for none) and COMMAND are shell-split
argument lists, run without a shell. A command that fails stops the benchmark.
"""

import json
import shlex
import statistics
import subprocess
import sys
import time


def main():
    out, runs = sys.argv[1], int(sys.argv[2])
    rest = sys.argv[3:]
    if len(rest) % 3:
        raise SystemExit("usage: interleave.py OUT.json RUNS NAME PREPARE COMMAND ...")
    cmds = [(rest[i], rest[i + 1], rest[i + 2]) for i in range(0, len(rest), 3)]
    times = {name: [] for name, _, _ in cmds}
    for r in range(runs):
        k = r % len(cmds)
        for name, prepare, command in cmds[k:] + cmds[:k]:
            if prepare:
                subprocess.run(shlex.split(prepare), check=True, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            argv = shlex.split(command)
            t = time.perf_counter()
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
            elapsed = time.perf_counter() - t
            if p.returncode != 0:
                sys.stderr.write(p.stderr.decode(errors="replace"))
                raise SystemExit(f"{name}: `{command}` exited with {p.returncode}")
            times[name].append(elapsed)
    results = []
    for name, _, command in cmds:
        v = times[name]
        results.append({
            "command": name,
            "argv": command,
            "median": statistics.median(v),
            "mean": statistics.mean(v),
            "stddev": statistics.stdev(v) if len(v) > 1 else 0.0,
            "min": min(v),
            "max": max(v),
            "times": v,
        })
        print(f"{name}: median {statistics.median(v) * 1000:.1f} ms "
              f"(min {min(v) * 1000:.1f}, max {max(v) * 1000:.1f}, n={len(v)})")
    with open(out, "w") as f:
        json.dump({"results": results, "interleaved": True}, f, indent=1)


if __name__ == "__main__":
    main()
