"""charts/medusa/files/scripts/setup.sh on its own, against fake `node` (the probes), `npm` and
`medusa` executables backed by a state directory: install and build once, migrations, seed,
admin, the ready marker, verification, and the failures that must fail the Job."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from chartlib import CHARTS, bash, write_executable

SCRIPTS = CHARTS / "medusa" / "files" / "scripts"
SETUP = SCRIPTS / "setup.sh"

# node: only `node .../probe.js tcp HOST PORT` and `node .../probe.js http URL HEADER...` are used.
# Knobs: down_<host> (a TCP target that refuses), http_code (default 200).
FAKE_NODE = r"""#!/usr/bin/env bash
S=$FAKE_STATE
printf 'node %s\n' "${*:2}" >>"$S/calls.log"
case "$(basename "$1") $2" in
  "probe.js tcp") [[ ! -f "$S/down_$3" ]]; exit ;;
  "probe.js http")
    code=200; [[ -f "$S/http_code" ]] && code=$(cat "$S/http_code")
    echo "$code"; [[ "$code" != 000 ]]; exit ;;
esac
echo "fake node: unexpected $*" >&2; exit 64
"""

# npm install: "downloads" the fake medusa CLI into node_modules/.bin. Knob: npm_fails.
FAKE_NPM = r"""#!/usr/bin/env bash
S=$FAKE_STATE
printf 'npm %s (in %s)\n' "$*" "$PWD" >>"$S/calls.log"
[[ "$1" == install ]] || { echo "fake npm: unexpected $*" >&2; exit 64; }
if [[ -f "$S/npm_fails" ]]; then echo "npm ERR! network ETIMEDOUT" >&2; exit 1; fi
[[ -f package.json && -f medusa-config.ts ]] || { echo "npm ERR! no package.json" >&2; exit 1; }
mkdir -p node_modules/.bin
cp "$FAKE_MEDUSA" node_modules/.bin/medusa
"""

# medusa: build / db:migrate / exec SCRIPT. Knobs: migrate_fails, verify_fails.
FAKE_MEDUSA = r"""#!/usr/bin/env bash
S=$FAKE_STATE
printf 'medusa %s (in %s, NODE_ENV=%s, NODE_PATH=%s)\n' "$*" "$PWD" "${NODE_ENV:-}" "${NODE_PATH:-}" >>"$S/calls.log"
case "$1" in
  build) mkdir -p .medusa/server && echo '{}' >.medusa/server/package.json ;;
  db:migrate) [[ ! -f "$S/migrate_fails" ]] || { echo "relation does not exist" >&2; exit 1; } ;;
  exec)
    case "$(basename "$2")" in
      seed.js) printf pk_test_123 >"$PUBLISHABLE_KEY_FILE" ;;
      admin.js) [[ -n "$ADMIN_EMAIL" && -n "$ADMIN_PASSWORD" ]] || exit 1 ;;
      verify.js) [[ ! -f "$S/verify_fails" ]] || { echo "store is incomplete, missing: region Europe" >&2; exit 1; } ;;
      *) exit 64 ;;
    esac ;;
  *) echo "fake medusa: unexpected $*" >&2; exit 64 ;;
esac
"""


@pytest.fixture
def env(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    write_executable(bin_dir / "node", FAKE_NODE)
    write_executable(bin_dir / "npm", FAKE_NPM)
    fake_medusa = write_executable(tmp_path / "fake-medusa", FAKE_MEDUSA)
    starter = tmp_path / "starter"
    starter.mkdir()
    for name in ("package.json", "medusa-config.ts", "tsconfig.json"):
        shutil.copy(CHARTS / "medusa" / "files" / "starter" / name, starter / name)
    scripts = tmp_path / "scripts"
    shutil.copytree(SCRIPTS, scripts)
    (scripts / "seed.json").write_text('{"region": {"name": "Europe"}, "products": []}')
    (tmp_path / "state").mkdir()
    (tmp_path / "app").mkdir()
    (tmp_path / "tmp").mkdir()
    key = "2.21.2-abc123"
    project = tmp_path / "app" / f"medusa-{key}"
    return {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "FAKE_STATE": str(tmp_path / "state"),
        "FAKE_MEDUSA": str(fake_medusa),
        "TMPDIR": str(tmp_path / "tmp"),
        "PREBUILT": "false",
        "APP_ROOT": str(tmp_path / "app"),
        "PROJECT_DIR": str(project),
        "SERVER_DIR": str(project / ".medusa" / "server"),
        "READY_MARKER": str(tmp_path / "app" / ".urumi" / f"ready-{key}"),
        "STARTER_DIR": str(starter),
        "SCRIPTS_DIR": str(scripts),
        "NPM_REGISTRY": "https://registry.npmjs.org/",
        "DB_HOST": "shop-postgresql",
        "REDIS_HOST": "shop-redis",
        "WEB_SERVICE_URL": "http://shop-medusa:9000",
        "STORE_HOST": "shop.localhost",
        "STORE_URL": "http://shop.localhost",
        "ADMIN_EMAIL": "admin@shop.localhost",
        "ADMIN_PASSWORD": "s3cret-pw",
        "DB_WAIT_TIMEOUT": "5",
        "DB_WAIT_INTERVAL": "0.1",
        "HTTP_WAIT_TIMEOUT": "1",
        "HTTP_WAIT_INTERVAL": "0.1",
    }


def run_setup(env: dict, **overrides) -> subprocess.CompletedProcess:
    return subprocess.run([bash(), str(SETUP)], env={**env, **overrides}, capture_output=True, text=True,
                          timeout=60, cwd=env["TMPDIR"])


def calls(env: dict) -> list[str]:
    log = Path(env["FAKE_STATE"]) / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def knob(env: dict, name: str, content: str = "") -> None:
    (Path(env["FAKE_STATE"]) / name).write_text(content)


def test_script_never_swallows_failures():
    for script in SCRIPTS.glob("*.sh"):
        text = script.read_text()
        assert "|| true" not in text and "exit 0" not in text, script.name
        assert "set -Eeuo pipefail" in text, script.name


def test_happy_path_installs_builds_migrates_seeds_and_verifies(env):
    result = run_setup(env)
    assert result.returncode == 0, result.stderr
    log = calls(env)
    project, server = env["PROJECT_DIR"], env["SERVER_DIR"]
    steps = [c.split(" (in ")[0] for c in log if c.startswith(("npm", "medusa"))]
    assert steps == [
        "npm install --no-audit --no-fund --loglevel=error --registry=https://registry.npmjs.org/",
        "medusa build",
        "medusa db:migrate",
        f"medusa exec {env['SCRIPTS_DIR']}/seed.js",
        f"medusa exec {env['SCRIPTS_DIR']}/admin.js",
        f"medusa exec {env['SCRIPTS_DIR']}/verify.js",
    ]
    assert f"(in {project})" in next(c for c in log if c.startswith("npm install"))
    # Migrations and scripts run in the built server, in production mode, with its node_modules.
    migrate = next(c for c in log if c.startswith("medusa db:migrate"))
    assert f"in {server}, NODE_ENV=production, NODE_PATH={server}/node_modules" in migrate
    assert "NODE_ENV=," in next(c for c in log if c.startswith("medusa build"))
    assert Path(server, "node_modules").resolve() == Path(project, "node_modules")
    assert Path(project, ".urumi-built").exists() and Path(env["READY_MARKER"]).exists()
    # Probes: both services, then the server through its Service with the Host header and the key.
    assert "node tcp shop-postgresql 5432" in log and "node tcp shop-redis 6379" in log
    http = [c for c in log if c.startswith("node http")]
    assert [c.split()[2] for c in http] == [
        "http://shop-medusa:9000/health", "http://shop-medusa:9000/app/", "http://shop-medusa:9000/store/products?limit=1",
    ]
    assert all("Host: shop.localhost" in c and "x-publishable-api-key: pk_test_123" in c for c in http)
    assert "store http://shop.localhost is ready" in result.stderr


def test_second_run_reuses_the_build(env):
    assert run_setup(env).returncode == 0
    Path(env["FAKE_STATE"], "calls.log").unlink()
    result = run_setup(env)
    assert result.returncode == 0, result.stderr
    log = calls(env)
    assert not [c for c in log if c.startswith(("npm", "medusa build"))]
    assert [c for c in log if c.startswith("medusa db:migrate")]
    assert "already installed and built" in result.stderr


def test_new_build_replaces_the_old_one(env, tmp_path):
    old = Path(env["APP_ROOT"], "medusa-2.20.0-old")
    old.mkdir()
    (old / ".urumi-built").write_text("")
    result = run_setup(env)
    assert result.returncode == 0, result.stderr
    assert not old.exists()
    assert Path(env["PROJECT_DIR"]).exists()


def test_half_finished_build_is_started_over(env):
    project = Path(env["PROJECT_DIR"])
    (project / "node_modules" / "junk").mkdir(parents=True)
    result = run_setup(env)
    assert result.returncode == 0, result.stderr
    assert not (project / "node_modules" / "junk").exists()


def test_prebuilt_image_installs_nothing(env, tmp_path):
    server = tmp_path / "image-server"
    server.mkdir()
    result = run_setup(env, PREBUILT="true", PROJECT_DIR="", SERVER_DIR=str(server), MEDUSA_CLI=env["FAKE_MEDUSA"])
    assert result.returncode == 0, result.stderr
    log = calls(env)
    assert not [c for c in log if c.startswith(("npm", "medusa build"))]
    assert f"in {server}, NODE_ENV=production" in next(c for c in log if c.startswith("medusa db:migrate"))
    assert Path(env["READY_MARKER"]).exists()


@pytest.mark.parametrize("host,name", [("shop-postgresql", "PostgreSQL"), ("shop-redis", "Redis")])
def test_service_wait_gives_up_after_its_deadline(env, host, name):
    knob(env, f"down_{host}")
    started = time.monotonic()
    result = run_setup(env, DB_WAIT_TIMEOUT="1")
    assert result.returncode != 0
    assert f"{name} ({host}:" in result.stderr and "within 1s" in result.stderr
    assert time.monotonic() - started < 10
    assert not [c for c in calls(env) if c.startswith(("npm", "medusa"))]
    assert not Path(env["READY_MARKER"]).exists()


@pytest.mark.parametrize("knob_name,message", [
    ("npm_fails", "ETIMEDOUT"),
    ("migrate_fails", "relation does not exist"),
    ("verify_fails", "store is incomplete"),
])
def test_failures_fail_the_job(env, knob_name, message):
    knob(env, knob_name)
    result = run_setup(env)
    assert result.returncode != 0
    assert message in result.stderr
    if knob_name == "npm_fails":
        assert not Path(env["PROJECT_DIR"], ".urumi-built").exists()
    if knob_name != "verify_fails":
        # The server keeps waiting: it would only crash on an unmigrated database.
        assert not Path(env["READY_MARKER"]).exists()


def test_verify_fails_when_the_server_never_answers(env):
    knob(env, "http_code", "503")
    result = run_setup(env)
    assert result.returncode != 0
    assert "GET /health (Host: shop.localhost) answered 503" in result.stderr
    assert "3 check(s) failed" in result.stderr


def test_js_scripts_parse():
    node = shutil.which("node")
    if not node:
        pytest.skip("node is not installed")
    for script in sorted(SCRIPTS.glob("*.js")):
        result = subprocess.run([node, "--check", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, f"{script.name}: {result.stderr}"


def test_probe_reports_status_and_refusals_on_loopback(tmp_path):
    """probe.js for real against a loopback server: Host header sent, status printed."""
    node = shutil.which("node")
    if not node:
        pytest.skip("node is not installed")
    server = tmp_path / "server.js"
    server.write_text(
        "const s = require('http').createServer((q, r) => { r.writeHead(q.headers.host === 'shop.localhost' ? 200 : 421); r.end() })\n"
        "s.listen(0, '127.0.0.1', () => { console.log(s.address().port) })\n"
    )
    proc = subprocess.Popen([node, str(server)], stdout=subprocess.PIPE, text=True)
    try:
        port = proc.stdout.readline().strip()
        probe = [node, str(SCRIPTS / "probe.js")]
        ok = subprocess.run([*probe, "http", f"http://127.0.0.1:{port}/health", "Host: shop.localhost"],
                            capture_output=True, text=True, timeout=30)
        assert (ok.returncode, ok.stdout.strip()) == (0, "200")
        wrong = subprocess.run([*probe, "http", f"http://127.0.0.1:{port}/health"], capture_output=True, text=True, timeout=30)
        assert wrong.stdout.strip() == "421"
        assert subprocess.run([*probe, "tcp", "127.0.0.1", port], timeout=30).returncode == 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    refused = subprocess.run([node, str(SCRIPTS / "probe.js"), "tcp", "127.0.0.1", port], timeout=30)
    assert refused.returncode == 1
