"""Progress reporters: the actions report steps and component states through this interface.

Rich live lines on a TTY; plain timestamped log lines on stderr otherwise (CI logs); nothing at
all for --quiet and -o json. Actions never print; they only call a reporter.
"""

from __future__ import annotations

import time
from typing import Protocol

from urumi_cli.models import ComponentState


class Reporter(Protocol):
    def step(self, key: str, text: str) -> None: ...

    def done(self, key: str, text: str | None = None, ok: bool = True) -> None: ...

    def components(self, states: list[ComponentState]) -> None: ...

    def close(self) -> None: ...


class SilentReporter:
    def step(self, key, text): pass

    def done(self, key, text=None, ok=True): pass

    def components(self, states): pass

    def close(self): pass


class LogReporter:
    """Non-TTY: one line per change, with elapsed seconds, on stderr."""

    def __init__(self, console):
        self.console = console
        self.start = time.monotonic()
        self.texts: dict[str, str] = {}
        self.last_components: dict[str, tuple] = {}

    def _line(self, text: str) -> None:
        self.console.print(f"[{time.monotonic() - self.start:6.1f}s] {text}", highlight=False, markup=False,
                           soft_wrap=True)

    def step(self, key, text):
        self.texts[key] = text
        self._line(f"... {text}")

    def done(self, key, text=None, ok=True):
        self._line(f"{'ok  ' if ok else 'FAIL'} {text or self.texts.get(key, key)}")

    def components(self, states):
        for st in states:
            sig = (st.ready, st.detail, st.failed)
            if self.last_components.get(st.name) != sig:
                self.last_components[st.name] = sig
                mark = "ready" if st.ready else ("FAILED" if st.failed else "waiting")
                self._line(f"    {st.name:<9} {mark}: {st.failed or st.detail}")

    def close(self):
        pass


class RichReporter:
    """TTY: a live block, one line per step and per component, with a spinner and elapsed time."""

    def __init__(self, console):
        from rich.live import Live

        self.console = console
        self.start = time.monotonic()
        self.steps: dict[str, tuple[str, str, float]] = {}  # key -> (state, text, started)
        self.comp: dict[str, ComponentState] = {}
        self.comp_started = time.monotonic()
        self.comp_ready_at: dict[str, float] = {}  # freezes a component's clock when it is ready
        self.closed = False
        self.live = Live(self._render(), console=console, refresh_per_second=8, transient=False,
                         get_renderable=self._render)
        self.live.start()

    def _render(self):
        from rich.spinner import Spinner
        from rich.table import Table
        from rich.text import Text

        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=2)
        grid.add_column()
        grid.add_column(justify="right", style="dim")
        now = time.monotonic()
        for state, text, started in self.steps.values():
            if state == "run" and self.closed:
                state = "fail"  # closed while still running: the step raised, it did not finish
            icon = Spinner("dots") if state == "run" else ("[green]✓[/]" if state == "ok" else "[red]✗[/]")
            grid.add_row(icon, Text(text), f"{now - started:.0f}s" if state == "run" else "")
        for st in self.comp.values():
            if st.ready:
                icon = "[green]✓[/]"
            elif st.failed or self.closed:  # closed while not ready: it did not make it
                icon = "[red]✗[/]"
            else:
                icon = Spinner("dots")
            until = self.comp_ready_at.get(st.name, now)
            line = Text(f"{st.name:<9} ")
            line.append(st.failed or st.detail, style="dim")  # text from the cluster: data, not markup
            grid.add_row(icon, line, f"{until - self.comp_started:.0f}s")
        return grid

    def step(self, key, text):
        self.steps[key] = ("run", text, time.monotonic())

    def done(self, key, text=None, ok=True):
        _, old, started = self.steps.get(key, ("run", key, time.monotonic()))
        self.steps[key] = ("ok" if ok else "fail", text or old, started)

    def components(self, states):
        if not self.comp:
            self.comp_started = time.monotonic()
        for st in states:
            self.comp[st.name] = st
            if st.ready:
                self.comp_ready_at.setdefault(st.name, time.monotonic())
            else:
                self.comp_ready_at.pop(st.name, None)

    def close(self):
        self.closed = True
        self.live.refresh()
        self.live.stop()


def make_reporter(consoles, *, silent: bool) -> Reporter:
    if silent or consoles.quiet:
        return SilentReporter()
    if consoles.err.is_terminal:
        return RichReporter(consoles.err)
    return LogReporter(consoles.err)
