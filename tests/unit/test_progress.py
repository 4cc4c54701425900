"""The progress reporters at a pinned width and a scripted clock: the plain log lines (CI), the
Rich live block (a terminal), and make_reporter's choice between them and silence."""

from __future__ import annotations

import io
import re
import types

import pytest
from rich.console import Console

from urumi_cli.models import ComponentState
from urumi_cli.ui import progress
from urumi_cli.ui.console import Consoles, make_consoles
from urumi_cli.ui.progress import LogReporter, RichReporter, SilentReporter, make_reporter

pytestmark = pytest.mark.timeout(20)

MARKUP = "exceeded quota [/x] for [red]pods[/red] [bold]"  # text from the cluster: never markup


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(progress, "time", types.SimpleNamespace(monotonic=clock))
    return clock


def console(clock: Clock, *, terminal: bool) -> Console:
    return Console(file=io.StringIO(), width=80, force_terminal=terminal, color_system=None, get_time=clock)


def state(name, ready=False, detail="waiting", failed=None) -> ComponentState:
    return ComponentState(name, ready=ready, detail=detail, failed=failed)


# -- the plain log (not a terminal) ------------------------------------------------------------
@pytest.fixture
def log(clock):
    con = console(clock, terminal=False)
    return LogReporter(con), con


def lines(con: Console) -> list[str]:
    return con.file.getvalue().splitlines()


def test_log_steps_are_one_timestamped_line_each(log, clock):
    reporter, con = log
    reporter.step("cluster", "checking cluster kind-urumi")
    clock.tick(1.25)
    reporter.done("cluster")
    reporter.step("helm", "helm upgrade --install shop")
    clock.tick(40)
    reporter.done("helm", "helm applied woocommerce chart")
    reporter.step("ns", "deleting namespace")
    clock.tick(0.5)
    reporter.done("ns", "namespace still terminating", ok=False)
    reporter.done("never-started")
    reporter.close()
    assert lines(con) == [
        "[   0.0s] ... checking cluster kind-urumi",
        "[   1.2s] ok   checking cluster kind-urumi",
        "[   1.2s] ... helm upgrade --install shop",
        "[  41.2s] ok   helm applied woocommerce chart",
        "[  41.2s] ... deleting namespace",
        "[  41.8s] FAIL namespace still terminating",
        "[  41.8s] ok   never-started",
    ]


def test_log_components_print_only_what_changed(log, clock):
    reporter, con = log
    reporter.components([state("database", detail="0/1 ready"), state("web", detail="0/1 ready")])
    clock.tick(3)
    reporter.components([state("database", True, "1/1 ready"), state("web", detail="0/1 ready")])
    reporter.components([state("database", True, "1/1 ready"), state("web", detail="0/1 ready")])
    clock.tick(2)
    reporter.components([state("database", True, "1/1 ready"),
                         state("web", detail="0/1 ready", failed="CrashLoopBackOff: app exited 1")])
    assert lines(con) == [
        "[   0.0s]     database  waiting: 0/1 ready",
        "[   0.0s]     web       waiting: 0/1 ready",
        "[   3.0s]     database  ready: 1/1 ready",
        "[   5.0s]     web       FAILED: CrashLoopBackOff: app exited 1",
    ]


def test_log_shows_cluster_text_verbatim_and_unwrapped(log):
    reporter, con = log
    long = "x" * 120
    reporter.step("a", MARKUP)
    reporter.components([state("web", detail=MARKUP), state("setup", failed=long)])
    assert lines(con) == [
        f"[   0.0s] ... {MARKUP}",
        f"[   0.0s]     web       waiting: {MARKUP}",
        f"[   0.0s]     setup     FAILED: {long}",  # one line, though wider than the console
    ]


# -- the Rich live block (a terminal) ----------------------------------------------------------
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def frame(con: Console, height: int) -> list[str]:
    """The block as last drawn: Live redraws by moving the cursor up, so the last `height`
    lines of the output (control codes removed, each redraw starts after a carriage return)."""
    text = ANSI.sub("", con.file.getvalue())
    drawn = [line.rstrip() for line in re.split(r"[\r\n]", text) if line.strip()]
    return drawn[-height:]


@pytest.fixture
def rich(clock):
    con = console(clock, terminal=True)
    reporter = RichReporter(con)
    yield reporter, con
    if not reporter.closed:
        reporter.close()


def test_rich_steps_spin_with_their_clock_then_tick(rich, clock):
    reporter, con = rich
    reporter.step("cluster", "checking cluster kind-urumi")
    clock.tick(2)
    reporter.done("cluster", "cluster kind-urumi reachable")
    reporter.step("helm", "helm upgrade --install shop")
    clock.tick(12)
    reporter.live.refresh()
    assert frame(con, 2) == ["✓  cluster kind-urumi reachable",
                             "⠋  helm upgrade --install shop  12s"]
    reporter.done("helm", ok=False)
    reporter.done("lock")  # done without step: shown by its key
    reporter.close()
    assert frame(con, 3) == ["✓  cluster kind-urumi reachable",
                             "✗  helm upgrade --install shop",
                             "✓  lock"]


def test_rich_component_clock_counts_from_the_first_states_and_freezes_when_ready(rich, clock):
    reporter, con = rich
    reporter.step("wait", "waiting for store shop")
    clock.tick(5)  # the components' clock starts at their first report, not at the first step
    reporter.components([state("database", detail="0/1 ready"), state("web", detail="0/1 ready"),
                         state("setup", detail="job running")])
    clock.tick(3)
    reporter.components([state("database", True, "1/1 ready"), state("web", detail="0/1 ready"),
                         state("setup", detail="job running")])
    clock.tick(7)
    reporter.components([state("database", True, "1/1 ready"), state("web", True, "1/1 ready"),
                         state("setup", detail="job running")])
    clock.tick(4)
    reporter.live.refresh()
    assert frame(con, 3) == ["✓  database  1/1 ready     3s",
                             "✓  web       1/1 ready    10s",
                             "⠋  setup     job running  14s"]
    clock.tick(1)
    reporter.components([state("database", detail="0/1 ready (pod restarted)"), state("web", True, "1/1 ready"),
                         state("setup", detail="job running")])  # not ready again: its clock runs on
    reporter.live.refresh()
    assert frame(con, 3)[0].endswith("15s")


def test_rich_close_crosses_components_that_did_not_make_it(rich, clock):
    reporter, con = rich
    reporter.components([state("database", True, "1/1 ready"), state("web", detail="0/1 ready"),
                         state("setup", failed="BackoffLimitExceeded: Job has reached the backoff limit")])
    clock.tick(30)
    reporter.close()
    assert frame(con, 3) == ["✓  database  1/1 ready                                                0s",
                             "✗  web       0/1 ready                                               30s",
                             "✗  setup     BackoffLimitExceeded: Job has reached the backoff limit 30s"]
    assert ANSI.sub("", con.file.getvalue()).endswith("30s\n")  # the block stays on screen; the prompt goes below it
    assert not reporter.live.is_started


def test_rich_close_crosses_steps_that_did_not_finish(rich, clock):
    reporter, con = rich
    reporter.step("helm", "helm upgrade --install shop")
    clock.tick(9)
    reporter.close()
    assert frame(con, 1)[0].startswith("✗  helm upgrade --install shop")  # a cross, not a frozen spinner


def test_rich_shows_cluster_text_verbatim(rich, clock):
    reporter, con = rich
    reporter.step("a", MARKUP)
    reporter.components([state("web", detail=MARKUP), state("setup", failed="[/x] [red]boom[/]")])
    reporter.done("a", f"done: {MARKUP}")
    reporter.close()
    assert frame(con, 3) == [f"✓  done: {MARKUP}",
                             f"✗  web       {MARKUP} 0s",
                             "✗  setup     [/x] [red]boom[/]                              0s"]


def test_rich_block_fits_the_console_width(rich, clock):
    reporter, con = rich
    reporter.step("a", "word " * 30)
    reporter.done("a")
    reporter.close()
    drawn = frame(con, 2)
    assert all(len(line) <= 80 for line in drawn), drawn
    assert " ".join(drawn).split() == ["✓"] + ["word"] * 30  # wrapped, nothing cut


# -- make_reporter -----------------------------------------------------------------------------
def consoles(clock, *, terminal: bool, quiet: bool = False) -> Consoles:
    return Consoles(out=console(clock, terminal=False), err=console(clock, terminal=terminal), quiet=quiet)


@pytest.mark.parametrize("terminal,quiet,silent,kind", [
    (True, False, False, RichReporter),
    (False, False, False, LogReporter),
    (True, False, True, SilentReporter),  # -o json/yaml
    (True, True, False, SilentReporter),  # --quiet
    (False, True, True, SilentReporter),
])
def test_make_reporter_chooses_by_terminal_quiet_and_silent(clock, terminal, quiet, silent, kind):
    cons = consoles(clock, terminal=terminal, quiet=quiet)
    reporter = make_reporter(cons, silent=silent)
    try:
        assert type(reporter) is kind
        if kind is not RichReporter:
            reporter.step("a", "b")
            reporter.components([state("web")])
            reporter.done("a")
        if kind is SilentReporter:
            assert cons.err.file.getvalue() == ""
    finally:
        reporter.close()
    assert cons.out.file.getvalue() == ""  # progress never goes to stdout


def test_make_reporter_off_a_terminal_logs_to_stderr(clock):
    out, err = io.StringIO(), io.StringIO()
    reporter = make_reporter(make_consoles(stdout=out, stderr=err), silent=False)
    assert isinstance(reporter, LogReporter)
    reporter.step("a", "checking cluster")
    assert err.getvalue() == "[   0.0s] ... checking cluster\n" and out.getvalue() == ""
