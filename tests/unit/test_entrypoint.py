"""The production entry point (`python -m urumi_cli`, main(), run()) in a real process, and the CLI
commands no other test drives through Typer: `store list --watch` and `cluster up/down`."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys

import pytest
from rich.console import Console
from typer.testing import CliRunner

from fakes import FakeKube, FollowStream, deployment, ready_objects
from urumi_cli import __main__ as entry
from urumi_cli import config
from urumi_cli.actions import refresh
from urumi_cli.actions.contract import LABEL_NAME, LABEL_TYPE, MANAGED_BY
from urumi_cli.adapters.helm import Helm
from urumi_cli.adapters.kind import Kind
from urumi_cli.adapters.registry import Registry
from urumi_cli.adapters.runner import CommandResult
from urumi_cli.adapters.tools import Docker, Kubectl
from urumi_cli.adapters.watching import ApiDenied
from urumi_cli.cli.app import build_app, run
from urumi_cli.cli.deps import Deps
from urumi_cli.config import Settings
from urumi_cli.models import Store
from urumi_cli.ui.console import Consoles, make_consoles

pytestmark = pytest.mark.timeout(30)


# -- a real process ----------------------------------------------------------------------------
def urumi(*args, env_home) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "URUMI_HOME": str(env_home)}
    return subprocess.run([sys.executable, "-m", "urumi_cli", *args], capture_output=True, text=True, env=env,
                          timeout=60)


def test_version_in_a_process(tmp_path):
    from urumi_cli import __version__

    result = urumi("--version", env_home=tmp_path / "home")
    assert (result.returncode, result.stdout, result.stderr) == (0, f"urumi {__version__}\n", "")


def test_help_in_a_process(tmp_path):
    result = urumi("--help", env_home=tmp_path / "home")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("Usage: urumi [OPTIONS] COMMAND [ARGS]...")
    commands = result.stdout.split("Commands:")[1].split()
    assert {"cluster", "store", "doctor", "dashboard"} <= set(commands)


def test_an_unknown_command_is_one_line_and_exit_2(tmp_path):
    result = urumi("nosuch", env_home=tmp_path / "home")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == "error: No such command 'nosuch'. (see `urumi --help`)\n"


def test_store_list_json_in_a_process_reads_an_empty_home(tmp_path):
    home = tmp_path / "home"
    result = urumi("store", "list", "-o", "json", env_home=home)
    assert (result.returncode, result.stdout, result.stderr) == (0, "[]\n", "")
    assert not home.exists()  # a read creates nothing


def test_main_exits_with_runs_code(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["urumi", "store", "list", "-o", "json"])
    with pytest.raises(SystemExit) as info:
        entry.main()
    assert info.value.code == 0 and capsys.readouterr().out == "[]\n"
    monkeypatch.setattr(sys, "argv", ["urumi", "store", "get"])
    with pytest.raises(SystemExit) as info:
        entry.main()
    assert info.value.code == 2


def test_run_returns_the_exit_code_instead_of_exiting(capsys):
    assert run(["--version"]) == 0
    assert run(["store", "nosuch"]) == 2
    assert run([]) == 0  # help, as kubectl and helm do
    out, err = capsys.readouterr()
    assert out.startswith("urumi ") and "Usage: urumi" in out
    assert err == "error: No such command 'nosuch'. (see `urumi store --help`)\n"


# -- commands through CliRunner with fakes -----------------------------------------------------
class Cli:
    def __init__(self, tmp_path, runner, kube, helm, *, terminal_out=False):
        self.settings = Settings(home=tmp_path / "home")
        self.registry = Registry(self.settings.registry_path)
        self.runner, self.kube, self.helm = runner, kube, helm
        self.targets = []
        self.tty = False
        self.terminal_out = terminal_out
        self.screen = io.StringIO()  # stdout when it is a terminal

    def kube_factory(self, target):
        self.targets.append(target)
        return self.kube

    def deps(self) -> Deps:
        consoles = make_consoles(width=100, stdout=FollowStream("stdout"), stderr=FollowStream("stderr"))
        if self.terminal_out:
            # stdout on a terminal: Live redraws on each update (off one, it shows only the last). Its
            # own file: on a terminal Live redirects sys.stdout into the console, which FollowStream
            # would write back to sys.stdout, forever.
            consoles = Consoles(out=Console(file=self.screen, width=120, force_terminal=True, color_system=None),
                                err=consoles.err)
        return Deps(settings=self.settings, consoles=consoles, runner=self.runner, helm=self.helm,
                    kind=Kind(self.runner), docker=Docker(self.runner), kubectl=Kubectl(self.runner),
                    registry=self.registry, kube_factory=self.kube_factory, is_tty=lambda: self.tty)

    def __call__(self, *args, input=None):
        return CliRunner().invoke(build_app(), list(args), obj=self.deps(), input=input)


def store(name, status="ready", message="") -> Store:
    return Store(name=name, type="woocommerce", cluster="kind-urumi", namespace=f"store-{name}", release=name,
                 url=f"http://{name}.localhost/", status=status, message=message)


@pytest.fixture
def cli(tmp_path, runner, kube, helm) -> Cli:
    return Cli(tmp_path, runner, kube, helm, terminal_out=True)


def test_store_list_watch_draws_each_snapshot_until_the_updates_end(cli, monkeypatch):
    calls = []

    def two_snapshots(*, registry, kube, cluster):
        calls.append((registry, kube, cluster))
        yield [store("alpha", "provisioning", "web 0/1 ready")]
        yield [store("alpha"), store("beta", "failed", "setup [red]job[/x] failed")]

    monkeypatch.setattr(refresh, "watch_stores", two_snapshots)
    result = cli("store", "list", "--watch")
    assert result.exit_code == 0, result.output
    assert calls == [(cli.registry, cli.kube, "kind-urumi")]
    screen = cli.screen.getvalue()
    frames = re.split(r"NAME +TYPE", screen)[1:]  # one table per snapshot (Live draws the last again on stop)
    assert len(frames) >= 2, screen
    first, second = frames[0], frames[1]
    assert "alpha" in first and "provisioning" in first and "web 0/1 ready" in first and "beta" not in first
    assert "provisioning" not in second and "ready" in second
    assert "setup [red]job[/x] failed" in second  # text from the cluster, verbatim
    assert re.search(r"kind-urumi · \d\d:\d\d:\d\d · Ctrl-C to stop", second)
    assert all("beta" in frame for frame in frames[1:])  # the screen is left on the last table
    assert result.stdout == result.stderr == ""


def test_store_list_watch_off_a_terminal_leaves_the_last_table(tmp_path, runner, kube, helm, monkeypatch):
    cli = Cli(tmp_path, runner, kube, helm)
    monkeypatch.setattr(refresh, "watch_stores", lambda **kw: iter([[store("alpha", "provisioning")],
                                                                    [store("alpha")]]))
    result = cli("store", "list", "--watch")
    assert result.exit_code == 0
    assert len(re.findall(r"NAME +TYPE", result.stdout)) == 1
    assert "provisioning" not in result.stdout and "ready" in result.stdout


def test_ctrl_c_in_store_list_watch_exits_0_with_the_table_shown(cli, monkeypatch):
    def interrupted(**kwargs):
        yield [store("alpha")]
        raise KeyboardInterrupt

    monkeypatch.setattr(refresh, "watch_stores", interrupted)
    result = cli("store", "list", "--watch")
    assert result.exit_code == 0 and result.stderr == ""
    assert "alpha" in cli.screen.getvalue() and "interrupted" not in result.output


def test_store_list_watch_over_fake_kube_shows_the_clusters_stores(cli, monkeypatch):
    cli.kube.add_namespace("store-blog", {MANAGED_BY: "urumi", LABEL_NAME: "blog", LABEL_TYPE: "woocommerce"},
                           {"urumi.dev/url": "http://blog.localhost/"})
    cli.kube.objects["store-blog"] = ready_objects("blog")
    real = refresh.watch_stores

    def first_snapshot(**kwargs):  # the real list-then-watch loop, stopped after its first snapshot
        updates = real(**kwargs)
        try:
            yield next(updates)
        finally:
            updates.close()

    monkeypatch.setattr(refresh, "watch_stores", first_snapshot)
    result = cli("store", "list", "--watch")
    assert result.exit_code == 0, result.output
    row = next(line for line in cli.screen.getvalue().splitlines() if "blog" in line).split()
    assert row[:5] == ["blog", "woocommerce", "ready", "http://blog.localhost/", "store-blog"]
    assert [s.name for s in cli.registry.list_stores("kind-urumi")] == ["blog"]  # records follow the cluster


def test_store_list_watch_losing_the_api_is_one_error_line(cli):
    class DeniedKube(FakeKube):
        def list(self, resource, namespace, selector):
            if resource == "pods":
                raise ApiDenied("pods is forbidden")
            return super().list(resource, namespace, selector)

    cli.kube = DeniedKube()
    result = cli("store", "list", "--watch")
    assert result.exit_code == 3
    assert result.stderr.splitlines() == [
        "error: lost the Kubernetes API while watching stores: pods is forbidden "
        "(hint: check the cluster with `urumi cluster status`)"]
    cli.kube.closed.set()


def test_store_list_watch_is_a_table_only(cli):
    result = cli("store", "list", "--watch", "-o", "json")
    assert result.exit_code == 2 and "--watch shows a table" in result.stderr
    assert cli.targets == []


# -- cluster up / down -------------------------------------------------------------------------
HELM_VERSION = ["helm", "version", "--template", "{{.Version}}"]


@pytest.fixture
def cluster_cli(tmp_path, runner, tool_path, kube) -> Cli:
    runner.on(["kind", "version"], stdout="kind v0.27.0 go1.23 linux/amd64")
    runner.on(HELM_VERSION, stdout="v4.0.1")
    runner.on(["docker", "info"], stdout="27.3.1\n")
    clusters: list[str] = []  # what the fake kind knows
    runner.on(["kind", "get", "clusters"],
              action=lambda argv: CommandResult(argv, 0, "".join(f"{c}\n" for c in clusters), ""))
    runner.on(["kind", "create", "cluster"], action=lambda argv: clusters.append(argv[argv.index("--name") + 1]))
    runner.on(["kind", "delete", "cluster"], action=lambda argv: clusters.remove(argv[argv.index("--name") + 1]))
    runner.on(["helm", "upgrade"])
    kube.objects["traefik"] = {"deployments": [deployment("traefik", component="ingress", release="traefik")]}
    return Cli(tmp_path, runner, kube, Helm(runner))


def test_cluster_up_in_the_cli(cluster_cli, runner):
    result = cluster_cli("cluster", "up")
    assert result.exit_code == 0, result.output
    argvs = runner.argvs()
    create = next(a for a in argvs if a[:3] == ["kind", "create", "cluster"])
    assert create[create.index("--config") + 1] == str(config.default_kind_config())
    upgrade = next(a for a in argvs if a[:2] == ["helm", "upgrade"])
    assert upgrade[:5] == ["helm", "upgrade", "--install", "traefik", "traefik"]
    assert result.stdout.splitlines()[0].split() == ["CLUSTER", "CONTEXT", "EXISTS", "API", "INGRESS", "STORES",
                                                     "MESSAGE"]
    assert result.stdout.splitlines()[-1].split() == ["urumi", "kind-urumi", "yes", "yes", "ready", "0", "ready"]
    log = result.stderr.splitlines()  # not a terminal: the plain progress log, then the next step
    assert any(line.endswith("ok   created kind cluster urumi") for line in log), log
    assert any(line.endswith("ok   docker 27.3.1, kind 0.27.0, helm 4.0.1") for line in log), log
    assert log[-1].startswith("Next: urumi store create --type woocommerce --name shop")
    assert cluster_cli.registry.get_cluster("urumi")["context"] == "kind-urumi"
    assert [t.context for t in cluster_cli.targets] == ["kind-urumi"]

    again = cluster_cli("cluster", "up", "-o", "json")  # idempotent; machine output, no progress
    assert again.exit_code == 0 and again.stderr == ""
    info = json.loads(again.stdout)
    assert (info["created"], info["reachable"], info["ingress_ready"]) == (False, True, True)
    assert sum(a[:3] == ["kind", "create", "cluster"] for a in runner.argvs()) == 1


def test_cluster_up_with_a_bad_name_runs_nothing(cluster_cli, runner):
    result = cluster_cli("cluster", "up", "--name", "Bad_Name")
    assert result.exit_code == 2 and result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
    assert runner.argvs() == []


def test_cluster_up_with_a_missing_config_is_an_environment_error(cluster_cli, tmp_path):
    result = cluster_cli("cluster", "up", "--config", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 3
    assert result.stderr.splitlines()[-1] == f"error: kind config {tmp_path / 'nope.yaml'} not found " \
                                             "(hint: pass --config PATH)"


def test_cluster_down_in_the_cli(cluster_cli, runner):
    assert cluster_cli("cluster", "up", "-o", "json").exit_code == 0
    cluster_cli.registry.put_store(store("shop"))
    refused = cluster_cli("cluster", "down")  # off a terminal, nobody can confirm
    assert refused.exit_code == 2 and "pass --yes" in refused.stderr
    assert not [a for a in runner.argvs() if a[:2] == ["kind", "delete"]]

    result = cluster_cli("cluster", "down", "--yes")
    assert result.exit_code == 0, result.output
    assert ["kind", "delete", "cluster", "--name", "urumi"] in runner.argvs()
    assert result.stdout == ""
    log = result.stderr.splitlines()
    assert log[0].endswith("... deleting kind cluster urumi") and log[1].endswith("ok   deleted kind cluster urumi")
    assert " ".join(" ".join(log[2:]).split()) == ("cluster urumi deleted; 1 store(s) went with it (their data "
                                                   "lived in the cluster) and were removed from the registry")
    assert cluster_cli.registry.list_stores() == []

    gone = cluster_cli("cluster", "down", "--yes")
    assert gone.exit_code == 4
    assert gone.stderr.splitlines()[-1] == "error: no kind cluster named urumi (hint: see `kind get clusters`)"


def test_cluster_down_asks_on_a_terminal(cluster_cli, runner):
    assert cluster_cli("cluster", "up", "-o", "json").exit_code == 0
    cluster_cli.tty = True
    kept = cluster_cli("cluster", "down", input="n\n")
    assert kept.exit_code == 1 and not [a for a in runner.argvs() if a[:2] == ["kind", "delete"]]
    result = cluster_cli("cluster", "down", "-o", "json", input="y\n")
    assert result.exit_code == 0, result.output
    assert "Delete kind cluster urumi and its 0 store(s) with all their data?" in result.stderr
    # CliRunner echoes the typed answer to stdout (a terminal would echo it where it was typed).
    assert result.stdout.startswith(" y\n")
    assert json.loads(result.stdout[3:]) == {"name": "urumi", "deleted": True, "stores_removed": 0}
