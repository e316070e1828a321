"""End-to-end fixtures: a real `streamlit run app.py` on a free localhost port, driven by
Playwright in Debian's headless chromium (``/usr/bin/chromium``; no browser is downloaded)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.helpers import track_app_socket

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CAUSALREC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """A streamlit server over one workspace; ``restart()`` keeps the workspace."""

    def __init__(self, workspace: Path):
        self.workspace = workspace
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None
        self.log = workspace / "streamlit.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = os.environ | {"CAUSALREC_HOME": str(self.workspace), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"streamlit did not become healthy: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.port = _free_port()
        self.start()


@pytest.fixture
def app_server(tmp_path):
    server = AppServer(tmp_path / "workspace")
    server.workspace.mkdir()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's chromium is not installed at {CHROMIUM}: run scripts/test.sh, which installs it.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    track_app_socket(pg)
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        pg = item.funcargs.get("page")
        if pg is not None and not pg.is_closed():
            shot = Path(os.environ.get("CAUSALREC_E2E_SHOTS", "/tmp")) / f"e2e-{item.name}.png"
            try:
                pg.screenshot(path=str(shot), full_page=True)
                report.sections.append(("screenshot", str(shot)))
            except Exception as err:  # noqa: BLE001 - a failed screenshot must not hide the failure
                report.sections.append(("screenshot", f"not taken: {err}"))
    return report
