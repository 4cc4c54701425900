"""`urumi store ...`: flags -> options -> one action -> one writer."""

from __future__ import annotations

from typing import Annotated, List, Optional

import typer

from urumi_cli import config
from urumi_cli.cli.common import (
    COMPONENTS, ENVS, STORE_TYPES, Choices, ContextOpt, KubeconfigOpt, OutputOpt, TimeoutOpt, complete_store_name,
    confirm, parse_timeout, progress, resolve_target, timeout_hint,
)
from urumi_cli.errors import UsageError
from urumi_cli.ui.output import check_format, write_data, write_description, write_store, write_stores

app = typer.Typer(help="Create, list, inspect and delete stores.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="store name", show_default=False, autocompletion=complete_store_name)]
NO_STORES = "No stores yet. Create one: urumi store create --type woocommerce --name shop"


def _print_notes(d, notes) -> None:
    for note in notes:
        d.consoles.warn(note)


def _name(value: str) -> str:
    from urumi_cli.validation import validate_store_name

    return validate_store_name(value)


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", "-n", help="store name: a DNS label, at most 40 characters")],
    store_type: Annotated[str, typer.Option("--type", "-t", click_type=STORE_TYPES, help="store type")] = "woocommerce",
    env: Annotated[str, typer.Option("--env", click_type=ENVS, help="values overlay")] = "local",
    domain: Annotated[Optional[str], typer.Option("--domain", help="store host is <name>.<domain> "
                                                  "(default: localhost)", show_default=False)] = None,
    timeout: TimeoutOpt = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="wait until the store takes orders")] = True,
    values: Annotated[Optional[List[str]], typer.Option("--values", "-f", help="extra chart values file "
                                                        "(repeatable; kept for retries)", show_default=False)] = None,
    output: OutputOpt = "table",
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    owner: Annotated[Optional[str], typer.Option("--owner", help="whose store it is (a namespace label; "
                                                 "per-owner limits count it)", show_default=False)] = None,
    max_stores: Annotated[Optional[int], typer.Option("--max-stores", min=1, help="refuse beyond N stores in the "
                                                      "cluster (default: limits.max_stores of the config file)",
                                                      show_default=False)] = None,
    max_per_owner: Annotated[Optional[int], typer.Option("--max-stores-per-owner", min=1, help="refuse beyond N "
                                                         "stores of one owner", show_default=False)] = None,
    cooldown: Annotated[Optional[str], typer.Option("--create-cooldown", help="refuse a create by the same owner "
                                                    "sooner than this after the last, e.g. 10m",
                                                    show_default=False)] = None,
) -> None:
    """Provision a store and wait until a shopper can place an order."""
    from urumi_cli.actions.create import CreateOptions, create_store
    from urumi_cli.actions.guardrails import load_limits
    from urumi_cli.validation import parse_duration, validate_domain, validate_env, validate_owner, validate_store_type

    d = ctx.obj
    fmt = check_format(output)
    limits = load_limits(config.config_file()).overridden(
        max_stores=max_stores, max_stores_per_owner=max_per_owner,
        create_cooldown_s=parse_duration(cooldown) if cooldown is not None else None)
    opts = CreateOptions(
        name=_name(name), type=validate_store_type(store_type), env=validate_env(env),
        domain=validate_domain(domain) if domain else config.LOCAL_DOMAIN,
        timeout_s=parse_timeout(timeout, config.DEFAULT_TIMEOUT_S), wait=wait,
        values_files=tuple(values or ()), target=resolve_target(kubeconfig, context),
        owner=validate_owner(owner) if owner is not None else "", limits=limits,
    )
    kube = d.kube(opts.target)
    try:
        with progress(d, fmt) as reporter, timeout_hint(opts.timeout_s):
            result = create_store(opts, registry=d.registry, helm=d.helm, kube=kube, reporter=reporter,
                                  locks_dir=d.settings.locks_dir)
    finally:
        _print_notes(d, d.registry.notices)
    _print_notes(d, result.notes)
    store = result.store.to_json()
    write_store(d.consoles, store, fmt)
    if fmt != "table":
        return
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
    watch: Annotated[bool, typer.Option("--watch", "-w", help="live table, following the cluster")] = False,
    all_clusters: Annotated[bool, typer.Option("--all-clusters", "-A", help="stores of every cluster")] = False,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    owner: Annotated[Optional[str], typer.Option("--owner", help="only the stores of this owner",
                                                 show_default=False)] = None,
) -> None:
    """List stores from the local registry (fast; --refresh asks the cluster)."""
    d = ctx.obj
    fmt = check_format(output)
    target = resolve_target(kubeconfig, context)
    if owner is not None:
        from urumi_cli.validation import validate_owner

        owner = validate_owner(owner)
    if watch:
        if fmt != "table":
            raise UsageError("--watch shows a table", "drop -o, or use --refresh for one JSON snapshot")
        import time

        from urumi_cli.actions.refresh import watch_stores
        from urumi_cli.ui.output import live_stores

        updates = watch_stores(registry=d.registry, kube=d.kube(target), cluster=target.context)
        if owner is not None:
            updates = ([s for s in stores if s.owner == owner] for stores in updates)
        live_stores(d.consoles, updates, lambda: f"{target.context} · {time.strftime('%H:%M:%S')} · Ctrl-C to stop")
        return
    if refresh:
        from urumi_cli.actions.refresh import refresh_stores

        _, notes = refresh_stores(registry=d.registry, kube=d.kube(target), cluster=target.context)
        _print_notes(d, notes)
    from urumi_cli.actions.queries import list_stores

    listing = list_stores(registry=d.registry, cluster=None if all_clusters else target.context)
    stores = [s.to_json() for s in listing.stores if owner is None or s.owner == owner]
    empty = f"No stores of owner {owner}." if owner is not None and listing.stores else _empty_list(listing, target)
    write_stores(d.consoles, stores, fmt, empty=empty)


def _empty_list(listing, target) -> str:
    if not listing.elsewhere:
        return NO_STORES
    where = ", ".join(f"{count} in {context}" for context, count in sorted(listing.elsewhere.items()))
    from urumi_cli.errors import shown

    return (f"No stores in context {shown(target.context)}; this machine knows {sum(listing.elsewhere.values())} "
            f"under other contexts ({where}). See them with `urumi store list --all-clusters`, "
            "or pick one with --context.")


@app.command("get")
def get(ctx: typer.Context, name: NameArg, output: OutputOpt = "table", kubeconfig: KubeconfigOpt = None,
        context: ContextOpt = None) -> None:
    """Show one store, reconciled with the cluster."""
    from urumi_cli.actions.queries import get_store

    d = ctx.obj
    fmt = check_format(output)
    target = resolve_target(kubeconfig, context)
    store = get_store(_name(name), registry=d.registry, kube=d.kube(target), cluster=target.context)
    write_store(d.consoles, store.to_json(), fmt)


@app.command("describe")
def describe(ctx: typer.Context, name: NameArg, output: OutputOpt = "table", kubeconfig: KubeconfigOpt = None,
             context: ContextOpt = None) -> None:
    """A store with its components, failing pods (with their logs) and current warning events."""
    from urumi_cli.actions.queries import describe_store

    d = ctx.obj
    fmt = check_format(output)
    target = resolve_target(kubeconfig, context)
    info = describe_store(_name(name), registry=d.registry, kube=d.kube(target), cluster=target.context)
    write_description(d.consoles, info, fmt)


@app.command("credentials")
def credentials_(ctx: typer.Context, name: NameArg, output: OutputOpt = "table",
                 kubeconfig: KubeconfigOpt = None, context: ContextOpt = None) -> None:
    """Admin login of a store, read from its Kubernetes Secret (never stored locally)."""
    from urumi_cli.actions.queries import credentials
    from urumi_cli.ui.output import write_table

    d = ctx.obj
    fmt = check_format(output)
    target = resolve_target(kubeconfig, context)
    creds = credentials(_name(name), kube=d.kube(target), registry=d.registry, cluster=target.context)
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
    from urumi_cli.actions.delete import DeleteOptions, delete_store

    d = ctx.obj
    fmt = check_format(output)
    opts = DeleteOptions(name=_name(name), target=resolve_target(kubeconfig, context),
                         timeout_s=parse_timeout(timeout, config.DEFAULT_DELETE_TIMEOUT_S),
                         ignore_not_found=ignore_not_found)
    confirm(d, yes, f"Delete store {name} and all its data (namespace store-{name})?")
    with progress(d, fmt) as reporter, timeout_hint(opts.timeout_s):
        deleted = delete_store(opts, registry=d.registry, helm=d.helm, kube=d.kube(opts.target),
                               reporter=reporter, locks_dir=d.settings.locks_dir)
    if fmt != "table":
        write_data(d.consoles, {"name": name, "deleted": deleted is not None}, fmt)
    else:
        d.consoles.note(f"store {name} did not exist" if deleted is None else f"store {name} deleted")


@app.command("sync")
def sync(ctx: typer.Context, output: OutputOpt = "table", kubeconfig: KubeconfigOpt = None,
         context: ContextOpt = None) -> None:
    """Rebuild the local registry from the cluster (the source of truth)."""
    from urumi_cli.actions.refresh import refresh_stores

    d = ctx.obj
    fmt = check_format(output)
    target = resolve_target(kubeconfig, context)
    stores, notes = refresh_stores(registry=d.registry, kube=d.kube(target), cluster=target.context, rebuild=True)
    _print_notes(d, notes)
    write_stores(d.consoles, [s.to_json() for s in stores], fmt, empty=f"No urumi stores in cluster {target.context}.")


@app.command("test")
def test(ctx: typer.Context, name: NameArg, timeout: TimeoutOpt = None, output: OutputOpt = "table",
         kubeconfig: KubeconfigOpt = None, context: ContextOpt = None) -> None:
    """Run the store's helm tests: storefront answers, a cash-on-delivery order goes through."""
    from urumi_cli.actions.queries import test_store

    d = ctx.obj
    fmt = check_format(output)
    target = resolve_target(kubeconfig, context)
    name = _name(name)  # before any progress line: bad input is one error line
    timeout_s = parse_timeout(timeout, 300.0)
    with progress(d, fmt) as reporter, timeout_hint(timeout_s):
        text = test_store(name, helm=d.helm, kube=d.kube(target), target=target, timeout_s=timeout_s,
                          reporter=reporter)
    if fmt != "table":
        write_data(d.consoles, {"name": name, "passed": True, "output": text}, fmt)
    else:
        d.consoles.out.print(text.rstrip(), markup=False, highlight=False)


from urumi_cli.cli import store_backup  # noqa: E402  (backup and restore live in their own module)

store_backup.register(app)
# -- day-2 operations (issue 13): history, rollback, upgrade -------------------------------------
@app.command("history")
def history(ctx: typer.Context, name: NameArg, output: OutputOpt = "table", kubeconfig: KubeconfigOpt = None,
            context: ContextOpt = None) -> None:
    """The release's revisions (helm) and urumi's events for the store, from the cluster."""
    from urumi_cli.actions.history import store_history
    from urumi_cli.ui.output import write_history

    d = ctx.obj
    fmt = check_format(output)
    target = resolve_target(kubeconfig, context)
    name = _name(name)
    with progress(d, fmt) as reporter:
        data = store_history(name, kube=d.kube(target), helm=d.helm, target=target, reporter=reporter)
    write_history(d.consoles, data, fmt)


@app.command("rollback")
def rollback(
    ctx: typer.Context,
    name: NameArg,
    to: Annotated[Optional[int], typer.Option("--to", min=1, help="revision to go back to (default: the last "
                                              "one that worked before the current)", show_default=False)] = None,
    timeout: TimeoutOpt = None,
    output: OutputOpt = "table",
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Roll the store back to an earlier revision and wait until it is ready again."""
    from urumi_cli.actions.rollback import RollbackOptions, rollback_store

    d = ctx.obj
    fmt = check_format(output)
    opts = RollbackOptions(name=_name(name), target=resolve_target(kubeconfig, context), revision=to,
                           timeout_s=parse_timeout(timeout, config.DEFAULT_TIMEOUT_S))
    with progress(d, fmt) as reporter, timeout_hint(opts.timeout_s):
        result = rollback_store(opts, registry=d.registry, helm=d.helm, kube=d.kube(opts.target),
                                reporter=reporter, locks_dir=d.settings.locks_dir)
    _print_notes(d, result.notes)
    data = {"name": result.name, "from_revision": result.from_revision, "to_revision": result.to_revision,
            "revision": result.revision, "status": result.status}
    if fmt != "table":
        write_data(d.consoles, data, fmt)
    else:
        d.consoles.note(f"store {result.name} rolled back to revision {result.to_revision} "
                        f"(now revision {result.revision}) and ready")


@app.command("upgrade")
def upgrade(
    ctx: typer.Context,
    name: NameArg,
    set_version: Annotated[Optional[List[str]], typer.Option(
        "--set-version", help="COMPONENT=VERSION (repeatable): woocommerce, storefront, wordpress, mariadb; "
                              "medusa, node, postgres, redis", show_default=False)] = None,
    values: Annotated[Optional[List[str]], typer.Option("--values", "-f", help="extra chart values file "
                                                        "(repeatable; kept for later upgrades)",
                                                        show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show the values that would change; change nothing")] = False,
    timeout: TimeoutOpt = None,
    output: OutputOpt = "table",
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Upgrade a store (versions, values); on failure it is rolled back to the last good revision."""
    from urumi_cli.actions.upgrade import UpgradeOptions, upgrade_store
    from urumi_cli.errors import RolledBack
    from urumi_cli.ui.output import write_changes
    from urumi_cli.validation import parse_set_versions

    d = ctx.obj
    fmt = check_format(output)
    opts = UpgradeOptions(name=_name(name), target=resolve_target(kubeconfig, context),
                          versions=parse_set_versions(set_version or []), values_files=tuple(values or ()),
                          dry_run=dry_run, timeout_s=parse_timeout(timeout, config.DEFAULT_TIMEOUT_S))
    try:
        with progress(d, fmt) as reporter, timeout_hint(opts.timeout_s):
            result = upgrade_store(opts, registry=d.registry, helm=d.helm, kube=d.kube(opts.target),
                                   reporter=reporter, locks_dir=d.settings.locks_dir)
    except RolledBack as err:
        if fmt != "table":  # scripts get the outcome on stdout, the error line on stderr
            write_data(d.consoles, err.result.to_json(), fmt)
        raise
    _print_notes(d, result.notes)
    if fmt != "table":
        write_data(d.consoles, result.to_json(), fmt)
    elif result.dry_run:
        write_changes(d.consoles, result.changes)
    else:
        d.consoles.note(f"store {result.name} upgraded to revision {result.revision} and ready")


# -- day-2 operations (issue 13): logs, open ----------------------------------------------------
LOG_FORMATS = Choices(lambda: ("text", "json"))


@app.command("logs")
def logs(
    ctx: typer.Context,
    name: NameArg,
    component: Annotated[Optional[str], typer.Option("--component", "-c", click_type=COMPONENTS,
                                                     help="only this component's pods (default: all)",
                                                     show_default=False)] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="keep following, across restarts and new pods "
                                         "(Ctrl-C stops)")] = False,
    since: Annotated[Optional[str], typer.Option("--since", help="only lines newer than this, e.g. 10m",
                                                 show_default=False)] = None,
    tail: Annotated[Optional[int], typer.Option("--tail", min=0, help="only the last N lines of each container",
                                                show_default=False)] = None,
    output: Annotated[str, typer.Option("--output", "-o", click_type=LOG_FORMATS,
                                        help="text, or json: one object per line")] = "text",
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """The logs of a store's pods, by component."""
    from urumi_cli.actions.logs import LogOptions, store_logs
    from urumi_cli.errors import OperationFailed
    from urumi_cli.ui.output import write_log_lines
    from urumi_cli.validation import parse_duration, validate_component

    d = ctx.obj
    if output not in ("text", "table", "json"):
        raise UsageError(f"unknown output format {output!r} for logs", "choose one of: text, json")
    opts = LogOptions(name=_name(name), target=resolve_target(kubeconfig, context),
                      component=validate_component(component), follow=follow,
                      since_s=parse_duration(since) if since else None, tail=tail)
    lines = store_logs(opts, kube=d.kube(opts.target))
    try:
        shown, unreadable = write_log_lines(d.consoles, lines, "json" if output == "json" else "text", prefix=True)
    except KeyboardInterrupt:
        if not follow:
            raise
        return  # Ctrl-C is how a follow ends: not a failure
    if unreadable and not shown:
        raise OperationFailed(f"could not read any log of store {opts.name} ({len(unreadable)} container(s))",
                              "see the pods with `urumi store describe`")


@app.command("open")
def open_(
    ctx: typer.Context,
    name: NameArg,
    admin: Annotated[bool, typer.Option("--admin", help="the admin page instead of the storefront")] = False,
    output: OutputOpt = "table",
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Open the storefront (or --admin page) in a browser; prints the URL when there is none."""
    from urumi_cli.actions.queries import store_address

    d = ctx.obj
    fmt = check_format(output)
    target = resolve_target(kubeconfig, context)
    address = store_address(_name(name), admin=admin, kube=d.kube(target), cluster=target.context)
    # A browser only for a person at a terminal: scripts and -o json get the URL, nothing starts.
    opened = fmt == "table" and d.tty() and d.browser.open(address["url"])
    if fmt != "table":
        write_data(d.consoles, address, fmt)
    elif opened:
        d.consoles.note(f"opened {address['url']}")
    else:
        d.consoles.out.print(address["url"], markup=False, highlight=False)
