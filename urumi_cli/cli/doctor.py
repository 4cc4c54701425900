"""`urumi doctor`: what is missing or broken, each with a hint. Exit 1 if anything failed."""

from __future__ import annotations

import typer

from urumi_cli.cli.common import ContextOpt, KubeconfigOpt, OutputOpt, resolve_target
from urumi_cli.ui.output import check_format, write_data, write_table


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor(ctx: typer.Context, output: OutputOpt = "table", kubeconfig: KubeconfigOpt = None,
               context: ContextOpt = None) -> None:
        """Check docker, kind, helm, kubectl, ports 80/443, the cluster and its ingress controller."""
        from urumi_cli.actions.doctor import run_doctor

        d = ctx.obj
        fmt = check_format(output)
        target = resolve_target(kubeconfig, context)

        checks = run_doctor(docker=d.docker, kind=d.kind, helm=d.helm, kubectl=d.kubectl, kube_factory=d.kube,
                            target=target)
        if fmt != "table":
            write_data(d.consoles, {"ok": all(c.ok for c in checks), "checks": [c.to_json() for c in checks]}, fmt)
        else:
            rows = [["ok" if c.ok else "FAIL", c.name, c.detail, c.hint] for c in checks]
            write_table(d.consoles, ("", "CHECK", "DETAIL", "HINT"), rows, status_col=0)
        if not all(c.ok for c in checks):
            raise typer.Exit(1)
