"""Rich consoles for stdout (data) and stderr (progress, messages, errors). NO_COLOR is honoured."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass


@dataclass
class Consoles:
    out: "object"
    err: "object"
    quiet: bool = False
    debug: bool = False

    def note(self, text: str) -> None:
        if not self.quiet:
            self.err.print(text, highlight=False)

    def warn(self, text: str) -> None:
        self.err.print(f"[yellow]warning:[/] {escape(text)}", highlight=False)

    def debug_line(self, text: str) -> None:
        if self.debug:
            self.err.print(f"[dim]debug: {escape(text)}[/]", highlight=False)


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def make_consoles(*, quiet: bool = False, debug: bool = False, width: int | None = None,
                  stdout=None, stderr=None) -> Consoles:
    from rich.console import Console

    no_color = bool(os.environ.get("NO_COLOR"))
    out = Console(file=stdout or sys.stdout, no_color=no_color, width=width, soft_wrap=False)
    err = Console(file=stderr or sys.stderr, stderr=True, no_color=no_color, width=width)
    return Consoles(out=out, err=err, quiet=quiet, debug=debug)
