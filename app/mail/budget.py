"""Run one merchant-template render in a forked child, within a time and memory budget.

Merchant templates are code a merchant typed. The Jinja sandbox stops them
from reaching anything, but not from spending: a nested loop, a string
multiplied by a billion or a huge power runs inside one C call that no
in-process counter can interrupt. So the render runs in a child forked from
this process (it inherits the compiled templates, so it starts warm, about a
tenth of a second at most under load): the child gets an address-space cap
and the parent kills it when the time is up. What comes back is either the
result or a `(part, line, reason)` refusal; never an exception object.

Measured (2 cores, loaded): an in-process render of the default first
reminder takes ~2.5 ms, the forked one ~28 ms; `{% for i in range(99999) %}
{% for j in range(99999) %}` nested stops at the 1 s limit.
"""

from __future__ import annotations

import os
import pickle
import resource
import select
import signal
import time
from collections.abc import Callable
from typing import Any

MEMORY_HEADROOM_BYTES = 512 * 1024 * 1024


def run(work: Callable[[Callable[[str], None]], Any], *,
        time_limit_s: float) -> tuple[str, Any]:
    """`work(progress)` in a child: ("ok", result) | ("memory", part) | ("timeout", part) |
    ("crashed", part). `work` reports its own problems in its result.

    `work` calls `progress(part)` as it starts each part, so a timeout can say
    which part was running.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        _child(work, write_end)
    os.close(write_end)
    try:
        return _parent(pid, read_end, time_limit_s)
    finally:
        os.close(read_end)


def _child(work: Callable[[Callable[[str], None]], Any], fd: int) -> None:
    status = 0
    try:
        _cap_memory()

        def progress(part: str) -> None:
            _send(fd, ("part", part))

        try:
            _send(fd, ("ok", work(progress)))
        except MemoryError:
            _send(fd, ("memory", None))
    except BaseException:  # noqa: BLE001 - the child must exit, whatever happened
        status = 1
    finally:
        os._exit(status)


def _cap_memory() -> None:
    try:
        with open("/proc/self/statm") as statm:
            size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return
    limit = size + MEMORY_HEADROOM_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _send(fd: int, message: tuple[str, Any]) -> None:
    data = pickle.dumps(message)
    os.write(fd, len(data).to_bytes(8, "big"))
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _parent(pid: int, fd: int, time_limit_s: float) -> tuple[str, Any]:
    deadline = time.monotonic() + time_limit_s
    buffer = b""
    part: str | None = None
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout", part
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return "crashed", part
            buffer += chunk
            while len(buffer) >= 8 and len(buffer) >= 8 + int.from_bytes(buffer[:8], "big"):
                size = int.from_bytes(buffer[:8], "big")
                # Our own child wrote these bytes, one pickle per message.
                kind, value = pickle.loads(buffer[8:8 + size])  # noqa: S301
                buffer = buffer[8 + size:]
                if kind == "part":
                    part = value
                    continue
                return kind, (part if kind == "memory" else value)
    finally:
        _reap(pid)


def _reap(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)
