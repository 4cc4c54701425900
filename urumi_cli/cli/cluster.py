"""`urumi cluster up|status|down`: the local kind cluster with its ingress controller."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from urumi_cli import config
from urumi_cli.cli.common import KubeconfigOpt, OutputOpt, progress
from urumi_cli.ui.output import check_format, write_data, write_table

app = typer.Typer(help="The local kind cluster stores run on.", no_args_is_help=True)

NameOpt = Annotated[str, typer.Option("--name", help="kind cluster name")]


def _options(name: str, kubeconfig: str | None, config_path: str | None = None, **extra):
    from urumi_cli.actions.cluster import ClusterOptions
    from urumi_cli.validation import validate_cluster_name

    validate_cluster_name(name)
    return ClusterOptions(name=name, config_path=config_path, kubeconfig=kubeconfig, **extra)


ValuesOpt = Annotated[Optional[list[str]], typer.Option(
    "--values", metavar="TYPE=FILE",
    help="values file for one store chart (as given to `store create --values`) whose images to use "
         "instead of the chart defaults; repeatable", show_default=False)]


def _parse_values(items: list[str] | None) -> dict[str, list[str]]:
    from urumi_cli.errors import UsageError

    out: dict[str, list[str]] = {}
    for item in items or []:
        store_type, sep, path = item.partition("=")
        if not sep or store_type not in config.STORE_TYPES or not path:
            raise UsageError(f"--values {item!r}: expected TYPE=FILE with TYPE one of {', '.join(config.STORE_TYPES)}",
                             "e.g. --values woocommerce=./local-images.yaml")
        out.setdefault(store_type, []).append(path)
    return out


def _chart_images(values: list[str] | None) -> list[str]:
    from urumi_cli.actions.cluster import store_chart_images

    return store_chart_images(config.charts_dir(), _parse_values(values))


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
    image: Annotated[Optional[str], typer.Option("--image", help="kind node image (used when the cluster is "
                                                 "created; default: kind's own)", show_default=False)] = None,
    ingress_chart: Annotated[Optional[str], typer.Option(
        "--ingress-chart", metavar="REF", help="ingress chart to install instead of the pinned upstream Traefik "
        "chart: a local path or .tgz, oci://..., or repo/name (e.g. a mirror)", show_default=False)] = None,
    ingress_version: Annotated[Optional[str], typer.Option(
        "--ingress-version", help="version of the ingress chart", show_default=False)] = None,
    preload: Annotated[bool, typer.Option("--preload", help="load the store charts' images from the local "
                                          "Docker into the node (see `cluster load-images`)")] = False,
    values: ValuesOpt = None,
    output: OutputOpt = "table",
    kubeconfig: KubeconfigOpt = None,
) -> None:
    """Create the kind cluster (if missing) and install the Traefik ingress controller."""
    from urumi_cli.actions.cluster import cluster_up

    d = ctx.obj
    fmt = check_format(output)
    opts = _options(name, kubeconfig, config_path, image=image, ingress_chart=ingress_chart,
                    ingress_version=ingress_version, preload=tuple(_chart_images(values)) if preload else ())
    with progress(d, fmt) as reporter:
        info = cluster_up(opts, docker=d.docker, kind=d.kind, helm=d.helm, kube_factory=d.kube,
                          registry=d.registry, reporter=reporter, locks_dir=d.settings.locks_dir)
    _write_info(d, info.to_json(), fmt)
    if fmt == "table":
        d.consoles.note(f"\nNext: urumi store create --type woocommerce --name shop   (context {opts.context})")


@app.command("load-images")
def load_images_cmd(
    ctx: typer.Context,
    images: Annotated[Optional[list[str]], typer.Argument(
        help="images in the local Docker (default: every image of the woocommerce and medusa charts)",
        show_default=False)] = None,
    name: NameOpt = config.DEFAULT_CLUSTER,
    values: ValuesOpt = None,
    output: OutputOpt = "table",
) -> None:
    """Copy images from the local Docker into the cluster's node, so stores start without pulling."""
    from urumi_cli.actions.cluster import load_images

    d = ctx.obj
    fmt = check_format(output)
    opts = _options(name, None)
    refs = list(images) if images else _chart_images(values)
    with progress(d, fmt) as reporter:
        result = load_images(opts, refs, docker=d.docker, kind=d.kind, reporter=reporter,
                             locks_dir=d.settings.locks_dir)
    if fmt != "table":
        write_data(d.consoles, result, fmt)
    else:
        d.consoles.note(f"{len(refs)} image(s) loaded into {name}")


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
    from urumi_cli.cli.common import confirm

    d = ctx.obj
    fmt = check_format(output)
    opts = _options(name, kubeconfig)
    stores = d.registry.list_stores(opts.context)
    confirm(d, yes, f"Delete kind cluster {name} and its {len(stores)} store(s) with all their data?")
    with progress(d, fmt) as reporter:
        result = cluster_down(opts, kind=d.kind, registry=d.registry, reporter=reporter,
                              locks_dir=d.settings.locks_dir)
    if fmt != "table":
        write_data(d.consoles, result, fmt)
    else:
        d.consoles.note(f"cluster {name} deleted; {result['stores_removed']} store(s) went with it "
                        "(their data lived in the cluster) and were removed from the registry")
