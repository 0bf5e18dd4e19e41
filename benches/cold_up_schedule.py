#!/usr/bin/env python3
"""How much the order of engine calls matters for a cold `up` of the benchmark stack.

Brings the 5 services of benches/stack/compose.yml up from nothing, straight through the
engine API (one client, no CLI), in three schedules, alternating, and prints median wall times:

  layers        devenv's order today: per dependency layer, create+start every service in
                parallel, and wait for the whole layer before the next one;
  create-first  create all five containers in parallel first, then start layer by layer;
  graph         create all first, then start each service as soon as its own dependencies
                have started (no layer barrier); what compose does.

    benches/cold_up_schedule.py [ROUNDS]     # all three, alternating; a markdown table
    benches/cold_up_schedule.py up SCHEDULE  # one cold up (for benches/interleave.py)
    benches/cold_up_schedule.py clean

Everything it makes carries the label devenv-bench.schedule and is removed after each round.
"""

import http.client
import json
import socket
import statistics
import sys
import threading
import time
import urllib.parse

SOCK = "/var/run/docker.sock"
IMAGE = "devenv-test/busybox:latest"
PROJECT = "schedbench"
LABEL = "devenv-bench.schedule"
NET = f"{PROJECT}_default"
VOL = f"{PROJECT}_data"
DEPS = {"cache": [], "db": [], "web": [], "worker": ["cache"], "app": ["db", "web"]}
LAYERS = [["cache", "db", "web"], ["worker", "app"]]


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self):
        super().__init__("docker")

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(SOCK)


def call(method, path, body=None, ok=(200, 201, 204, 304)):
    c = UnixHTTP()
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    c.request(method, "/v1.41" + path, body=data, headers=headers)
    r = c.getresponse()
    out = r.read()
    c.close()
    if r.status not in ok:
        raise RuntimeError(f"{method} {path}: {r.status} {out[:200]!r}")
    return json.loads(out) if out and r.headers.get("Content-Type") == "application/json" else None


def spec(service):
    s = {
        "Image": IMAGE,
        "Cmd": ["sleep", "1000000"],
        "StopSignal": "SIGKILL",
        "Labels": {LABEL: "1"},
        "HostConfig": {"NetworkMode": NET},
        "NetworkingConfig": {"EndpointsConfig": {NET: {"Aliases": [service]}}},
    }
    if service == "db":
        s["Healthcheck"] = {"Test": ["CMD", "true"], "Interval": 10**9, "Timeout": 10**9,
                            "Retries": 3}
    if service == "web":
        s["Cmd"] = ["httpd", "-f", "-p", "8080", "-h", "/data"]
        s["ExposedPorts"] = {"8080/tcp": {}}
        s["HostConfig"]["PortBindings"] = {"8080/tcp": [{"HostIp": "127.0.0.1",
                                                         "HostPort": "18083"}]}
        s["HostConfig"]["Mounts"] = [{"Type": "volume", "Source": VOL, "Target": "/data"}]
    return s


def create(service):
    name = urllib.parse.quote(f"{PROJECT}-{service}-1")
    return call("POST", f"/containers/create?name={name}", spec(service))["Id"]


def start(cid):
    call("POST", f"/containers/{cid}/start")


def parallel(fns):
    results, errors = [None] * len(fns), []

    def run(i, f):
        try:
            results[i] = f()
        except Exception as e:  # reported below, after every thread ended
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def objects():
    call("POST", "/networks/create", {"Name": NET, "Labels": {LABEL: "1"},
                                       "CheckDuplicate": True})
    call("POST", "/volumes/create", {"Name": VOL, "Labels": {LABEL: "1"}})


def layers():
    objects()
    for layer in LAYERS:
        parallel([lambda s=s: start(create(s)) for s in layer])


def create_first():
    objects()
    ids = dict(zip(DEPS, parallel([lambda s=s: create(s) for s in DEPS])))
    for layer in LAYERS:
        parallel([lambda s=s: start(ids[s]) for s in layer])


def graph():
    objects()
    ids = dict(zip(DEPS, parallel([lambda s=s: create(s) for s in DEPS])))
    started = {s: threading.Event() for s in DEPS}

    def one(s):
        for d in DEPS[s]:
            started[d].wait()
        start(ids[s])
        started[s].set()

    parallel([lambda s=s: one(s) for s in DEPS])


def cleanup():
    filters = urllib.parse.quote(json.dumps({"label": [LABEL]}))
    for c in call("GET", f"/containers/json?all=1&filters={filters}") or []:
        call("DELETE", f"/containers/{c['Id']}?force=1&v=1", ok=(204, 404))
    call("DELETE", f"/networks/{NET}", ok=(204, 404))
    call("DELETE", f"/volumes/{VOL}", ok=(204, 404))


SCHEDULES = {"layers": layers, "create-first": create_first, "graph": graph}


def main():
    if sys.argv[1:2] == ["clean"]:
        cleanup()
        return
    if sys.argv[1:2] == ["up"]:
        SCHEDULES[sys.argv[2]]()
        return
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    schedules = SCHEDULES
    times = {k: [] for k in schedules}
    cleanup()
    try:
        for _ in range(rounds):
            for name, fn in schedules.items():
                t = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t)
                cleanup()
    finally:
        cleanup()
    base = statistics.median(times["layers"])
    print("| schedule | median | min–max | vs layers | rounds |")
    print("|---|---|---|---|---|")
    for name, v in times.items():
        m = statistics.median(v)
        print(f"| {name} | {m * 1000:.0f} ms | {min(v) * 1000:.0f}–{max(v) * 1000:.0f} ms "
              f"| {m / base:.2f}× | {len(v)} |")


if __name__ == "__main__":
    main()
