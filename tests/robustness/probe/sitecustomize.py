"""Test-only probe loaded into the plugin process (PYTHONPATH, set by tests/robustness).

The SDK runs every request on a gevent greenlet, so the OS thread count of the plugin
never moves; what a leak would leave behind is live greenlets. This starts one real OS
thread (before the SDK monkey-patches threading) that answers "how many greenlets are
alive, and how many run the plugin's code?" through files: a test writes `<dir>/ask-<n>`,
the probe writes `<dir>/greenlets-<n>`.
Nothing of it ships: the plugin's code does not know it exists.
"""

from __future__ import annotations

import _thread
import gc
import os
import time

_DIR = os.environ.get("ROBUSTNESS_PROBE_DIR")
_sleep = time.sleep  # the real one: gevent patches `time` later


def _greenlets() -> tuple[int, int]:
    """(live greenlets, those running the plugin's own code): an idle worker of the SDK's
    pool is alive but runs no code of the plugin; an abandoned handler does."""
    try:
        from greenlet import greenlet
    except ImportError:
        return -1, -1
    root = os.getcwd()  # the plugin's folder: the daemon starts the plugin there
    mine = tuple(os.path.join(root, part) + os.sep for part in ("provider", "gallery", "endpoints"))
    live = busy = 0
    for o in gc.get_objects():
        if not isinstance(o, greenlet) or o.dead:
            continue
        live += 1
        frame = o.gr_frame
        while frame is not None:
            if frame.f_code.co_filename.startswith(mine):
                busy += 1
                break
            frame = frame.f_back
    return live, busy


def _serve(folder: str) -> None:
    pid = str(os.getpid())
    while True:
        _sleep(0.05)
        try:
            asked = [n for n in os.listdir(folder) if n.startswith(f"ask-{pid}-")]
        except OSError:
            continue
        for name in asked:
            live, busy = _greenlets()
            answer = os.path.join(folder, name.replace("ask-", "greenlets-", 1))
            with open(answer + ".tmp", "w") as out:
                out.write(f"{live} {busy}")
            os.replace(answer + ".tmp", answer)
            os.unlink(os.path.join(folder, name))


if _DIR and os.environ.get("INSTALL_METHOD"):  # the plugin process only, not the devkit
    _thread.start_new_thread(_serve, (_DIR,))
