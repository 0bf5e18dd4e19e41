#!/usr/bin/env python3
"""Logs every HTTP request a client sends to the Docker engine.

A transparent proxy on a unix socket: point a client at it with
DOCKER_HOST=unix://SOCKET and each request line (method and path, query string dropped)
is appended to LOG, one per line, as it passes: `SECONDS CONN -> METHOD PATH` for a request
and `SECONDS CONN <- STATUS` for each response head (SECONDS since the proxy started; CONN
numbers the client's connections). The engine's own debug log would need a
daemon restart; this needs nothing but the socket.

    benches/engine_log.py SOCKET LOG [ENGINE_SOCKET]

Runs until killed. Only for counting requests: the extra hop adds latency, so never time
through it.
"""

import asyncio
import os
import re
import sys
import time

REQUEST = re.compile(rb"(GET|HEAD|POST|PUT|DELETE) (\S+) HTTP/1\.[01]\r\n")
RESPONSE = re.compile(rb"HTTP/1\.[01] (\d{3})[^\r\n]*\r\n")
START = time.monotonic()


async def pump(reader, writer, log, conn, responses):
    # Request lines can straddle reads; keep a short tail to match across the boundary.
    tail = b""
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            now = time.monotonic() - START
            buf = tail + data
            for m in (RESPONSE if responses else REQUEST).finditer(buf):
                # A match that ends inside the old tail was already logged.
                if m.end() <= len(tail):
                    continue
                if responses:
                    log.write(f"{now:.4f} {conn} <- {m.group(1).decode()}\n")
                else:
                    path = m.group(2).split(b"?", 1)[0].decode("latin-1")
                    # Version prefixes (/v1.41) differ between clients; drop them.
                    path = re.sub(r"^/v\d+\.\d+", "", path)
                    log.write(f"{now:.4f} {conn} -> {m.group(1).decode()} {path}\n")
            tail = buf[-512:]
            writer.write(data)
            await writer.drain()
    except (ConnectionResetError, BrokenPipeError):
        pass
    # Half-close only: a hijacked stream (attach, exec) may still carry the other direction.
    try:
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        pass


async def main():
    listen, log_path = sys.argv[1], sys.argv[2]
    engine = sys.argv[3] if len(sys.argv) > 3 else "/var/run/docker.sock"
    if os.path.exists(listen):
        os.unlink(listen)
    log = open(log_path, "a", buffering=1)

    conns = 0

    async def handle(client_r, client_w):
        nonlocal conns
        conns += 1
        conn = conns
        engine_r, engine_w = await asyncio.open_unix_connection(engine)
        await asyncio.gather(
            pump(client_r, engine_w, log, conn, False),
            pump(engine_r, client_w, log, conn, True),
        )
        for w in (engine_w, client_w):
            w.close()

    server = await asyncio.start_unix_server(handle, path=listen)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
