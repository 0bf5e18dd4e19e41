#!/usr/bin/env python3
"""Round-trip time of single engine requests over the unix socket, one fresh connection per
request (as devenv's client makes them): HEAD /_ping, GET /version, and a label-filtered
container list. Requests alternate so load changes hit all of them alike. Prints medians.

    benches/engine_rtt.py [ROUNDS] [SOCKET]

Why: API version negotiation can use either /_ping (its API-Version header) or /version;
on Docker 20.10 the /version handler also asks containerd and runs `runc --version` and
`docker-init --version`, so it costs more than the ping.
"""

import socket
import statistics
import sys
import time

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
SOCK = sys.argv[2] if len(sys.argv) > 2 else "/var/run/docker.sock"
FILTER = "%7B%22label%22%3A%5B%22dev.devenv.project%3Ddvbench%22%5D%7D"
REQUESTS = {
    "HEAD /_ping": "HEAD /_ping",
    "GET /version": "GET /v1.41/version",
    "GET /containers/json (label filter)": f"GET /v1.41/containers/json?all=1&filters={FILTER}",
}


def once(line):
    t = time.perf_counter()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(SOCK)
    s.sendall(f"{line} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n".encode())
    while s.recv(65536):
        pass
    s.close()
    return time.perf_counter() - t


times = {k: [] for k in REQUESTS}
for _ in range(ROUNDS):
    for name, line in REQUESTS.items():
        times[name].append(once(line))
print("| request | median | min | max | n |")
print("|---|---|---|---|---|")
for name, v in times.items():
    print(f"| {name} | {statistics.median(v) * 1000:.2f} ms | {min(v) * 1000:.2f} ms "
          f"| {max(v) * 1000:.2f} ms | {len(v)} |")
