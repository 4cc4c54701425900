"""`urumi dashboard`: the store fleet in a browser. Only flags here; the server, the page and the
watch machinery (urumi_cli.dashboard) are imported when the command runs, never for `--help`."""

from __future__ import annotations

from typing import Annotated

import typer

from urumi_cli.cli.common import ContextOpt, KubeconfigOpt, resolve_target


def register(app: typer.Typer) -> None:
    @app.command("dashboard")
    def dashboard(
        ctx: typer.Context,
        port: Annotated[int, typer.Option("--port", help="port on 127.0.0.1 (0: any free port)")] = 8765,
        open_browser: Annotated[bool, typer.Option("--open/--no-open", help="open the page in a browser")] = True,
        all_clusters: Annotated[bool, typer.Option("--all-clusters", "-A",
                                                   help="also list the stores recorded for other contexts")] = False,
        kubeconfig: KubeconfigOpt = None,
        context: ContextOpt = None,
    ) -> None:
        """Serve a live web view of the stores on 127.0.0.1 (create, delete, credentials); Ctrl-C stops it."""
        import signal
        import sys
        import threading

        from urumi_cli.dashboard.board import Board
        from urumi_cli.dashboard.fleet import Fleet
        from urumi_cli.dashboard.live import Hub
        from urumi_cli.dashboard.server import new_token, serve
        from urumi_cli.dashboard.watcher import Watcher
        from urumi_cli.errors import EnvironmentProblem, UsageError

        d = ctx.obj
        if not 0 <= port <= 65535:
            raise UsageError(f"invalid port {port}", "pass --port between 1 and 65535, or 0 for any free port")
        target = resolve_target(kubeconfig, context)
        kube = d.kube(target)
        fleet = Fleet(registry=d.registry, helm=d.helm, kube=kube, target=target, locks_dir=d.settings.locks_dir,
                      all_clusters=all_clusters)
        board = Board(fleet, Hub())
        stop = threading.Event()

        def started(server) -> None:
            Watcher(board, kube, stop).start()
            d.consoles.note(f"urumi dashboard for {target.context} on http://127.0.0.1:{server.port}/ "
                            "(the URL above carries this run's token); Ctrl-C stops it")

        def terminated(*_):  # `kill`, a service manager: the same clean stop as Ctrl-C
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, terminated)
        try:
            serve(board, port=port, token=new_token(), out=sys.stdout, log=d.consoles.debug_line,
                  open_browser=open_browser, stop=stop, on_started=started)
        except OSError as err:
            raise EnvironmentProblem(f"cannot listen on 127.0.0.1:{port}: {err.strerror or err}",
                                     "pass another --port, or --port 0 for any free port") from None
        finally:
            stop.set()
            for op in board.running():
                verb = (f"urumi store create --type {op.store_type} --name {op.store}" if op.kind == "create"
                        else f"urumi store delete {op.store}")
                d.consoles.warn(f"stopped while store {op.store} was being {op.kind}d; re-run `{verb}` to finish")
        d.consoles.note("dashboard stopped")
