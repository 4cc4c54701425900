"""SubprocessRunner with real, tiny Python children: argv only, graceful stop on timeout."""

from __future__ import annotations

import os
import sys
import textwrap
import time

import pytest

from urumi_cli.adapters.runner import CommandError, SubprocessRunner
from urumi_cli.errors import TimedOut, ToolMissing

pytestmark = pytest.mark.timeout(60)
PY = sys.executable


def test_argv_is_passed_literally_never_through_a_shell(tmp_path):
    marker = tmp_path / "pwned"
    hostile = f"shop; touch {marker} && echo $(id) `id` | cat > {marker}"
    result = SubprocessRunner().run([PY, "-c", "import sys; print(sys.argv[1])", hostile], timeout=30)
    assert result.stdout == hostile + "\n"
    assert not marker.exists()


def test_non_zero_exit_raises_command_error_with_argv_and_output():
    argv = [PY, "-c", "import sys; print('partial'); print('Error: it broke', file=sys.stderr); sys.exit(3)"]
    with pytest.raises(CommandError) as info:
        SubprocessRunner().run(argv, timeout=30)
    err = info.value
    assert err.argv == argv and err.returncode == 3
    assert err.stdout == "partial\n" and "Error: it broke" in err.stderr
    assert "Error: it broke" in err.summary() and "exited with 3" in err.summary()
    assert err.command.startswith(PY)


def test_check_false_returns_the_result():
    result = SubprocessRunner().run([PY, "-c", "raise SystemExit(4)"], timeout=30, check=False)
    assert result.returncode == 4 and not result.ok


def test_input_text_reaches_stdin_and_env_is_used():
    result = SubprocessRunner().run(
        [PY, "-c", "import os, sys; print(sys.stdin.read().upper(), os.environ['URUMI_T'])"],
        timeout=30, input_text="values", env={**os.environ, "URUMI_T": "x1"})
    assert result.stdout.strip() == "VALUES x1"


def test_missing_binary_is_tool_missing_with_a_hint():
    with pytest.raises(ToolMissing) as info:
        SubprocessRunner().run(["urumi-no-such-tool-0b9f"], timeout=5)
    assert "urumi-no-such-tool-0b9f not found" in info.value.message
    assert info.value.hint


def test_missing_known_tool_gets_its_install_hint(tmp_path):
    with pytest.raises(ToolMissing) as info:
        SubprocessRunner().run(["helm", "version"], timeout=5, env={"PATH": str(tmp_path)})
    assert info.value.message == "helm not found on PATH"
    assert "helm.sh" in info.value.hint


TRAPS_TERM = textwrap.dedent("""
    import signal, sys, time
    marker = sys.argv[1]
    def on_term(signum, frame):
        with open(marker, "w") as f:
            f.write("TERM")
        sys.exit(0)
    signal.signal(signal.SIGTERM, on_term)
    time.sleep(60)
""")


def test_timeout_sends_sigterm_and_lets_the_child_clean_up(tmp_path):
    marker = tmp_path / "terminated"
    runner = SubprocessRunner(grace_seconds=10)
    started = time.monotonic()
    with pytest.raises(TimedOut) as info:
        runner.run([PY, "-c", TRAPS_TERM, str(marker)], timeout=1.5)
    elapsed = time.monotonic() - started
    # The handler ran: the child got SIGTERM, not SIGKILL, and was not kept waiting for the grace period.
    assert marker.read_text() == "TERM"
    assert elapsed < 8
    assert "did not finish within" in info.value.message and info.value.hint


IGNORES_TERM = textwrap.dedent("""
    import os, signal, sys, time
    marker, pidfile = sys.argv[1], sys.argv[2]
    def on_term(signum, frame):
        with open(marker, "w") as f:
            f.write("TERM")  # noted, and ignored
    signal.signal(signal.SIGTERM, on_term)
    with open(pidfile, "w") as f:
        f.write(str(os.getpid()))
    while True:
        time.sleep(0.05)
""")


def test_a_child_ignoring_sigterm_is_killed_after_the_grace_period(tmp_path):
    marker, pidfile = tmp_path / "terminated", tmp_path / "pid"
    runner = SubprocessRunner(grace_seconds=0.5)
    started = time.monotonic()
    with pytest.raises(TimedOut):
        runner.run([PY, "-c", IGNORES_TERM, str(marker), str(pidfile)], timeout=1.5)
    elapsed = time.monotonic() - started
    assert marker.read_text() == "TERM"  # SIGTERM came first
    assert elapsed >= 1.5 + 0.5 - 0.05  # then the whole grace period
    assert elapsed < 10
    pid = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):  # and then it was killed (and reaped)
        os.kill(pid, 0)


def test_popen_gets_an_argv_list_without_a_shell_in_its_own_session(monkeypatch):
    import subprocess

    seen = []
    real_popen = subprocess.Popen

    def spy(*args, **kwargs):
        seen.append((args, kwargs))
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", spy)
    SubprocessRunner().run([PY, "-c", "pass"], timeout=30)
    (args, kwargs), = seen
    assert args[0] == [PY, "-c", "pass"]
    assert not kwargs.get("shell", False)
    assert kwargs.get("start_new_session") is True  # Ctrl-C reaches urumi, which decides how the child stops


def test_ctrl_c_stops_the_child_with_sigterm_and_raises_interrupted(tmp_path):
    import signal
    import threading

    from urumi_cli.errors import Interrupted

    marker = tmp_path / "terminated"
    main = threading.main_thread().ident
    timer = threading.Timer(1.0, signal.pthread_kill, args=(main, signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(Interrupted) as info:
            SubprocessRunner(grace_seconds=10).run([PY, "-c", TRAPS_TERM, str(marker)], timeout=30)
    finally:
        timer.cancel()
    assert marker.read_text() == "TERM"
    assert info.value.exit_code == 130
