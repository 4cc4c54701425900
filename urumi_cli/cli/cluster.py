"""`urumi cluster up|status|down`: the local kind cluster with its ingress controller."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from urumi_cli import config
from urumi_cli.cli.common import KubeconfigOpt, OutputOpt
from urumi_cli.ui.output import check_format, write_data, write_table

app = typer.Typer(help="The local kind cluster stores run on.", no_args_is_help=True)

NameOpt = Annotated[str, typer.Option("--name", help="kind cluster name")]


def _options(name: str, kubeconfig: str | None, config_path: str | None = None):
    from urumi_cli.actions.cluster import ClusterOptions
    from urumi_cli.validation import validate_cluster_name

    validate_cluster_name(name)
    return ClusterOptions(name=name, config_path=config_path, kubeconfig=kubeconfig)


def _write_info(d, info: dict, fmt: str) -> None:
    if fmt != "table":
        write_data(d.consoles, info, fmt)
        return
    rows = [[info["name"], info["context"], "yes" if info["exists"] else "no",
             "yes" if info["reachable"] else "no", "ready" if info["ingress_ready"] else "no",
             str(info["stores"]), info["message"]]]
    write_table(d.consoles, ("CLUSTER", "CONTEXT", "EXISTS", "API", "INGRESS", "STORES", "MESSAGE"), rows)


@app.command("up")
def up(
    ctx: typer.Context,
    name: NameOpt = config.DEFAULT_CLUSTER,
    config_path: Annotated[Optional[str], typer.Option("--config", help="kind config (default: the bundled "
                                                       "kind-config.yaml)", show_default=False)] = None,
    output: OutputOpt = "table",
    kubeconfig: KubeconfigOpt = None,
) -> None:
    """Create the kind cluster (if missing) and install the Traefik ingress controller."""
    from urumi_cli.actions.cluster import cluster_up

    d = ctx.obj
    fmt = check_format(output)
    opts = _options(name, kubeconfig, config_path)
    reporter = d.reporter(silent=fmt != "table")
    try:
        info = cluster_up(opts, docker=d.docker, kind=d.kind, helm=d.helm, kube_factory=d.kube,
                          registry=d.registry, reporter=reporter, locks_dir=d.settings.locks_dir)
    finally:
        reporter.close()
    _write_info(d, info.to_json(), fmt)
    if fmt == "table":
        d.consoles.note(f"\nNext: urumi store create --type woocommerce --name shop   (context {opts.context})")


@app.command("status")
def status(ctx: typer.Context, name: NameOpt = config.DEFAULT_CLUSTER, output: OutputOpt = "table",
           kubeconfig: KubeconfigOpt = None) -> None:
    """Does the cluster exist, answer, and have a ready ingress controller?"""
    from urumi_cli.actions.cluster import cluster_status

    d = ctx.obj
    fmt = check_format(output)
    info = cluster_status(_options(name, kubeconfig), kind=d.kind, kube_factory=d.kube, registry=d.registry)
    _write_info(d, info.to_json(), fmt)
    if not (info.exists and info.reachable and info.ingress_ready):
        raise typer.Exit(1)


@app.command("down")
def down(
    ctx: typer.Context,
    name: NameOpt = config.DEFAULT_CLUSTER,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask (required when not on a terminal)")] = False,
    output: OutputOpt = "table",
    kubeconfig: KubeconfigOpt = None,
) -> None:
    """Delete the kind cluster; every store on it is deleted with it."""
    from urumi_cli.actions.cluster import cluster_down
    from urumi_cli.cli.common import confirm as _confirm

    d = ctx.obj
    fmt = check_format(output)
    opts = _options(name, kubeconfig)
    stores = d.registry.list_stores(opts.context)
    _confirm(d, yes, f"Delete kind cluster {name} and its {len(stores)} store(s) with all their data?")
    reporter = d.reporter(silent=fmt != "table")
    try:
        result = cluster_down(opts, kind=d.kind, registry=d.registry, reporter=reporter,
                              locks_dir=d.settings.locks_dir)
    finally:
        reporter.close()
    if fmt != "table":
        write_data(d.consoles, result, fmt)
    else:
        d.consoles.note(f"cluster {name} deleted; {result['stores_removed']} store(s) went with it "
                        "(their data lived in the cluster) and were removed from the registry")
