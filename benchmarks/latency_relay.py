"""A TCP relay on 127.0.0.1 that adds round-trip latency, for benchmarks only.

    python benchmarks/latency_relay.py --rtt-ms 10 PORT [PORT ...]

For each target port it listens on a free loopback port and prints one JSON line, the map
{target port: relay port}, once all are listening. Every connection is relayed to its target
after ``rtt`` ms (the TCP handshake's round trip), and every chunk in either direction is held
back ``rtt / 2`` ms, in order; an end of stream is passed on after the same delay. So a TLS 1.2
handshake costs about three round trips through it, as over a real network. It runs until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

_TASKS: set[asyncio.Task[None]] = set()  # asyncio keeps only weak references to tasks


def _spawn(coro: Any) -> asyncio.Task[None]:
    task = asyncio.ensure_future(coro)
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)
    return task


async def _forward(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float
) -> None:
    """Copy one direction, each chunk (and the end of stream) ``delay`` seconds late."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    delivering = _spawn(deliver())
    try:
        while True:
            data = await reader.read(65536)
            queue.put_nowait((loop.time() + delay, data))
            if not data:
                break
    except OSError:
        queue.put_nowait((loop.time() + delay, b""))
    await delivering


async def _serve(target: int, rtt: float, ready: asyncio.Future[int]) -> None:
    async def relay(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        await asyncio.sleep(rtt)  # the TCP handshake to the far end
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            client_w.close()
            return
        directions = [
            _spawn(_forward(client_r, server_w, rtt / 2)),
            _spawn(_forward(server_r, client_w, rtt / 2)),
        ]
        # Done when both sides have ended, or as soon as one fails (reset, broken pipe).
        await asyncio.wait(directions, return_when=asyncio.FIRST_EXCEPTION)
        for task in directions:
            task.cancel()
        for w in (client_w, server_w):
            w.close()

    def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        _spawn(relay(client_r, client_w))

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    ready.set_result(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


async def _main(targets: list[int], rtt: float) -> None:
    loop = asyncio.get_running_loop()
    futures = [loop.create_future() for _ in targets]
    tasks = [asyncio.create_task(_serve(t, rtt, f)) for t, f in zip(targets, futures, strict=True)]
    ports = await asyncio.gather(*futures)
    print(json.dumps(dict(zip(map(str, targets), ports, strict=True))), flush=True)
    await asyncio.gather(*tasks)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rtt-ms", type=float, required=True)
    parser.add_argument("ports", type=int, nargs="+")
    args = parser.parse_args()
    try:
        asyncio.run(_main(args.ports, args.rtt_ms / 1000))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
