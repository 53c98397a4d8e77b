"""Tie the plan's process pool to the plan process, so that nothing outlives a ``kill -9`` of it.

Pool workers come from a fork server (a child of the plan process) and hold its "alive" pipe and
the resource tracker's pipe open, so after a ``kill -9`` of the plan all three would live on.
Two ties cut the chain (Linux; elsewhere nothing is done):

- `die_with_parent`, the pool's initializer: the kernel kills a worker when its parent (the
  fork server, or the plan process itself without one) dies (``PR_SET_PDEATHSIG``);
- importing this module in the fork server (it is in the fork server's preload list) starts a
  thread there that waits for the plan process to end and then kills the fork server.

The resource tracker then sees its pipe closed and exits by itself. A parent that ended before
the fork server looked (it was re-parented to init) counts as ended; under a subreaper other
than init that case is not seen.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
_POLL_S = 0.5


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux; else nothing)."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return
    if os.getppid() != parent:  # the parent died before the tie was made
        os._exit(1)


def _wait_for(pid: int) -> None:
    """Return once process ``pid`` (this process's parent) has ended."""
    if pid == 1:  # the parent ended before this process looked: re-parented to init
        return
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:  # ended already
        return
    except OSError:  # no pidfd (old kernel): poll for being re-parented
        while os.getppid() == pid:
            time.sleep(_POLL_S)
        return
    if os.getppid() != pid:  # ended (and its pid perhaps reused) before the pidfd was open
        return
    select.select([handle], [], [])


def kill_self_with_parent() -> None:
    """Start a daemon thread that kills this process once its parent has ended."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()

    def watch() -> None:
        _wait_for(parent)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()


def _in_fork_server() -> bool:
    """Is this import the fork server's preload (``multiprocessing.forkserver.main``)?"""
    frame = sys._getframe()
    while frame is not None:
        code = frame.f_code
        if code.co_name == "main" and code.co_filename.endswith("forkserver.py"):
            return True
        frame = frame.f_back  # type: ignore[assignment]  # typeshed: FrameType, may be None
    return False


if _in_fork_server():
    kill_self_with_parent()
