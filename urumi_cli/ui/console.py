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
    out_file, err_file = stdout or sys.stdout, stderr or sys.stderr
    # Off a terminal (CI logs, pipes) Rich would wrap at 80 columns and split URLs: don't.
    out_width = width or (None if out_file.isatty() else 200)
    err_width = width or (None if err_file.isatty() else 200)
    out = Console(file=out_file, no_color=no_color, width=out_width, soft_wrap=False)
    err = Console(file=err_file, stderr=True, no_color=no_color, width=err_width)
    return Consoles(out=out, err=err, quiet=quiet, debug=debug)
