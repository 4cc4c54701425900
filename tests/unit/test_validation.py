"""Everything a user types, and which kube context a command ends up talking to."""

from __future__ import annotations

import pytest

from urumi_cli.adapters.kubeconfig import check_target
from urumi_cli.cli.common import resolve_target
from urumi_cli.errors import EnvironmentProblem, UsageError
from urumi_cli.models import StoreType, Target
from urumi_cli.validation import (
    validate_cluster_name,
    MAX_STORE_NAME,
    parse_duration,
    validate_context_name,
    validate_domain,
    validate_env,
    validate_store_name,
    validate_store_type,
)


@pytest.mark.parametrize(("text", "seconds"), [
    ("600", 600), ("90s", 90), ("10m", 600), ("1.5h", 5400), ("250ms", 0.25), (" 5m ", 300), ("0.5", 0.5),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "-5", "-5s", "0", "0s", "0ms", "abc", "10x", "5 minutes", "1e3", "m",
                                  "inf", "nan", "5m0", "1h-30m", "m5", "5mm", "1.s", "0h0m0s", "5M", "1d"])
def test_parse_duration_rejects(text):
    with pytest.raises(UsageError) as info:
        parse_duration(text)
    assert "duration" in info.value.message and info.value.hint


def test_store_name_length_boundary():
    assert MAX_STORE_NAME == 40
    assert validate_store_name("a" * 40) == "a" * 40
    with pytest.raises(UsageError) as info:
        validate_store_name("a" * 41)
    assert "41 characters" in info.value.message and "at most 40" in info.value.message


@pytest.mark.parametrize("name", ["a", "shop", "shop-2", "1shop", "a-b-c", "0"])
def test_store_names_accepted(name):
    assert validate_store_name(name) == name


@pytest.mark.parametrize("name", ["", "-x", "x-", "Shop", "my_shop", "_", "my shop", "shöp", "a;rm -rf /", "a.b",
                                  "shop\n", "--help", "ａｂｃ"])
def test_store_names_rejected(name):
    with pytest.raises(UsageError) as info:
        validate_store_name(name)
    assert info.value.hint


def test_rejected_name_is_quoted_in_the_message():
    with pytest.raises(UsageError) as info:
        validate_store_name("a;rm -rf /")
    assert "'a;rm -rf /'" in info.value.message


def test_store_type_and_env():
    assert validate_store_type("medusa") == StoreType.MEDUSA == "medusa"
    with pytest.raises(UsageError) as info:
        validate_store_type("Magento")
    assert "woocommerce" in info.value.hint and "medusa" in info.value.hint
    assert validate_env("prod") == "prod"
    with pytest.raises(UsageError):
        validate_env("staging")


@pytest.mark.parametrize(("text", "domain"), [("example.com", "example.com"), ("Shop.Example.COM.", "shop.example.com"),
                                              ("localhost", "localhost"), ("a-b.c-d.io", "a-b.c-d.io")])
def test_validate_domain(text, domain):
    assert validate_domain(text) == domain


@pytest.mark.parametrize("text", ["", "-bad.com", "bad-.com", "exa mple.com", "ex_ample.com", "a..b", "http://x.com",
                                  "x.com/path", ("a" * 64) + ".com", ".".join(["abcdefghi"] * 26)])
def test_validate_domain_rejects(text):
    with pytest.raises(UsageError):
        validate_domain(text)


@pytest.mark.parametrize("name", ["", "-x", "--kubeconfig=/etc/passwd", "ctx\nx"])
def test_context_names_that_could_be_flags_are_rejected(name):
    with pytest.raises(UsageError):
        validate_context_name(name)


# -- resolve_target ----------------------------------------------------------------------------
KUBECONFIG = """
apiVersion: v1
kind: Config
current-context: prod
contexts:
- name: prod
  context: {cluster: prod, user: admin}
- name: kind-urumi
  context: {cluster: kind-urumi, user: kind-urumi}
"""


def test_resolve_explicit_context_wins(tmp_path):
    kc = tmp_path / "kc"
    kc.write_text(KUBECONFIG)
    assert resolve_target(str(kc), "kind-urumi") == Target("kind-urumi", str(kc))
    assert resolve_target(None, "other") == Target("other", None)


def test_resolve_uses_the_explicit_kubeconfigs_current_context(tmp_path):
    kc = tmp_path / "kc"
    kc.write_text(KUBECONFIG)
    assert resolve_target(str(kc), None) == Target("prod", str(kc))


def test_resolve_defaults_to_kind_urumi_never_the_ambient_current_context(tmp_path, monkeypatch):
    kc = tmp_path / "ambient"
    kc.write_text(KUBECONFIG)  # current-context: prod
    monkeypatch.setenv("KUBECONFIG", str(kc))
    assert resolve_target(None, None) == Target("kind-urumi", None)


@pytest.mark.parametrize("text, seconds", [("5m0s", 300), ("1h30m", 5400), ("1m30s", 90), ("2h0m0s", 7200),
                                           ("1.5h", 5400), ("500ms", 0.5), ("90", 90), ("1h0m0.5s", 3600.5)])
def test_parse_duration_takes_go_durations_as_kubectl_helm_and_kind_print_them(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


def test_resolve_missing_kubeconfig_file_is_an_environment_problem_like_every_other_path(tmp_path):
    with pytest.raises(EnvironmentProblem) as info:
        resolve_target(str(tmp_path / "missing"), None)
    assert "does not exist" in info.value.message and info.value.exit_code == 3
    with pytest.raises(EnvironmentProblem) as info:
        check_target(Target(context="kind-urumi", kubeconfig=str(tmp_path / "missing")))
    assert "does not exist" in info.value.message and info.value.exit_code == 3
    with pytest.raises(EnvironmentProblem) as info:
        resolve_target(str(tmp_path), None)
    assert "is a directory" in info.value.message


@pytest.mark.parametrize("name", ["Bad_", "", "-x", "a" * 41, "x.y", "UP"])
def test_cluster_names_have_their_own_message(name):
    with pytest.raises(UsageError) as info:
        validate_cluster_name(name)
    assert "cluster name" in info.value.message and "store" not in info.value.message


def test_resolve_kubeconfig_without_current_context(tmp_path):
    kc = tmp_path / "kc"
    kc.write_text("contexts: []\n")
    with pytest.raises(UsageError) as info:
        resolve_target(str(kc), None)
    assert "--context" in info.value.hint


def test_resolve_rejects_a_flag_like_context():
    with pytest.raises(UsageError):
        resolve_target(None, "-oops")


# -- check_target ------------------------------------------------------------------------------
def test_check_target_ok(tmp_path):
    kc = tmp_path / "kc"
    kc.write_text(KUBECONFIG)
    target = Target("kind-urumi", str(kc))
    assert check_target(target) is target


def test_check_target_missing_explicit_file(tmp_path):
    with pytest.raises(EnvironmentProblem) as info:
        check_target(Target("kind-urumi", str(tmp_path / "missing")))
    assert "does not exist" in info.value.message


def test_check_target_no_kubeconfig_at_all(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "nope"))
    with pytest.raises(EnvironmentProblem) as info:
        check_target(Target("kind-urumi"))
    assert "no kubeconfig found" in info.value.message and "urumi cluster up" in info.value.hint


def test_check_target_bad_yaml(tmp_path):
    kc = tmp_path / "kc"
    kc.write_text("contexts:\n- name: a\n  bad: [unclosed\n")
    with pytest.raises(EnvironmentProblem) as info:
        check_target(Target("a", str(kc)))
    assert "not valid YAML" in info.value.message and "line" in info.value.message


def test_check_target_not_a_mapping(tmp_path):
    kc = tmp_path / "kc"
    kc.write_text("- just\n- a list\n")
    with pytest.raises(EnvironmentProblem):
        check_target(Target("a", str(kc)))


def test_check_target_unknown_context_lists_the_known_ones(tmp_path):
    kc = tmp_path / "kc"
    kc.write_text(KUBECONFIG)
    with pytest.raises(UsageError) as info:
        check_target(Target("kind-nope", str(kc)))
    assert "'kind-nope' not found" in info.value.message
    assert "known: kind-urumi, prod" in info.value.message


def test_check_target_merges_the_kubeconfig_env_list(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("contexts:\n- name: one\n")
    b.write_text("contexts:\n- name: two\n")
    monkeypatch.setenv("KUBECONFIG", f"{a}:{tmp_path / 'missing'}:{b}")
    assert check_target(Target("two")).context == "two"
    with pytest.raises(UsageError) as info:
        check_target(Target("three"))
    assert "known: one, two" in info.value.message
