"""`urumi store backup` and `urumi store restore`: flags -> options -> one action -> one writer.

Registered on the store group by store.register_backup (two lines in cli/store.py)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from urumi_cli import config
from urumi_cli.cli.common import (
    ContextOpt, KubeconfigOpt, OutputOpt, TimeoutOpt, confirm, parse_timeout, progress, resolve_target, timeout_hint,
)
from urumi_cli.ui.output import check_format, write_data

NameArg = Annotated[str, typer.Argument(help="store name", show_default=False)]


def _name(value: str) -> str:
    from urumi_cli.validation import validate_store_name

    return validate_store_name(value)


def backup(
    ctx: typer.Context,
    name: NameArg,
    # --to, not --output: -o/--output is every command's table|json|yaml (restore reads --from).
    output_file: Annotated[Optional[str], typer.Option("--to", help="archive to write "
                                                       "(default: ./<name>-<UTC time>.urumi.tar)",
                                                       show_default=False)] = None,
    include_secrets: Annotated[bool, typer.Option("--include-secrets", help="also the store's credentials Secret "
                                                  "(the archive is then written mode 0600)")] = False,
    timeout: TimeoutOpt = None,
    output: OutputOpt = "table",
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Archive a store's database and uploads (with a manifest of checksums) to a local file."""
    from urumi_cli.actions.backup import BackupOptions, backup_store, check_output

    d = ctx.obj
    fmt = check_format(output)
    opts = BackupOptions(name=_name(name), target=resolve_target(kubeconfig, context),
                         output=check_output(Path(output_file)) if output_file else None,
                         include_secrets=include_secrets, timeout_s=parse_timeout(timeout, config.DEFAULT_TIMEOUT_S))
    target = opts.target
    with progress(d, fmt) as reporter, timeout_hint(opts.timeout_s):
        result = backup_store(opts, kube=d.kube(target), pod_exec=d.pod_exec(target), reporter=reporter)
    if fmt != "table":
        write_data(d.consoles, result.to_json(), fmt)
        return
    d.consoles.note(f"backup of store {result.name} written to {result.path}")
    if result.includes_secrets:
        d.consoles.warn("it holds the store's passwords: keep it private (mode 0600)")


def restore(
    ctx: typer.Context,
    name: NameArg,
    # str, not Path: click's Path would stat a value with a NUL in it and crash.
    source: Annotated[str, typer.Option("--from", help="archive written by `urumi store backup`",
                                        show_default=False)],
    store_type: Annotated[Optional[str], typer.Option("--type", "-t", help="woocommerce or medusa: refuse an "
                                                      "archive of another type", show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="restore over an existing store (its database and "
                                        "uploads are replaced)")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="with --force: do not ask (required when not on a "
                                      "terminal)")] = False,
    env: Annotated[str, typer.Option("--env", help="a new store's values overlay: local or prod")] = "local",
    domain: Annotated[Optional[str], typer.Option("--domain", help="a new store's host is <name>.<domain> "
                                                  "(default: localhost)", show_default=False)] = None,
    values: Annotated[Optional[List[str]], typer.Option("--values", "-f", help="a new store's extra chart "
                                                        "values file (repeatable)", show_default=False)] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="afterwards, wait until the store takes orders "
                                       "(its setup Job)")] = False,
    timeout: TimeoutOpt = None,
    output: OutputOpt = "table",
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Restore a backup into a new store, or with --force over an existing one of the same type."""
    from urumi_cli.actions.backup import RestoreOptions, restore_store, verify_archive
    from urumi_cli.validation import validate_domain, validate_env, validate_store_type

    d = ctx.obj
    fmt = check_format(output)
    opts = RestoreOptions(
        name=_name(name), target=resolve_target(kubeconfig, context),
        store_type=validate_store_type(store_type) if store_type else None, force=force,
        env=validate_env(env), domain=validate_domain(domain) if domain else config.LOCAL_DOMAIN,
        values_files=tuple(values or ()), wait=wait, timeout_s=parse_timeout(timeout, config.DEFAULT_TIMEOUT_S),
    )
    work = Path(tempfile.mkdtemp(prefix="urumi-restore-"))
    try:
        # Verified before the cluster is even contacted: a bad archive changes nothing.
        archive = verify_archive(Path(source).expanduser(), work, store_type=opts.store_type)
        if force:
            confirm(d, yes, f"Replace the database and uploads of store {opts.name} (if it exists) with the "
                            f"backup of {archive.store} taken {archive.manifest.get('created_at', '?')}?")
        target = opts.target
        with progress(d, fmt) as reporter, timeout_hint(opts.timeout_s):
            result = restore_store(opts, archive, registry=d.registry, helm=d.helm, kube=d.kube(target),
                                   pod_exec=d.pod_exec(target), reporter=reporter, locks_dir=d.settings.locks_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if fmt != "table":
        write_data(d.consoles, result.to_json(), fmt)
        return
    how = "the new store" if result.created else "the existing store"
    d.consoles.note(f"restored the backup of {result.from_store} into {how} {result.name}: {result.url}")
    if not wait:
        d.consoles.note(f"its setup runs on: urumi store get {result.name}")


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
    app.command("restore")(restore)
