"""Shell completion in a real process, as the shell calls it: Typer's --show-completion and
--install-completion, store names from the registry (with no Kubernetes import: no cluster call
is possible), the fixed sets of --type/--env/-o/--component, and those sets in --help."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from urumi_cli.adapters.registry import Registry
from urumi_cli.models import Store

pytestmark = pytest.mark.timeout(60)


def urumi(*args, home, extra_env=None, importtime=False):
    env = {**os.environ, "URUMI_HOME": str(home), "HOME": str(home), "KUBECONFIG": str(home / "none"),
           **(extra_env or {})}
    argv = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "urumi_cli", *args]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=50, cwd=home)


def complete(words: str, home, **kwargs):
    """What bash gets back for `words` (the last word is the one being completed)."""
    parts = words.split(" ")
    env = {"_URUMI_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(parts) - 1)}
    return urumi(home=home, extra_env=env, **kwargs)


@pytest.fixture
def home(tmp_path):
    registry = Registry(tmp_path / "registry.json")
    for name, context in (("shop", "kind-urumi"), ("shoes", "kind-urumi"), ("bakery", "kind-urumi"),
                          ("shipyard", "prod")):
        registry.put_store(Store(name=name, type="woocommerce", cluster=context, namespace=f"store-{name}",
                                 release=name, url=f"http://{name}.localhost/", status="ready"))
    return tmp_path


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_show_completion_prints_the_script_for_each_shell(home, shell):
    result = urumi("--show-completion", shell, home=home,
                   extra_env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert result.returncode == 0, result.stderr
    assert f"_URUMI_COMPLETE=complete_{shell}" in result.stdout and "urumi" in result.stdout


def test_install_completion_writes_the_shells_files_under_home(home):
    result = urumi("--install-completion", "bash", home=home,
                   extra_env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert result.returncode == 0, result.stderr
    assert "bash completion installed in" in result.stdout
    script = home / ".bash_completions" / "urumi.sh"
    assert "_URUMI_COMPLETE=complete_bash" in script.read_text()
    assert str(script) in (home / ".bashrc").read_text()


def test_store_names_come_from_the_registry_without_kubernetes(home):
    result = complete("urumi store get sh", home, importtime=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["shipyard", "shoes", "shop"]  # every context without --context
    imported = [line for line in result.stderr.splitlines() if line.rstrip().endswith("| kubernetes")]
    assert imported == []


def test_store_names_of_the_context_given(home):
    assert complete("urumi store delete --context prod ", home).stdout.split() == ["shipyard"]
    assert complete("urumi store history --context kind-urumi sho", home).stdout.split() == ["shoes", "shop"]


def test_no_registry_completes_nothing_and_says_nothing(tmp_path):
    result = complete("urumi store logs ", tmp_path)
    assert result.returncode == 0 and result.stdout.split() == [] and result.stderr == ""
    assert not (tmp_path / "registry.json").exists()


@pytest.mark.parametrize("words, expected", [
    ("urumi store create --type ", ["woocommerce", "medusa"]),
    ("urumi store create --type me", ["medusa"]),
    ("urumi store create --env ", ["local", "prod"]),
    ("urumi store list -o ", ["table", "json", "yaml"]),
    ("urumi store logs shop --component c", ["cache"]),
    ("urumi store logs shop -o ", ["text", "json"]),
    ("urumi store up", ["upgrade"]),
    ("urumi store create --ow", ["--owner"]),
])
def test_fixed_sets_commands_and_options_complete(home, words, expected):
    assert complete(words, home).stdout.split() == expected


@pytest.mark.parametrize("args, shown", [
    (("store", "create", "--help"), ["--type [woocommerce|medusa]", "--env [local|prod]",
                                     "--output [table|json|yaml]"]),
    (("store", "logs", "--help"), ["--component [database|cache|web|setup]", "--output [text|json]"]),
    (("store", "list", "--help"), ["--output [table|json|yaml]"]),
])
def test_fixed_sets_are_choices_in_help(home, args, shown):
    result = urumi(*args, home=home)
    assert result.returncode == 0
    for text in shown:
        assert text in result.stdout, result.stdout


def test_a_value_outside_the_set_still_gets_urumis_message_and_hint(home):
    result = urumi("store", "create", "--name", "x", "--type", "magento", home=home)
    assert result.returncode == 2
    assert result.stderr == ("error: unknown store type 'magento' "
                             "(hint: choose one of: woocommerce, medusa)\n")
