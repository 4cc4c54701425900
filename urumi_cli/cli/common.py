"""Options shared by commands, and how a command turns them into a Target and a writer."""

from __future__ import annotations

import contextlib
from typing import Annotated, Optional

import typer

from urumi_cli import config
from urumi_cli.cli.clicompat import CompletionItem, ParamType
from urumi_cli.errors import EnvironmentProblem, UsageError, shown
from urumi_cli.models import Target

class Choices(ParamType):
    """A fixed set of values, shown as `[a|b|c]` in --help and offered by shell completion, while
    the value is still checked by urumi's own validation (its one-line message and hint)."""

    name = "choice"

    def __init__(self, values):
        self._values = values  # a callable: engine names are only listed when help or completion asks

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(self._values())

    def get_metavar(self, param, ctx) -> str:
        return f"[{'|'.join(self.choices)}]"

    def convert(self, value, param, ctx):
        return value

    def shell_complete(self, ctx, param, incomplete: str):
        return [CompletionItem(value) for value in self.choices if value.startswith(incomplete)]


def _store_types() -> tuple[str, ...]:
    from urumi_cli.actions.engines import engines

    return tuple(engines())


def _formats() -> tuple[str, ...]:
    from urumi_cli.ui.output import FORMATS

    return FORMATS


def _components() -> tuple[str, ...]:
    from urumi_cli.models import COMPONENT_ORDER

    return COMPONENT_ORDER


STORE_TYPES = Choices(_store_types)
ENVS = Choices(lambda: config.ENVS)
FORMATS = Choices(_formats)
COMPONENTS = Choices(_components)


def complete_store_name(ctx: typer.Context, incomplete: str) -> list[str]:
    """Store names from the local registry (no cluster call: completion must be instant); those of
    --context when it was typed already, else of every context."""
    try:
        from urumi_cli.adapters.registry import Registry

        context = (ctx.params or {}).get("context")
        stores = Registry(config.Settings.from_env().registry_path).list_stores(context)
    except Exception:  # a completion never prints an error into the user's command line
        return []
    return [name for name in sorted({s.name for s in stores}) if name.startswith(incomplete)]


KubeconfigOpt = Annotated[Optional[str], typer.Option(
    "--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)", show_default=False)]
ContextOpt = Annotated[Optional[str], typer.Option(
    "--context", help="kube context (default: the --kubeconfig file's current context if given, "
                      "else kind-urumi from `urumi cluster up`)", show_default=False)]
OutputOpt = Annotated[str, typer.Option("--output", "-o", click_type=FORMATS, help="output format")]
TimeoutOpt = Annotated[Optional[str], typer.Option(
    "--timeout", help="e.g. 90s, 10m, 1h30m (create: 10m, delete: 5m, test: 5m)", show_default=False)]


def resolve_target(kubeconfig: str | None, context: str | None) -> Target:
    """Never silently whatever context is current: --context, the explicit file's own current
    context, or the context `urumi cluster up` creates."""
    from urumi_cli.validation import validate_context_name

    if context:
        return Target(context=validate_context_name(context), kubeconfig=kubeconfig)
    if kubeconfig:
        from urumi_cli.adapters.kubeconfig import current_context

        from pathlib import Path

        path = Path(kubeconfig).expanduser()
        try:
            is_file, is_dir = path.is_file(), path.is_dir()
        except (OSError, ValueError):  # a name too long for the file system, a NUL in it
            is_file = is_dir = False
        if not is_file:  # exit 3, as on every other path (README)
            what = "is a directory, not a file" if is_dir else "does not exist"
            raise EnvironmentProblem(f"kubeconfig {shown(kubeconfig)} {what}", "pass an existing file with --kubeconfig")
        current = current_context(kubeconfig)
        if not current:
            raise UsageError(f"kubeconfig {kubeconfig} has no current-context", "pass --context")
        return Target(context=current, kubeconfig=kubeconfig)
    return Target(context=f"kind-{config.DEFAULT_CLUSTER}", kubeconfig=None)


def deps(ctx: typer.Context):
    return ctx.obj


def confirm(d, yes: bool, question: str) -> None:
    """Ask on a terminal; refuse (never assume yes) when nobody can answer."""
    if yes:
        return
    if not d.tty():
        raise UsageError("refusing to delete without confirmation when not on a terminal", "pass --yes")
    if not typer.confirm(question, default=False, err=True):
        raise typer.Exit(1)


@contextlib.contextmanager
def progress(d, fmt: str):
    """The reporter an action reports to: live lines on a terminal, none for -o json/yaml."""
    reporter = d.reporter(silent=fmt != "table")
    try:
        yield reporter
    finally:
        reporter.close()


@contextlib.contextmanager
def timeout_hint(timeout_s: float):
    """A command with --timeout says so when its deadline passed (actions do not know the flag)."""
    from urumi_cli.errors import TimedOut

    try:
        yield
    except TimedOut as err:
        raise_to = f"raise --timeout (it was {timeout_s:g}s)"
        err.hint = f"{raise_to}, or {err.hint}" if err.hint else raise_to
        raise


def parse_timeout(value: str | None, default_s: float) -> float:
    from urumi_cli.validation import parse_duration

    return parse_duration(value) if value else default_s
