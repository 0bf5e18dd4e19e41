#!/usr/bin/env python3
"""Runs one file watcher (devenv watch --json, or docker compose watch) on a prepared tree,
saves files one after another, and measures save-to-reaction latency. Prints one JSON object.

    benches/watch_latency.py --tool devenv|compose --tree DIR --container ID
        [--sync-target /app] [--saves 100] [--interval 0.3] -- WATCHER ARGV...

Latencies are measured from just before the save (open, write, close) to:
  - `action_started`: the NDJSON event's arrival on devenv's stdout (devenv only);
  - `log`: compose's "Syncing ..." line on its output (compose only);
  - `visible`: the saved content readable in the container's writable layer (both, with
    --sync-target). The layer is read from the host (GraphDriver.Data.UpperDir), polled every
    0.5 ms, so no `docker exec` round trip is added to the figure.
Also reported: spawn-to-ready time, the watcher's RSS (VmRSS at ready and at the end, VmHWM),
its inotify watches (from /proc/PID/fdinfo) and how many of them are inside node_modules.
"""

import argparse
import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid


def now():
    return time.monotonic()


def reader(stream, name, q, log):
    for raw in iter(stream.readline, b""):
        t = now()
        line = raw.decode("utf-8", "replace").rstrip("\n")
        log.append((t, name, line))
        q.put((t, name, line))
    q.put((now(), name, None))


def children(pid):
    """Direct children of pid, from /proc."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses; fields resume after the last ')'.
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[1]) == pid:
            out.append(int(entry))
    return out


def status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def inotify_inodes(pid):
    """Inodes watched by pid's inotify instances (one per `inotify wd:` line)."""
    inodes = []
    fd_dir = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return inodes
    for fd in fds:
        try:
            if os.readlink(f"{fd_dir}/{fd}") != "anon_inode:inotify":
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                for line in f:
                    if line.startswith("inotify wd:"):
                        for part in line.split():
                            if part.startswith("ino:"):
                                inodes.append(int(part[4:], 16))
        except OSError:
            continue
    return inodes


def dir_inodes(top):
    inodes = set()
    for dirpath, _, _ in os.walk(top):
        try:
            inodes.add(os.stat(dirpath).st_ino)
        except OSError:
            pass
    return inodes


def percentile(values, p):
    """Nearest-rank percentile."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, -(-len(s) * p // 100) - 1))
    return s[int(k)]


def stats(values):
    if not values:
        return None
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50) * 1000, 1),
        "p90_ms": round(percentile(values, 90) * 1000, 1),
        "p99_ms": round(percentile(values, 99) * 1000, 1),
        "min_ms": round(min(values) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1),
    }


def upper_dir(container):
    out = subprocess.run(
        ["docker", "inspect", "-f", "{{.GraphDriver.Data.UpperDir}}", container],
        check=True, capture_output=True, text=True,
    )
    return out.stdout.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", choices=["devenv", "compose"], required=True)
    ap.add_argument("--tree", required=True)
    ap.add_argument("--container", required=True)
    ap.add_argument("--sync-target")
    ap.add_argument("--saves", type=int, default=100)
    ap.add_argument("--interval", type=float, default=0.3)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--log")
    ap.add_argument("argv", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    argv = a.argv[1:] if a.argv and a.argv[0] == "--" else a.argv

    upper = upper_dir(a.container) if a.sync_target else None
    tree = os.path.abspath(a.tree)
    q = queue.Queue()
    log = []
    spawned = now()
    proc = subprocess.Popen(argv, cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    for stream, name in ((proc.stdout, "out"), (proc.stderr, "err")):
        threading.Thread(target=reader, args=(stream, name, q, log), daemon=True).start()

    result = {"tool": a.tool, "argv": argv}
    try:
        run(a, q, proc, spawned, upper, tree, result)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if a.log:
            with open(a.log, "w") as f:
                for t, name, line in log:
                    f.write(f"{t - spawned:10.4f} {name} {line}\n")
    json.dump(result, sys.stdout, indent=1)
    print()


def is_ready(tool, name, line):
    if tool == "devenv":
        if name != "out":
            return None
        try:
            ev = json.loads(line)
        except ValueError:
            return None
        return ev if ev.get("event") == "ready" else None
    # compose prints "Watch enabled" once its watches are in place.
    return {"line": line} if "watch enabled" in line.lower() else None


def run(a, q, proc, spawned, upper, tree, result):
    # ---- ready
    deadline = now() + 120
    while True:
        try:
            t, name, line = q.get(timeout=max(0.0, deadline - now()))
        except queue.Empty:
            raise SystemExit(f"{a.tool}: not ready within 120 s")
        if line is None:
            if proc.poll() is not None:
                raise SystemExit(f"{a.tool} exited with {proc.returncode} before it was ready")
            continue
        ev = is_ready(a.tool, name, line)
        if ev is not None:
            result["ready_wall_ms"] = round((t - spawned) * 1000, 1)
            if "elapsed_ms" in ev:
                result["ready_event"] = {k: ev[k] for k in ("elapsed_ms", "dirs_watched", "files_seen")
                                         if k in ev}
            break

    # The process that holds the watches: devenv itself; for `docker compose`, the plugin
    # the docker CLI runs as its child.
    pid = proc.pid
    if a.tool == "compose":
        kids = children(pid)
        if kids:
            pid = kids[0]
    result["pid_measured"] = pid
    time.sleep(0.5)  # let a watcher that reports readiness early finish placing watches
    result["rss_ready_kib"] = status_kib(pid, "VmRSS")
    inodes = inotify_inodes(pid)
    node_modules = dir_inodes(os.path.join(tree, "node_modules"))
    result["inotify_watches"] = len(inodes)
    result["watches_in_node_modules"] = len(set(inodes) & node_modules)
    result["dirs_in_node_modules"] = len(node_modules)
    if a.tool == "compose":
        # The docker CLI in front of the plugin stays resident too.
        result["cli_rss_kib"] = status_kib(proc.pid, "VmRSS")

    # ---- saves
    started, logged, visible, finished = [], [], [], []
    missed = 0
    token = uuid.uuid4().hex[:8]
    for i in range(a.saves):
        rel = f"app/m{i % 50}/c{(i * 7) % 10}/l{(i * 3) % 10}/f{i % 10}.rb"
        content = f"save {i} {token}\n"
        # Drop anything left over from the previous save.
        while True:
            try:
                q.get_nowait()
            except queue.Empty:
                break
        t0 = now()
        with open(os.path.join(tree, rel), "w") as f:
            f.write(content)
        got_start = got_log = got_visible = got_finish = None
        want_visible = upper is not None
        inside = None
        if want_visible:
            inside = os.path.join(upper, a.sync_target.strip("/"), rel[len("app/"):])
        end = t0 + a.timeout
        while now() < end:
            try:
                while True:
                    t, name, line = q.get_nowait()
                    if line is None:
                        continue
                    if a.tool == "devenv" and name == "out":
                        try:
                            ev = json.loads(line)
                        except ValueError:
                            continue
                        if ev.get("event") == "action_started" and got_start is None:
                            got_start = t
                        if ev.get("event") == "action_finished" and got_finish is None:
                            got_finish = t
                    elif a.tool == "compose" and "syncing" in line.lower() and got_log is None:
                        got_log = t
            except queue.Empty:
                pass
            if want_visible and got_visible is None:
                try:
                    with open(inside) as f:
                        if f.read() == content:
                            got_visible = now()
                except OSError:
                    pass
            done_events = (got_start is not None and got_finish is not None) \
                if a.tool == "devenv" else True
            if done_events and (not want_visible or got_visible is not None):
                break
            time.sleep(0.0005)
        if got_start is not None:
            started.append(got_start - t0)
        if got_log is not None:
            logged.append(got_log - t0)
        if got_visible is not None:
            visible.append(got_visible - t0)
        if got_finish is not None:
            finished.append(got_finish - t0)
        if (want_visible and got_visible is None) or (a.tool == "devenv" and got_start is None):
            missed += 1
        # Saves start `interval` apart; one whose reaction came later than that still leaves
        # a short gap, so each save is its own batch for both tools.
        time.sleep(max(t0 + a.interval - now(), 0.05))

    result["saves"] = a.saves
    result["missed"] = missed
    result["to_action_started"] = stats(started)
    result["to_action_finished"] = stats(finished)
    result["to_log_line"] = stats(logged)
    result["to_visible_in_container"] = stats(visible)
    result["rss_end_kib"] = status_kib(pid, "VmRSS")
    result["rss_peak_kib"] = status_kib(pid, "VmHWM")
    result["inotify_watches_end"] = len(inotify_inodes(pid))


if __name__ == "__main__":
    main()
