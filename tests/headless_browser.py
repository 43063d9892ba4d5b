"""Open a local HTML file in a real headless Chromium and evaluate JavaScript in it (CDP).

Debian's ``chromium`` (``make browser`` installs it where apt-get can) is
started with ``--remote-debugging-port``; the page is driven over the DevTools
protocol with ``websocket-client``. :func:`chromium_or_skip` skips a test with
the reason when either is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def chromium_or_skip() -> str:
    """The Chromium executable, or skip the test saying how to get one."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            break
    else:
        pytest.skip("no Chromium found (tried chromium, chromium-browser, google-chrome); "
                    "`make browser` installs Debian's chromium with apt-get")
    try:
        import websocket  # noqa: F401
    except ImportError:
        pytest.skip("websocket-client is not installed; `make setup` installs the dev extras")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def open_page(html_file: Path, timeout: float = 60.0):
    """Yield ``evaluate(js) -> value`` for ``html_file`` loaded in headless Chromium."""
    import websocket

    executable = chromium_or_skip()
    port = _free_port()
    # Chromium's helper processes (zygote, crashpad) can still be writing the profile
    # while it is removed: the whole process group is ended below, and a file they
    # leave behind must not fail the test.
    with tempfile.TemporaryDirectory(prefix="rldebug-chromium-",
                                     ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-dev-shm-usage", "--disable-background-networking", "--no-first-run",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
             f"--remote-debugging-port={port}", "--remote-debugging-address=127.0.0.1",
             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            target = _page_target(port, process, timeout)
            ws = websocket.create_connection(target, timeout=timeout, suppress_origin=True)
            counter = iter(range(1, 10**6))

            def call(method, **params):
                message_id = next(counter)
                ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
                while True:
                    reply = json.loads(ws.recv())
                    if reply.get("id") == message_id:
                        if "error" in reply:
                            raise RuntimeError(f"CDP {method}: {reply['error']}")
                        return reply.get("result", {})

            call("Page.enable")
            call("Page.navigate", url=html_file.resolve().as_uri())
            deadline = time.monotonic() + timeout
            while call("Runtime.evaluate", expression="document.readyState",
                       returnByValue=True)["result"].get("value") != "complete":
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{html_file} did not finish loading in {timeout} s")
                time.sleep(0.1)

            def evaluate(expression: str):
                result = call("Runtime.evaluate", expression=expression, returnByValue=True,
                              awaitPromise=True)
                if "exceptionDetails" in result:
                    raise RuntimeError(f"JavaScript failed: {result['exceptionDetails']}")
                return result["result"].get("value")

            yield evaluate
            ws.close()
        finally:
            _end_group(process)


def _end_group(process: subprocess.Popen) -> None:
    """Terminate Chromium and every helper process it started (its own session)."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _page_target(port: int, process: subprocess.Popen, timeout: float) -> str:
    """The websocket URL of Chromium's first page, once its DevTools endpoint is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Chromium exited with code {process.returncode} at start-up")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"Chromium's DevTools endpoint on port {port} did not come up")
