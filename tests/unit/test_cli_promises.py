"""Promises the README makes at the CLI boundary, each written first as a failing reproduction:
cluster names have their own message, table cells are data (not Rich markup), an empty list
says where the stores are, help that was asked for exits 0, Typer's private click is confined."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from fakes import event, pod, ready_objects
from test_cli import Cli
from urumi_cli import errors
from urumi_cli.models import Store

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def cli(tmp_path, runner, kube, helm) -> Cli:
    return Cli(tmp_path, runner, kube, helm)


def _store(name, cluster="kind-urumi", message="", status="failed") -> Store:
    return Store(name=name, type="woocommerce", cluster=cluster, namespace=f"store-{name}", release=name,
                 url=f"http://{name}.localhost/", status=status, message=message)


@pytest.mark.parametrize("command", ["status", "up", "down"])
def test_cluster_names_are_validated_as_cluster_names(cli, command):
    result = cli("cluster", command, "--name", "Bad_", "--yes") if command == "down" else \
        cli("cluster", command, "--name", "Bad_")
    assert result.exit_code == errors.EXIT_USAGE
    line = result.stderr.strip()
    assert line.startswith("error: invalid cluster name 'Bad_'") and "store" not in line
    assert cli.runner.calls == []


@pytest.mark.parametrize("message", ["tag [/x] here", "[red]alarm[/red]", "[bold", "]][[", "\\[escaped]"])
def test_table_cells_are_data_not_markup(cli, message):
    cli.registry.put_store(_store("shop", message=message))
    result = cli("store", "list")
    assert result.exit_code == 0, result.output
    assert message in result.stdout.replace("\n", "")  # neither a MarkupError nor a vanished [red]


def test_describe_shows_cluster_text_verbatim(cli, kube):
    kube.add_namespace("store-shop", {"app.kubernetes.io/managed-by": "urumi", "urumi.dev/store-name": "shop",
                                      "urumi.dev/store-type": "woocommerce"})
    objs = ready_objects()
    objs["pods"] = [pod("shop-web-abc", ready=False, waiting="CrashLoopBackOff")]
    objs["pods"][0]["status"]["containerStatuses"][0]["state"]["waiting"]["message"] = "back-off [/x] [red]r[/red]"
    objs["events"] = [event(kind="Pod", obj="shop-web-abc", reason="BackOff", message="probe [/y] failed")]
    kube.objects["store-shop"] = objs
    result = cli("store", "describe", "shop")
    assert result.exit_code == 0, result.output
    assert "back-off [/x] [red]r[/red]" in result.stdout and "probe [/y] failed" in result.stdout


def test_an_empty_list_names_the_stores_under_other_contexts(cli):
    cli.registry.put_store(_store("a", cluster="prod-eu"))
    cli.registry.put_store(_store("b", cluster="prod-eu"))
    cli.registry.put_store(_store("c", cluster="kind-other"))
    result = cli("store", "list")
    assert result.exit_code == 0
    assert "No stores in context kind-urumi" in result.stderr
    said = " ".join(result.stderr.split())
    assert "3 under other contexts (1 in kind-other, 2 in prod-eu)" in said and "--all-clusters" in said
    assert json.loads(cli("store", "list", "-o", "json").stdout) == []  # scripts still get []
    assert {s["name"] for s in json.loads(cli("store", "list", "-A", "-o", "json").stdout)} == {"a", "b", "c"}


@pytest.mark.parametrize("argv", [[], ["store"], ["cluster"]])
def test_help_that_was_asked_for_exits_0_on_stdout(argv):
    result = subprocess.run([sys.executable, "-m", "urumi_cli", *argv], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "Usage: urumi" in result.stdout and result.stderr == ""


def test_a_usage_error_still_exits_2():
    result = subprocess.run([sys.executable, "-m", "urumi_cli", "store", "nosuch"], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == errors.EXIT_USAGE and result.stderr.startswith("error: ")


def test_typer_still_vendors_the_click_names_urumi_uses():
    """Fails loudly when a Typer release moves typer._click (cli/clicompat.py is the only user)."""
    import typer._click.exceptions as vendored

    from urumi_cli.cli import clicompat

    for name in ("ClickException", "NoArgsIsHelpError", "UsageError"):
        assert getattr(clicompat, name) is getattr(vendored, name)
    assert issubclass(clicompat.NoArgsIsHelpError, clicompat.UsageError)


def test_only_clicompat_imports_typer_private_click():
    from pathlib import Path

    package = Path(__file__).resolve().parents[2] / "urumi_cli"
    users = [p.name for p in package.rglob("*.py") if "typer._click" in p.read_text()]
    assert users == ["clicompat.py"]
