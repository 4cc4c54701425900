"""`urumi store ...`: flags -> options -> one action -> one writer."""

from __future__ import annotations

import contextlib
import time
from typing import Annotated, List, Optional

import typer

from urumi_cli import config
from urumi_cli.cli.common import ContextOpt, KubeconfigOpt, OutputOpt, TimeoutOpt, resolve_target
from urumi_cli.errors import UsageError
from urumi_cli.ui.output import STORE_COLUMNS, check_format, store_rows, write_data, write_table

app = typer.Typer(help="Create, list, inspect and delete stores.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="store name", show_default=False)]


def _write_store(d, store: dict, fmt: str) -> None:
    if fmt == "table":
        write_table(d.consoles, STORE_COLUMNS, store_rows([store]), status_col=2)
    else:
        write_data(d.consoles, store, fmt)


def _print_notes(d, notes) -> None:
    for note in notes:
        d.consoles.warn(note)


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", "-n", help="store name: a DNS label, at most 40 characters")],
    store_type: Annotated[str, typer.Option("--type", "-t", help="woocommerce or medusa")] = "woocommerce",
    env: Annotated[str, typer.Option("--env", help="values overlay: local or prod")] = "local",
    domain: Annotated[Optional[str], typer.Option("--domain", help="store host is <name>.<domain> "
                                                  "(default: localhost)", show_default=False)] = None,
    timeout: TimeoutOpt = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="wait until the store takes orders")] = True,
    values: Annotated[Optional[List[str]], typer.Option("--values", "-f", help="extra chart values file "
                                                        "(repeatable)", show_default=False)] = None,
    output: OutputOpt = "table",
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Provision a store and wait until a shopper can place an order."""
    from urumi_cli.actions.stores import CreateOptions, create_store
    from urumi_cli.validation import (
        parse_duration, validate_domain, validate_env, validate_store_name, validate_store_type,
    )

    d = ctx.obj
    fmt = check_format(output)
    opts = CreateOptions(
        name=validate_store_name(name),
        type=validate_store_type(store_type),
        env=validate_env(env),
        domain=validate_domain(domain) if domain else config.LOCAL_DOMAIN,
        timeout_s=parse_duration(timeout) if timeout else config.DEFAULT_TIMEOUT_S,
        wait=wait,
        values_files=tuple(values or ()),
        target=resolve_target(kubeconfig, context),
    )
    kube = d.kube(opts.target)
    reporter = d.reporter(silent=fmt != "table")
    try:
        result = create_store(opts, registry=d.registry, helm=d.helm, kube=kube, reporter=reporter,
                              locks_dir=d.settings.locks_dir)
    finally:
        reporter.close()
        _print_notes(d, d.registry.notices)
    store = result.store.to_json()
    if fmt != "table":
        write_data(d.consoles, store, fmt)
        return
    _write_store(d, store, fmt)
    if store["status"] == "ready":
        d.consoles.note(f"\nStore [bold]{store['name']}[/] is ready: {store['url']}")
        d.consoles.note(f"Admin login: urumi store credentials {store['name']}")
    else:
        d.consoles.note(f"\nStore {store['name']} is {store['status']}: urumi store get {store['name']}")


@app.command("list")
def list_(
    ctx: typer.Context,
    output: OutputOpt = "table",
    refresh: Annotated[bool, typer.Option("--refresh", help="reconcile with the cluster first")] = False,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="live table, refreshed from the cluster")] = False,
    interval: Annotated[float, typer.Option("--interval", help="seconds between --watch refreshes")] = 2.0,
    all_clusters: Annotated[bool, typer.Option("--all-clusters", "-A", help="stores of every cluster")] = False,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """List stores from the local registry (fast; --refresh asks the cluster)."""
    d = ctx.obj
    fmt = check_format(output)
    target = resolve_target(kubeconfig, context)
    cluster = None if all_clusters else target.context
    if watch:
        if fmt != "table":
            raise UsageError("--watch shows a table", "drop -o, or use --refresh for one JSON snapshot")
        _watch_table(d, target, interval)
        return
    if refresh:
        from urumi_cli.actions.stores import refresh_stores

        stores, notes = refresh_stores(registry=d.registry, kube=d.kube(target), cluster=target.context)
        _print_notes(d, notes)
        if all_clusters:
            stores = d.registry.list_stores(None)
    else:
        stores = d.registry.list_stores(cluster)
    data = [s.to_json() for s in stores]
    if fmt == "table":
        write_table(d.consoles, STORE_COLUMNS, store_rows(data), status_col=2,
                    empty="No stores yet. Create one: urumi store create --type woocommerce --name shop")
    else:
        write_data(d.consoles, data, fmt)


def _watch_table(d, target, interval: float) -> None:
    from rich.live import Live

    from urumi_cli.actions.stores import refresh_stores
    from urumi_cli.ui.output import build_table

    kube = d.kube(target)
    with Live(console=d.consoles.out, refresh_per_second=4, auto_refresh=False) as live, \
            contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a watch ends: exit 0
        while True:
            stores, _ = refresh_stores(registry=d.registry, kube=kube, cluster=target.context)
            rows = store_rows([s.to_json() for s in stores])
            live.update(build_table(STORE_COLUMNS, rows, status_col=2,
                                    caption=f"{target.context} · {time.strftime('%H:%M:%S')} · Ctrl-C to stop"),
                        refresh=True)
            time.sleep(max(0.5, interval))


@app.command("get")
def get(ctx: typer.Context, name: NameArg, output: OutputOpt = "table", kubeconfig: KubeconfigOpt = None,
        context: ContextOpt = None) -> None:
    """Show one store, reconciled with the cluster."""
    from urumi_cli.actions.stores import get_store
    from urumi_cli.validation import validate_store_name

    d = ctx.obj
    fmt = check_format(output)
    target = resolve_target(kubeconfig, context)
    store = get_store(validate_store_name(name), registry=d.registry, kube=d.kube(target), cluster=target.context)
    _write_store(d, store.to_json(), fmt)


@app.command("describe")
def describe(ctx: typer.Context, name: NameArg, output: OutputOpt = "table", kubeconfig: KubeconfigOpt = None,
             context: ContextOpt = None) -> None:
    """A store with its components, failing pods and recent warning events."""
    from urumi_cli.actions.stores import describe_store
    from urumi_cli.validation import validate_store_name

    d = ctx.obj
    fmt = check_format(output)
    target = resolve_target(kubeconfig, context)
    info = describe_store(validate_store_name(name), registry=d.registry, kube=d.kube(target),
                          cluster=target.context)
    if fmt != "table":
        write_data(d.consoles, info, fmt)
        return
    _write_store(d, info, fmt)
    out = d.consoles.out
    out.print("\n[bold]Components[/]")
    for comp in info["components"] or [{"name": "-", "ready": False, "detail": "no workloads found"}]:
        mark = "[green]ready[/]" if comp["ready"] else "[yellow]not ready[/]"
        out.print(f"  {comp['name']:<9} {mark}  {comp['detail']}", highlight=False)
    out.print("\n[bold]Diagnostics[/]")
    for line in info["diagnostics"] or ["no failing pods, no warning events"]:
        out.print(f"  {line}", highlight=False, markup=False)


@app.command("credentials")
def credentials_(ctx: typer.Context, name: NameArg, output: OutputOpt = "table",
                 kubeconfig: KubeconfigOpt = None, context: ContextOpt = None) -> None:
    """Admin login of a store, read from its Kubernetes Secret (never stored locally)."""
    from urumi_cli.actions.stores import credentials
    from urumi_cli.validation import validate_store_name

    d = ctx.obj
    fmt = check_format(output)
    target = resolve_target(kubeconfig, context)
    creds = credentials(validate_store_name(name), kube=d.kube(target), registry=d.registry,
                        cluster=target.context)
    if fmt == "table":
        write_table(d.consoles, ("STORE", "ADMIN URL", "USERNAME", "PASSWORD"),
                    [[creds["name"], creds["admin_url"], creds["username"], creds["password"]]])
    else:
        write_data(d.consoles, creds, fmt)


@app.command("delete")
def delete(
    ctx: typer.Context,
    name: NameArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask (required when not on a terminal)")] = False,
    ignore_not_found: Annotated[bool, typer.Option("--ignore-not-found", help="exit 0 if it does not exist")] = False,
    timeout: TimeoutOpt = None,
    output: OutputOpt = "table",
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Uninstall a store and delete its namespace (data included)."""
    from urumi_cli.actions.stores import DeleteOptions, delete_store
    from urumi_cli.validation import parse_duration, validate_store_name

    d = ctx.obj
    fmt = check_format(output)
    opts = DeleteOptions(
        name=validate_store_name(name), target=resolve_target(kubeconfig, context),
        timeout_s=parse_duration(timeout) if timeout else config.DEFAULT_DELETE_TIMEOUT_S,
        ignore_not_found=ignore_not_found,
    )
    _confirm(d, yes, f"Delete store {name} and all its data (namespace store-{name})?")
    reporter = d.reporter(silent=fmt != "table")
    try:
        deleted = delete_store(opts, registry=d.registry, helm=d.helm, kube=d.kube(opts.target),
                               reporter=reporter, locks_dir=d.settings.locks_dir)
    finally:
        reporter.close()
    result = {"name": name, "deleted": deleted is not None}
    if fmt != "table":
        write_data(d.consoles, result, fmt)
    elif deleted is None:
        d.consoles.note(f"store {name} did not exist")
    else:
        d.consoles.note(f"store {name} deleted")


def _confirm(d, yes: bool, question: str) -> None:
    if yes:
        return
    if not d.tty():
        raise UsageError("refusing to delete without confirmation when not on a terminal", "pass --yes")
    if not typer.confirm(question, default=False, err=True):
        raise typer.Exit(1)


@app.command("sync")
def sync(ctx: typer.Context, output: OutputOpt = "table", kubeconfig: KubeconfigOpt = None,
         context: ContextOpt = None) -> None:
    """Rebuild the local registry from the cluster (the source of truth)."""
    from urumi_cli.actions.stores import refresh_stores

    d = ctx.obj
    fmt = check_format(output)
    target = resolve_target(kubeconfig, context)
    stores, notes = refresh_stores(registry=d.registry, kube=d.kube(target), cluster=target.context, rebuild=True)
    _print_notes(d, notes)
    data = [s.to_json() for s in stores]
    if fmt == "table":
        write_table(d.consoles, STORE_COLUMNS, store_rows(data), status_col=2,
                    empty=f"No urumi stores in cluster {target.context}.")
    else:
        write_data(d.consoles, data, fmt)


@app.command("test")
def test(ctx: typer.Context, name: NameArg, timeout: TimeoutOpt = None, output: OutputOpt = "table",
         kubeconfig: KubeconfigOpt = None, context: ContextOpt = None) -> None:
    """Run the store's helm tests: storefront answers, a cash-on-delivery order goes through."""
    from urumi_cli.actions.stores import test_store
    from urumi_cli.validation import parse_duration, validate_store_name

    d = ctx.obj
    fmt = check_format(output)
    target = resolve_target(kubeconfig, context)
    name = validate_store_name(name)  # before any progress line: bad input is one error line
    timeout_s = parse_duration(timeout) if timeout else 300.0
    reporter = d.reporter(silent=fmt != "table")
    reporter.step("test", f"helm test {name}")
    try:
        text = test_store(name, helm=d.helm, kube=d.kube(target), target=target, timeout_s=timeout_s)
        reporter.done("test", f"helm test {name} passed")
    except Exception:
        reporter.done("test", f"helm test {name} failed", ok=False)
        raise
    finally:
        reporter.close()
    if fmt != "table":
        write_data(d.consoles, {"name": name, "passed": True, "output": text}, fmt)
    else:
        d.consoles.out.print(text.rstrip(), markup=False, highlight=False)
