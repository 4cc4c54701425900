"""The root command and the one place that turns errors into messages and exit codes."""

from __future__ import annotations

import contextlib
import io
import sys
from typing import Annotated

import typer
from typer.core import TyperGroup
from typer.exceptions import Abort, Exit

from urumi_cli.cli.clicompat import ClickException, NoArgsIsHelpError, UsageError as ClickUsageError
from urumi_cli.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UrumiError


def print_error(err: UrumiError, stream=None) -> None:
    stream = stream or sys.stderr
    line = f"error: {err.message}"
    if err.hint:
        line += f" (hint: {err.hint})"
    stream.write(line + "\n")
    if err.details:
        for detail in err.details.splitlines():
            stream.write(f"  {detail}\n")
    stream.flush()


class UrumiGroup(TyperGroup):
    """Runs click without its standalone error printing, so every failure is one line."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        debug = "--debug" in (args if args is not None else sys.argv[1:])
        completing = bool({"--show-completion", "--install-completion"} & set(args if args is not None else sys.argv[1:]))
        try:
            # Typer prints "Shell sh not supported." itself (e.g. run from make's /bin/sh): held back
            # and replaced by one error line.
            held = io.StringIO()
            with contextlib.redirect_stderr(held) if completing else contextlib.nullcontext():
                try:
                    result = super().main(args=args, prog_name=prog_name or "urumi", complete_var=complete_var,
                                          standalone_mode=False, **extra)
                finally:
                    unsupported = completing and "not supported" in held.getvalue()
            if completing and not unsupported:
                sys.stderr.write(held.getvalue())
            code = result if isinstance(result, int) else 0
            if unsupported and code:
                sys.stderr.write("error: shell completion is not available for this shell "
                                 "(hint: urumi --show-completion bash, zsh or fish)\n")
                code = EXIT_USAGE
        except Exit as exit_:
            code = exit_.exit_code
        except SystemExit as exit_:  # Typer's --show-completion/--install-completion end with sys.exit
            code = exit_.code if isinstance(exit_.code, int) else (EXIT_OK if exit_.code is None else EXIT_FAILED)
        except NoArgsIsHelpError as err:  # `urumi`, `urumi store`: help asked for, as kubectl and helm do
            sys.stdout.write(err.format_message() + "\n")
            code = EXIT_OK
        except ClickUsageError as err:
            where = f" (see `{err.ctx.command_path} --help`)" if err.ctx else ""
            sys.stderr.write(f"error: {err.format_message()}{where}\n")
            code = EXIT_USAGE
        except ClickException as err:
            sys.stderr.write(f"error: {err.format_message()}\n")
            code = err.exit_code
        except UrumiError as err:
            print_error(err)
            code = err.exit_code
        except (KeyboardInterrupt, Abort):
            sys.stderr.write("error: interrupted\n")
            code = EXIT_INTERRUPTED
        except Exception as err:  # a bug, not a user mistake: say so in one line unless --debug
            if debug:
                raise
            sys.stderr.write(f"error: unexpected {type(err).__name__}: {err} "
                             "(hint: re-run with --debug for the traceback and report it)\n")
            code = EXIT_FAILED
        if standalone_mode:
            sys.exit(code)
        return code


def _print_version(value: bool) -> None:
    if value:
        from urumi_cli import __version__

        typer.echo(f"urumi {__version__}")
        raise typer.Exit(0)


GROUPS = ("cluster", "store", "doctor", "dashboard")


def build_app(only: str | None = None, subcommand: str | None = None) -> typer.Typer:
    """The whole CLI; with `only`, just that command group under the root, and with `subcommand`
    just that command of the group, if it has one by that name (see run)."""
    app = typer.Typer(
        cls=UrumiGroup,
        name="urumi",
        help="A store factory on your own Kubernetes: isolated WooCommerce and Medusa stores, one command each.",
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
        # Click's plain help: Typer's Rich help imports typer.rich_utils (rich.markdown, markdown_it,
        # pygments) on every --help, which alone costs more than `import typer`.
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def root(
        ctx: typer.Context,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="only results and errors")] = False,
        debug: Annotated[bool, typer.Option("--debug", help="show the commands urumi runs")] = False,
        version: Annotated[bool, typer.Option("--version", help="print the version and exit", is_eager=True,
                                              callback=_print_version)] = False,
    ) -> None:
        if ctx.obj is None:
            from urumi_cli.cli.deps import Deps

            ctx.obj = Deps.default(quiet=quiet, debug=debug)
        else:
            ctx.obj.consoles.quiet = ctx.obj.consoles.quiet or quiet
            ctx.obj.consoles.debug = ctx.obj.consoles.debug or debug

    if only in (None, "cluster"):
        from urumi_cli.cli import cluster

        app.add_typer(_pruned(cluster.app, subcommand), name="cluster")
    if only in (None, "store"):
        from urumi_cli.cli import store

        app.add_typer(_pruned(store.app, subcommand), name="store")
    if only in (None, "doctor"):
        from urumi_cli.cli import doctor

        doctor.register(app)
    if only in (None, "dashboard"):
        from urumi_cli.cli import dashboard

        dashboard.register(app)
    return app


def _pruned(group: typer.Typer, name: str | None) -> typer.Typer:
    """`group` with only its command `name`, or the whole group if it has none by that name."""
    picked = [info for info in group.registered_commands if name and info.name == name]
    if not picked:
        return group
    import copy

    pruned = copy.copy(group)
    pruned.registered_commands = picked
    return pruned


def invoked(argv: list[str]) -> tuple[str | None, str | None]:
    """The group argv runs (its first word after the root's flags) and the word after it; None for
    help, version and typos, which need every command."""
    for i, arg in enumerate(argv):
        if arg not in ("-q", "--quiet", "--debug"):
            if arg not in GROUPS:
                return None, None
            return arg, (argv[i + 1] if i + 1 < len(argv) else None)
    return None, None


def command(only: str | None = None, subcommand: str | None = None):
    return typer.main.get_command(build_app(only, subcommand))


def run(argv: list[str]) -> int:
    # Typer turns every registered function into a click command up front (inspecting signatures,
    # evaluating annotations) and each group imports its module: build only what argv runs.
    return command(*invoked(argv)).main(args=argv, prog_name="urumi", standalone_mode=False)
