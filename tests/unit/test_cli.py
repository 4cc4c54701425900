"""The CLI boundary through Typer's CliRunner, with fake adapters in the context object:
bad input is one `error:` line and exit 2, exit codes follow errors.py, JSON output is stable."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from fakes import FollowStream, ready_objects
from urumi_cli import errors
from urumi_cli.actions.contract import LABEL_NAME, LABEL_TYPE, MANAGED_BY
from urumi_cli.adapters.kind import Kind
from urumi_cli.adapters.registry import Registry
from urumi_cli.adapters.tools import Docker, Kubectl
from urumi_cli.cli.app import build_app
from urumi_cli.cli.deps import Deps
from urumi_cli.config import Settings
from urumi_cli.models import Store
from urumi_cli.ui.console import make_consoles

pytestmark = pytest.mark.timeout(30)


class Cli:
    def __init__(self, tmp_path, runner, kube, helm):
        self.settings = Settings(home=tmp_path / "home")
        self.registry = Registry(self.settings.registry_path)
        self.runner, self.kube, self.helm = runner, kube, helm
        self.targets = []
        self.kube_error: Exception | None = None
        self.tty = False

    def kube_factory(self, target):
        self.targets.append(target)
        if self.kube_error is not None:
            raise self.kube_error
        return self.kube

    def deps(self) -> Deps:
        consoles = make_consoles(width=100, stdout=FollowStream("stdout"), stderr=FollowStream("stderr"))
        return Deps(settings=self.settings, consoles=consoles, runner=self.runner, helm=self.helm,
                    kind=Kind(self.runner), docker=Docker(self.runner), kubectl=Kubectl(self.runner),
                    registry=self.registry, kube_factory=self.kube_factory, is_tty=lambda: self.tty)

    def __call__(self, *args, catch_exceptions=True):
        return CliRunner().invoke(build_app(), list(args), obj=self.deps(), catch_exceptions=catch_exceptions)

    def seed(self) -> bytes:
        self.registry.put_store(Store(name="existing", type="woocommerce", cluster="kind-urumi",
                                      namespace="store-existing", release="existing", url="http://existing.localhost/",
                                      status="ready"))
        return self.registry.path.read_bytes()


@pytest.fixture
def cli(tmp_path, runner, kube, helm) -> Cli:
    return Cli(tmp_path, runner, kube, helm)


def _one_error_line(result) -> str:
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "unexpected" not in lines[0]
    return lines[0]


BAD_NAMES = ["Bad_Name!", "-x", "a;rm -rf /", "a" * 70, "", "Shop", "_", "my shop", " shop", "shöp", "shop-",
             "a" * 41, "shop.example", "$(id)", "../etc", "shop\n"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_store_names_are_usage_errors_and_change_nothing(cli, name):
    before = cli.seed()
    result = cli("store", "create", f"--name={name}")
    assert result.exit_code == errors.EXIT_USAGE
    line = _one_error_line(result)
    assert "store name" in line and "hint:" in line
    assert cli.registry.path.read_bytes() == before
    assert cli.runner.calls == [] and cli.helm.calls == [] and cli.targets == []


@pytest.mark.parametrize("name", ["Bad_Name!", "-x", "a;rm -rf /", "a" * 70, "shöp"])
@pytest.mark.parametrize("command", ["get", "describe", "credentials", "test", "delete"])
def test_bad_names_as_arguments(cli, name, command):
    before = cli.seed()
    result = cli("store", command, "--yes", "--", name) if command == "delete" else cli("store", command, "--", name)
    assert result.exit_code == errors.EXIT_USAGE
    _one_error_line(result)
    assert cli.registry.path.read_bytes() == before
    assert cli.kube.calls == [] and cli.helm.calls == []


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--type", "magento"], "unknown store type 'magento'"),
        (["--type", ""], "unknown store type"),
        (["--timeout", "-5"], "invalid duration"),
        (["--timeout=-5"], "invalid duration"),
        (["--timeout", "garbage"], "invalid duration"),
        (["--timeout", "0"], "greater than zero"),
        (["--timeout", "10 minutes"], "invalid duration"),
        (["--env", "staging"], "unknown environment 'staging'"),
        (["-o", "xml"], "unknown output format 'xml'"),
        (["--domain", "bad_domain!"], "invalid domain"),
        (["--env", "prod"], "--env prod needs --domain"),
        (["--bogus-flag"], "no such option"),
    ],
)
def test_bad_create_options_are_usage_errors(cli, args, words):
    before = cli.seed()
    result = cli("store", "create", "--name", "shop", *args)
    assert result.exit_code == errors.EXIT_USAGE
    assert words.lower() in _one_error_line(result).lower()
    assert cli.registry.path.read_bytes() == before
    assert cli.helm.calls == [] and cli.runner.calls == []


@pytest.mark.parametrize("args", [["store", "list", "-o", "xml"], ["store", "sync", "-o", "csv"],
                                  ["store", "get", "shop", "-o", "xml"], ["doctor", "-o", "html"],
                                  ["cluster", "status", "-o", "xml"]])
def test_unknown_output_format_everywhere(cli, args):
    result = cli(*args)
    assert result.exit_code == errors.EXIT_USAGE
    assert "unknown output format" in _one_error_line(result)
    assert cli.runner.calls == [] and cli.targets == []


def test_missing_required_name_is_a_usage_error(cli):
    result = cli("store", "create")
    assert result.exit_code == errors.EXIT_USAGE
    assert "--name" in _one_error_line(result)


def test_store_list_json_on_an_empty_registry(cli):
    result = cli("store", "list", "-o", "json")
    assert result.exit_code == 0
    assert result.stdout == "[]\n"
    assert result.stderr == ""
    assert not cli.registry.path.exists()  # a read creates nothing
    assert cli.targets == []  # and never dials the cluster


def test_store_list_json_and_yaml_shape(cli):
    cli.seed()
    data = json.loads(cli("store", "list", "-o", "json").stdout)
    assert [d["name"] for d in data] == ["existing"]
    assert list(data[0]) == ["name", "id", "type", "namespace", "status", "url", "created_at", "ready_at",
                             "message", "cluster", "env", "release", "updated_at", "owner"]
    assert yaml.safe_load(cli("store", "list", "-o", "yaml").stdout) == data
    assert cli("store", "list", "-o", "json", "--context", "kind-elsewhere").stdout == "[]\n"
    assert len(json.loads(cli("store", "list", "-o", "json", "-A", "--context", "kind-elsewhere").stdout)) == 1


def test_store_list_table_is_stable(cli):
    cli.seed()
    result = cli("store", "list")
    assert result.exit_code == 0
    header = result.stdout.splitlines()[0].split()
    assert header == ["NAME", "TYPE", "STATUS", "URL", "NAMESPACE", "AGE", "MESSAGE"]
    assert "existing" in result.stdout and "\x1b[" not in result.stdout


def test_empty_table_hints_at_create(cli):
    result = cli("store", "list")
    assert result.exit_code == 0 and result.stdout == ""
    assert "urumi store create" in result.stderr


def test_delete_without_yes_off_a_terminal_is_refused(cli):
    before = cli.seed()
    result = cli("store", "delete", "existing")
    assert result.exit_code == errors.EXIT_USAGE
    assert "--yes" in _one_error_line(result)
    assert cli.registry.path.read_bytes() == before
    assert cli.kube.calls == [] and cli.helm.calls == []


def test_delete_on_a_terminal_asks_and_no_keeps_the_store(cli):
    before = cli.seed()
    cli.tty = True
    result = CliRunner().invoke(build_app(), ["store", "delete", "existing"], obj=cli.deps(), input="n\n")
    assert result.exit_code == 1
    assert cli.registry.path.read_bytes() == before
    assert cli.helm.calls == []


def test_delete_of_a_missing_store_is_not_found(cli):
    result = cli("store", "delete", "ghost", "--yes")
    assert result.exit_code == errors.EXIT_NOT_FOUND
    assert "ghost" in _one_error_line(result)


def test_delete_missing_with_ignore_not_found(cli):
    result = cli("store", "delete", "ghost", "--yes", "--ignore-not-found", "-o", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"name": "ghost", "deleted": False}


def test_create_then_list_then_delete(cli):
    result = cli("store", "create", "--name", "shop", "-o", "json")
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    assert created["name"] == created["id"] == "shop"
    assert created["status"] == "ready" and created["url"] == "http://shop.localhost/"
    assert created["namespace"] == "store-shop" and created["cluster"] == "kind-urumi"
    assert [t.context for t in cli.targets] == ["kind-urumi"]

    listed = json.loads(cli("store", "list", "-o", "json").stdout)
    assert [s["status"] for s in listed] == ["ready"]

    result = cli("store", "delete", "shop", "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"name": "shop", "deleted": True}
    assert cli("store", "list", "-o", "json").stdout == "[]\n"


def test_create_table_output_names_the_url(cli):
    result = cli("store", "create", "--name", "shop")
    assert result.exit_code == 0, result.output
    assert "http://shop.localhost/" in result.stdout
    assert "urumi store credentials shop" in result.stderr


def test_credentials_are_shown_only_on_request(cli):
    assert cli("store", "create", "--name", "shop", "-o", "json").exit_code == 0
    secret = cli.kube.secrets[("store-shop", "store-credentials")]
    result = cli("store", "credentials", "shop", "-o", "json")
    assert result.exit_code == 0
    creds = json.loads(result.stdout)
    assert creds["password"] == secret["admin-password"] and creds["username"] == "admin"
    assert creds["admin_url"] == "http://shop.localhost/wp-admin/"
    assert secret["admin-password"] not in cli("store", "list", "-o", "json").stdout
    assert secret["admin-password"] not in cli("store", "get", "shop", "-o", "json").stdout


def test_unreachable_cluster_is_an_environment_exit(cli):
    cli.kube_error = errors.ClusterUnreachable("cannot reach the Kubernetes API of context 'kind-urumi'",
                                               "check that the cluster runs")
    result = cli("store", "get", "shop")
    assert result.exit_code == errors.EXIT_ENVIRONMENT
    assert _one_error_line(result) == ("error: cannot reach the Kubernetes API of context 'kind-urumi' "
                                       "(hint: check that the cluster runs)")


def test_get_of_a_missing_store_is_not_found(cli):
    result = cli("store", "get", "ghost")
    assert result.exit_code == errors.EXIT_NOT_FOUND
    _one_error_line(result)


def test_stuck_delete_is_a_timeout_with_diagnostics(cli):
    assert cli("store", "create", "--name", "shop").exit_code == 0
    cli.kube.stuck = {"metadata": {"name": "store-shop"},
                      "status": {"phase": "Terminating",
                                 "conditions": [{"type": "NamespaceFinalizersRemaining", "status": "True",
                                                 "message": "example.com/hold in 1 resource instances"}]}}
    result = cli("store", "delete", "shop", "--yes", "--timeout", "1s")
    assert result.exit_code == errors.EXIT_TIMEOUT
    lines = result.stderr.splitlines()
    errors_at = [i for i, line in enumerate(lines) if line.startswith("error:")]
    assert len(errors_at) == 1
    first, *details = lines[errors_at[0]:]  # progress lines come before, diagnostics under it
    assert "FAIL" in lines[errors_at[0] - 1]
    assert first.startswith("error: namespace store-shop did not finish deleting")
    assert any("NamespaceFinalizersRemaining" in line for line in details)
    assert "Traceback" not in result.output


def test_failed_provisioning_exits_1_with_indented_diagnostics(cli):
    objs = ready_objects()
    objs["pods"][0]["status"]["containerStatuses"] = [
        {"name": "wordpress", "state": {"waiting": {"reason": "ImagePullBackOff", "message": "no such image"}}}]
    cli.helm.objects_on_install = objs
    result = cli("store", "create", "--name", "shop", "-o", "json")
    assert result.exit_code == errors.EXIT_FAILED
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "ImagePullBackOff" in error_lines[0]
    assert any(line.startswith("  pod shop-web-abc") for line in result.stderr.splitlines())
    assert result.stdout == ""
    assert cli.registry.get_store("kind-urumi", "shop").status == "failed"


def test_ctrl_c_during_helm_exits_130(cli):
    def interrupt(release, info):
        raise KeyboardInterrupt

    cli.helm.on_upgrade = interrupt
    result = cli("store", "create", "--name", "shop")
    assert result.exit_code == errors.EXIT_INTERRUPTED
    assert "interrupted" in result.stderr.splitlines()[-1]
    assert cli.registry.get_store("kind-urumi", "shop").status == "failed"


def test_a_bug_is_one_line_without_debug_and_a_traceback_with_it(cli):
    def broken(release, info):
        raise ZeroDivisionError("division by zero")

    cli.helm.on_upgrade = broken
    result = cli("store", "create", "--name", "shop")
    assert result.exit_code == errors.EXIT_FAILED
    line = result.stderr.splitlines()[-1]
    assert line.startswith("error: unexpected ZeroDivisionError") and "--debug" in line
    result = cli("--debug", "store", "create", "--name", "other")
    assert isinstance(result.exception, ZeroDivisionError)


def test_explicit_context_and_kubeconfig_reach_the_kube_factory(cli, tmp_path):
    kubeconfig = tmp_path / "kc.yaml"
    kubeconfig.write_text("current-context: prod-ctx\ncontexts:\n- name: prod-ctx\n")
    assert cli("store", "list", "--refresh", "--context", "ctx-a", "-o", "json").exit_code == 0
    assert cli("store", "list", "--refresh", "--kubeconfig", str(kubeconfig), "-o", "json").exit_code == 0
    assert [(t.context, t.kubeconfig) for t in cli.targets] == [("ctx-a", None), ("prod-ctx", str(kubeconfig))]


def test_sync_rebuilds_from_labelled_namespaces(cli):
    cli.kube.add_namespace("store-blog", {MANAGED_BY: "urumi", LABEL_NAME: "blog", LABEL_TYPE: "woocommerce"},
                           {"urumi.dev/url": "http://blog.localhost/"})
    cli.kube.objects["store-blog"] = ready_objects("blog")
    result = cli("store", "sync", "-o", "json")
    assert result.exit_code == 0, result.output
    assert [(s["name"], s["status"], s["url"]) for s in json.loads(result.stdout)] == \
        [("blog", "ready", "http://blog.localhost/")]


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0 and result.stdout.startswith("urumi 0.")


def test_exit_codes_are_the_documented_ones():
    assert (errors.EXIT_OK, errors.EXIT_FAILED, errors.EXIT_USAGE, errors.EXIT_ENVIRONMENT, errors.EXIT_NOT_FOUND,
            errors.EXIT_TIMEOUT, errors.EXIT_INTERRUPTED) == (0, 1, 2, 3, 4, 5, 130)
    expected = {errors.UsageError: 2, errors.EnvironmentProblem: 3, errors.ToolMissing: 3,
                errors.ClusterUnreachable: 3, errors.NotFound: 4, errors.Conflict: 1, errors.OperationFailed: 1,
                errors.TimedOut: 5, errors.RegistryError: 1, errors.Interrupted: 130}
    assert {cls: cls.exit_code for cls in expected} == expected


def test_real_deps_check_the_context_before_dialing(cli, tmp_path):
    kubeconfig = tmp_path / "kc.yaml"
    kubeconfig.write_text("current-context: a\ncontexts:\n- name: a\n- name: b\n")
    deps = cli.deps()
    deps.kube_factory = None  # the real path: check_target, then the kubernetes client
    result = CliRunner().invoke(build_app(), ["store", "get", "shop", "--kubeconfig", str(kubeconfig),
                                              "--context", "c"], obj=deps)
    assert result.exit_code == errors.EXIT_USAGE
    assert "known: a, b" in _one_error_line(result)


def test_an_unusable_urumi_home_is_one_clear_error(cli, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    cli.settings = Settings(home=blocker / "x")  # like URUMI_HOME=/etc/passwd/x
    cli.registry = Registry(cli.settings.registry_path)
    result = cli("store", "create", "--name", "shop")
    assert result.exit_code == errors.EXIT_FAILED
    line = _one_error_line(result)
    assert str(blocker / "x") in line and "URUMI_HOME" in line
    assert cli.helm.calls == []
