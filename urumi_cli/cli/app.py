"""The root command and the one place that turns errors into messages and exit codes."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError as ClickUsageError  # typer 0.27 vendors click
from typer.core import TyperGroup
from typer.exceptions import Abort, Exit

from urumi_cli.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, UrumiError


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
        try:
            result = super().main(args=args, prog_name=prog_name or "urumi", complete_var=complete_var,
                                  standalone_mode=False, **extra)
            code = result if isinstance(result, int) else 0
        except Exit as exit_:
            code = exit_.exit_code
        except NoArgsIsHelpError as err:  # `urumi`, `urumi store`: the help, on stderr, exit 2
            sys.stderr.write(err.format_message() + "\n")
            code = EXIT_USAGE
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


GROUPS = ("cluster", "store", "doctor")


def build_app(only: str | None = None) -> typer.Typer:
    """The whole CLI; with `only`, just that command group under the root (see run)."""
    app = typer.Typer(
        cls=UrumiGroup,
        name="urumi",
        help="A store factory on your own Kubernetes: isolated WooCommerce and Medusa stores, one command each.",
        no_args_is_help=True,
        add_completion=False,
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

        app.add_typer(cluster.app, name="cluster")
    if only in (None, "store"):
        from urumi_cli.cli import store

        app.add_typer(store.app, name="store")
    if only in (None, "doctor"):
        from urumi_cli.cli import doctor

        doctor.register(app)
    return app


def invoked_group(argv: list[str]) -> str | None:
    """The group argv runs (its first word after the root's flags), or None (help, version, typos:
    those need every command)."""
    for arg in argv:
        if arg not in ("-q", "--quiet", "--debug"):
            return arg if arg in GROUPS else None
    return None


def command(only: str | None = None):
    return typer.main.get_command(build_app(only))


def run(argv: list[str]) -> int:
    # Typer turns every registered function into a click command up front (signatures, annotations)
    # and each group imports its module: build only the group this invocation runs.
    return command(invoked_group(argv)).main(args=argv, prog_name="urumi", standalone_mode=False)
