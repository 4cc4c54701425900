"""`urumi dashboard` in a real browser: Debian's chromium driven by playwright-core
(dashboard.test.mjs) against the dashboard on the simulated cluster, with the real CLI.

Needs node + npm (playwright-core is installed from package-lock.json into tests/browser/node_modules
on first run) and chromium at /usr/bin/chromium (or $URUMI_CHROMIUM); `.ci/run` installs chromium.
Missing tools skip the test, unless URUMI_REQUIRE_BROWSER=1 (default: the value of
URUMI_REQUIRE_CONTROL_PLANE, so `make test` and CI fail instead). Screenshots:
tests/browser/artifacts/ (or $URUMI_BROWSER_ARTIFACTS).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))
from support import Urumi, urumi_argv  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
ARTIFACTS = Path(os.environ.get("URUMI_BROWSER_ARTIFACTS") or HERE / "artifacts")


def _required() -> bool:
    value = os.environ.get("URUMI_REQUIRE_BROWSER", os.environ.get("URUMI_REQUIRE_CONTROL_PLANE", ""))
    return value not in ("", "0")


def _unavailable(msg: str):
    if _required():
        pytest.fail(f"{msg} (URUMI_REQUIRE_BROWSER / URUMI_REQUIRE_CONTROL_PLANE is set)", pytrace=False)
    pytest.skip(f"{msg} (set URUMI_REQUIRE_BROWSER=1 to fail instead)")


@pytest.fixture(scope="session")
def browser_tools() -> dict:
    chromium = os.environ.get("URUMI_CHROMIUM", "/usr/bin/chromium")
    node, npm = shutil.which("node"), shutil.which("npm")
    missing = [what for what, ok in (("node", node), ("npm", npm), (chromium, os.access(chromium, os.X_OK))) if not ok]
    if missing:
        _unavailable(f"browser test tools missing: {', '.join(missing)} (Debian: apt-get install chromium nodejs npm)")
    lock = HERE / "package-lock.json"
    installed = HERE / "node_modules" / ".package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        r = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE,
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            _unavailable(f"npm ci in {HERE} failed:\n{r.stdout}{r.stderr}")
    return {"node": node, "chromium": chromium}


class Dashboard:
    def __init__(self, urumi: Urumi):
        self.proc = subprocess.Popen(urumi_argv() + ["dashboard", "--no-open", "--port", "0", *urumi.target],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=urumi.env(),
                                     stdin=subprocess.DEVNULL)
        self.stderr: list[str] = []
        self.url = self._first_line(timeout=60)
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True).start()

    def _first_line(self, timeout: float) -> str:
        got: list[str] = []
        reader = threading.Thread(target=lambda: got.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not got or not got[0].startswith("http://127.0.0.1:"):
            self.proc.kill()
            raise AssertionError(f"no URL on the dashboard's first stdout line: {got!r}\n{self.proc.stderr.read()}")
        return got[0].strip()

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=20)


def test_dashboard_in_chromium(control_plane, browser_tools, tmp_path):
    urumi = Urumi(control_plane, tmp_path / "home")
    urumi.create("pre", timeout=300)  # made by the CLI before the dashboard starts: the list must show it
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    dashboard = Dashboard(urumi)
    token = dashboard.url.split("token=", 1)[1]
    env = {**urumi.env(), "URUMI_DASHBOARD_URL": dashboard.url, "URUMI_CLI": json.dumps(urumi_argv()),
           "URUMI_CLI_TARGET": json.dumps(urumi.target), "URUMI_PRE_STORE": "pre",
           "URUMI_ARTIFACTS": str(ARTIFACTS), "URUMI_CHROMIUM": browser_tools["chromium"]}
    try:
        run = subprocess.run([browser_tools["node"], str(HERE / "dashboard.test.mjs")], env=env, cwd=HERE,
                             capture_output=True, text=True, timeout=480)
    finally:
        code = dashboard.interrupt()
    sys.stderr.write(f"\nbrowser test output (screenshots in {ARTIFACTS}):\n{run.stdout}{run.stderr}\n")
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\ndashboard stderr:\n{''.join(dashboard.stderr)}"
    assert code == 0, f"Ctrl-C should exit 0, got {code}:\n{''.join(dashboard.stderr)}"
    log = "".join(dashboard.stderr)
    assert token not in log, "the token is never logged"
    assert "Traceback" not in log, log
    assert sorted(ARTIFACTS.glob("*.png")), "screenshots saved"
