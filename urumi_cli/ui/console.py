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


class _LazyConsole:
    """A rich Console built on first use. Importing rich costs more than a `store list -o json`
    does in all, and machine output only needs `.file` (ui/output.py writes JSON/YAML to it)."""

    def __init__(self, **kwargs):
        self._kwargs = kwargs
        self._console = None

    @property
    def file(self):
        return self._kwargs["file"] if self._console is None else self._console.file

    def _get(self):
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._kwargs)
        return self._console

    # `with console:` (rich's Live uses it) looks these up on the type, not through __getattr__.
    def __enter__(self):
        return self._get().__enter__()

    def __exit__(self, *exc):
        return self._get().__exit__(*exc)

    def __getattr__(self, name):  # only for what this class does not define: delegate to rich
        if name.startswith("__") or name in ("_kwargs", "_console"):
            raise AttributeError(name)
        return getattr(self._get(), name)


def make_consoles(*, quiet: bool = False, debug: bool = False, width: int | None = None,
                  stdout=None, stderr=None) -> Consoles:
    no_color = bool(os.environ.get("NO_COLOR"))
    out_file, err_file = stdout or sys.stdout, stderr or sys.stderr
    # Off a terminal (CI logs, pipes) Rich would wrap at 80 columns and split URLs: don't.
    out_width = width or (None if out_file.isatty() else 200)
    err_width = width or (None if err_file.isatty() else 200)
    out = _LazyConsole(file=out_file, no_color=no_color, width=out_width, soft_wrap=False)
    err = _LazyConsole(file=err_file, stderr=True, no_color=no_color, width=err_width)
    return Consoles(out=out, err=err, quiet=quiet, debug=debug)
