"""tests/harness/run-suites, the scheduler behind `make test`, with small shell steps in place of
the builds and suites."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "harness" / "run-suites"


def load():
    loader = importlib.machinery.SourceFileLoader("run_suites", str(SCRIPT))
    spec = importlib.util.spec_from_loader("run_suites", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def sh(name, script, needs=()):
    return load().Step(name, ["sh", "-c", script], needs=needs)


def run(plan, tmp_path):
    module = load()
    runner = module.Runner(plan, tmp_path)
    return runner.run(), {s.name: s for s in plan}


def test_a_step_waits_for_what_it_needs_and_gets_the_docker_host(tmp_path, capsys):
    plan = [sh("docker", "sleep 0.3; echo 'docker-engine: ours'; echo DOCKER_HOST=unix:///tmp/x.sock"),
            sh("images", 'echo "host=$DOCKER_HOST"', needs=("docker",))]
    code, steps = run(plan, tmp_path)
    assert code == 0 and steps["images"].started >= steps["docker"].ended
    assert (tmp_path / "images.log").read_text() == "host=unix:///tmp/x.sock\n"
    out = capsys.readouterr().out
    assert "===== docker: passed" in out and "host=unix:///tmp/x.sock" in out


def test_independent_steps_run_side_by_side(tmp_path):
    plan = [sh("a", "sleep 1"), sh("b", "sleep 1")]
    code, steps = run(plan, tmp_path)
    assert code == 0
    assert steps["b"].started < steps["a"].ended and steps["a"].started < steps["b"].ended


def test_a_failure_skips_what_needs_it_runs_the_rest_and_fails_the_run(tmp_path, capsys):
    plan = [sh("build", "echo broken; exit 3"), sh("suite", "echo never", needs=("build",)),
            sh("unit", "echo fine")]
    code, steps = run(plan, tmp_path)
    assert code == 1
    assert steps["build"].state == "failed" and steps["build"].returncode == 3
    assert steps["suite"].state == "skipped" and steps["suite"].process is None
    assert steps["unit"].state == "passed"
    out = capsys.readouterr().out
    assert "suite: not run (build did not pass)" in out and "broken" in out


def test_go_download_lines_stay_in_the_log_only(tmp_path, capsys):
    plan = [sh("build", "echo 'go: downloading k8s.io/api v0.36.3'; echo 'go: added x v1'; echo compiled")]
    run(plan, tmp_path)
    block = capsys.readouterr().out.split("===== build: passed")[1]
    assert "compiled" in block and "k8s.io/api" not in block and "(2 go download lines are in" in block
    assert "go: downloading k8s.io/api" in (tmp_path / "build.log").read_text()


def test_only_selects_the_steps_and_what_they_need():
    module = load()
    names = [s.name for s in module.select(module.steps(), ["realcluster"])]
    assert names == ["testbin-tools", "testbin-kube", "docker", "kind-tools", "kind-dns-ingress", "kind-kube",
                     "kind-base", "kind-images", "realcluster"]
    assert [s.name for s in module.select(module.steps(), ["unit"])] == ["unit"]
    with pytest.raises(SystemExit, match="unknown step nope"):
        module.select(module.steps(), ["nope"])


def test_ctrl_c_stops_every_running_step(tmp_path):
    """A Ctrl-C at the terminal reaches the whole process group: the runner ends its steps (SIGINT,
    then SIGKILL after 30 s) and exits 130."""
    driver = tmp_path / "driver.py"
    driver.write_text(textwrap.dedent(f"""
        import importlib.machinery, importlib.util, sys
        loader = importlib.machinery.SourceFileLoader("run_suites", {str(SCRIPT)!r})
        spec = importlib.util.spec_from_loader("run_suites", loader)
        m = importlib.util.module_from_spec(spec); loader.exec_module(m)
        m.steps = lambda: [m.Step("slow", ["sleep", "60"]), m.Step("after", ["true"], needs=("slow",))]
        sys.argv = ["run-suites"]
        sys.exit(m.main())
    """))
    env = {**os.environ, "URUMI_TEST_LOGS": str(tmp_path / "logs")}
    proc = subprocess.Popen([sys.executable, str(driver)], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 20
        while not (tmp_path / "logs" / "slow.log").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.3)
        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, out
    assert "interrupted: stopping the running steps" in out
    assert "after" in out and "not run" in out
    leftover = subprocess.run(["pgrep", "-s", str(proc.pid), "sleep"], capture_output=True, text=True)
    assert leftover.stdout.strip() == ""


def test_after_waits_for_a_step_to_end_but_not_for_it_to_pass(tmp_path):
    module = load()
    plan = [sh("images", "sleep 0.5; exit 1"),
            module.Step("suites", ["true"], after=("images",)),
            module.Step("cluster", ["true"], needs=("images",))]
    code, steps = run(plan, tmp_path)
    assert code == 1
    assert steps["suites"].state == "passed" and steps["suites"].started >= steps["images"].ended
    assert steps["cluster"].state == "skipped"
    # --only leaves an `after` step out: the suites alone do not build images.
    assert [s.name for s in module.select(module.steps(), ["suites"])] == ["testbin-tools", "testbin-kube", "suites"]
