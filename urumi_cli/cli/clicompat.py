"""The one place that reaches into Typer's vendored click (a private path of typer 0.27).

typer 0.27 ships click as `typer._click`; urumi needs its exception classes to print every
failure as one line. pyproject pins typer below 0.28 (0.28+ imports pydantic at start-up);
tests/unit/test_clicompat.py fails loudly if a Typer release moves these names.
"""

from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer._click.shell_completion import CompletionItem
from typer._click.types import ParamType

__all__ = ["ClickException", "CompletionItem", "NoArgsIsHelpError", "ParamType", "UsageError"]
