"""Guardrails: limits from the config file or flags, counted from the cluster's namespaces, the
cool-down between an owner's creates, and the second look that settles two CLIs racing for the
last slot (ordered by the API server's creation times)."""

from __future__ import annotations

import json

import pytest

from urumi_cli.actions import guardrails
from urumi_cli.actions.contract import LABEL_NAME, LABEL_OWNER, LABEL_TYPE, MANAGED_BY
from urumi_cli.actions.create import CreateOptions, create_store
from urumi_cli.actions.guardrails import Limits, load_limits
from urumi_cli.adapters.registry import Registry
from urumi_cli.errors import EXIT_LIMIT, LimitReached, UsageError
from urumi_cli.models import Target
from urumi_cli.readiness import parse_time

pytestmark = pytest.mark.timeout(30)
TARGET = Target(context="kind-urumi")
T0 = "2026-12-02T01:00:00Z"


def add_store(kube, name, *, owner="", created=T0, terminating=False):
    labels = {MANAGED_BY: "urumi", LABEL_NAME: name, LABEL_TYPE: "woocommerce"}
    if owner:
        labels[LABEL_OWNER] = owner
    ns = kube.add_namespace(f"store-{name}", labels, terminating=terminating)
    ns["metadata"]["creationTimestamp"] = created
    return ns


@pytest.fixture
def registry(tmp_path) -> Registry:
    return Registry(tmp_path / "home" / "registry.json")


@pytest.fixture
def create(registry, helm, kube, reporter, tmp_path):
    def run(name="shop", **opts):
        options = CreateOptions(name=name, type="woocommerce", target=TARGET, timeout_s=20, **opts)
        return create_store(options, registry=registry, helm=helm, kube=kube, reporter=reporter,
                            locks_dir=tmp_path / "locks")
    return run


# -- the config file ---------------------------------------------------------------------------
def test_no_config_file_is_no_limits(tmp_path):
    assert load_limits(tmp_path / "config.yaml") == Limits()
    assert not Limits().any


def test_the_config_file_limits_and_flags_over_them(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("limits:\n  max_stores: 20\n  max_stores_per_owner: 3\n  create_cooldown: 2m\n")
    limits = load_limits(path)
    assert (limits.max_stores, limits.max_stores_per_owner, limits.create_cooldown_s) == (20, 3, 120.0)
    assert limits.source == str(path) and limits.any
    flagged = limits.overridden(max_stores=50, max_stores_per_owner=None, create_cooldown_s=None)
    assert (flagged.max_stores, flagged.max_stores_per_owner) == (50, 3)


@pytest.mark.parametrize("text, words", [
    ("limits:\n  max_stores: 0\n", "limits.max_stores"),
    ("limits:\n  max_stores: many\n", "limits.max_stores"),
    ("limits:\n  max_stores: true\n", "limits.max_stores"),
    ("limits:\n  max_store: 3\n", "unknown key limits.max_store"),
    ("limits:\n  create_cooldown: soon\n", "invalid duration 'soon'"),
    ("limits: [1]\n", "`limits` in"),
    ("limits: {\n", "is not valid YAML"),
])
def test_a_bad_config_file_is_a_usage_error_naming_it(tmp_path, text, words):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(UsageError) as info:
        load_limits(path)
    assert words in info.value.message


# -- counting from the cluster -----------------------------------------------------------------
def test_max_stores_counts_the_clusters_store_namespaces(kube):
    add_store(kube, "a")
    add_store(kube, "b")
    add_store(kube, "leaving", terminating=True)  # being deleted: its slot is free
    guardrails.check(kube, Limits(max_stores=3), name="new", owner="", cluster="c")
    with pytest.raises(LimitReached) as info:
        guardrails.check(kube, Limits(max_stores=2, source="/etc/u.yaml"), name="new", owner="", cluster="c")
    err = info.value
    assert err.exit_code == EXIT_LIMIT == 7
    assert err.message == "store limit reached: cluster c has 2 stores and max_stores is 2"
    assert err.hint == ("delete a store (`urumi store list`), or raise limits.max_stores in /etc/u.yaml, "
                        "or pass --max-stores")


def test_max_per_owner_counts_that_owners_labels_only(kube):
    add_store(kube, "a1", owner="alice")
    add_store(kube, "a2", owner="alice")
    add_store(kube, "b1", owner="bob")
    limits = Limits(max_stores_per_owner=2)
    guardrails.check(kube, limits, name="new", owner="bob", cluster="c")
    guardrails.check(kube, limits, name="new", owner="", cluster="c")  # no owner: no per-owner limit
    with pytest.raises(LimitReached) as info:
        guardrails.check(kube, limits, name="new", owner="alice", cluster="c")
    assert info.value.message == ("store limit reached for owner alice: 2 stores (a1, a2) and "
                                  "max_stores_per_owner is 2")
    assert "--max-stores-per-owner" in info.value.hint


def test_the_cooldown_is_measured_from_the_owners_latest_create(kube):
    add_store(kube, "old", owner="alice", created="2026-12-02T00:00:00Z")
    add_store(kube, "recent", owner="alice", created=T0)
    add_store(kube, "bobs", owner="bob", created="2026-12-02T01:00:50Z")
    limits = Limits(create_cooldown_s=60)
    now = parse_time(T0) + 45
    with pytest.raises(LimitReached) as info:
        guardrails.check(kube, limits, name="new", owner="alice", cluster="c", now=now)
    assert info.value.message == ("create cool-down for owner alice: store recent was created 45s ago and "
                                  "create_cooldown is 60s")
    assert info.value.hint.startswith("wait 15s, or raise limits.create_cooldown")
    guardrails.check(kube, limits, name="new", owner="alice", cluster="c", now=now + 15)
    guardrails.check(kube, limits, name="new", owner="carol", cluster="c", now=now)


# -- the race for the last slot ----------------------------------------------------------------
def test_of_two_that_both_counted_a_free_slot_the_later_namespace_gives_way(kube):
    """Both CLIs checked before either namespace existed; now both exist."""
    add_store(kube, "a1", owner="alice", created="2026-12-02T00:00:00Z")
    add_store(kube, "first", owner="alice", created="2026-12-02T01:00:00Z")
    add_store(kube, "second", owner="alice", created="2026-12-02T01:00:01Z")
    limits = Limits(max_stores_per_owner=2)
    guardrails.claim(kube, limits, name="first", owner="alice", cluster="c")
    with pytest.raises(LimitReached, match="2 stores \\(a1, first\\)"):
        guardrails.claim(kube, limits, name="second", owner="alice", cluster="c")


def test_a_tie_on_the_creation_second_is_broken_by_name(kube):
    add_store(kube, "zeta", created=T0)
    add_store(kube, "alpha", created=T0)
    guardrails.claim(kube, Limits(max_stores=1), name="alpha", owner="", cluster="c")
    with pytest.raises(LimitReached):
        guardrails.claim(kube, Limits(max_stores=1), name="zeta", owner="", cluster="c")


def test_two_creates_inside_one_cooldown_keep_the_first(kube):
    add_store(kube, "first", owner="alice", created=T0)
    add_store(kube, "second", owner="alice", created="2026-12-02T01:00:02Z")
    limits = Limits(create_cooldown_s=60)
    guardrails.claim(kube, limits, name="first", owner="alice", cluster="c")
    with pytest.raises(LimitReached, match="store first was created 2s ago"):
        guardrails.claim(kube, limits, name="second", owner="alice", cluster="c")


# -- in create ---------------------------------------------------------------------------------
def test_create_refused_by_a_limit_changes_nothing(create, kube, helm, registry):
    add_store(kube, "a1", owner="alice")
    with pytest.raises(LimitReached):
        create(owner="alice", limits=Limits(max_stores_per_owner=1))
    assert "store-shop" not in kube.namespaces and helm.calls == [] and registry.list_stores() == []


def test_create_labels_the_owner_and_records_it(create, kube, registry):
    create(owner="alice", limits=Limits(max_stores_per_owner=1))
    assert kube.namespaces["store-shop"]["metadata"]["labels"][LABEL_OWNER] == "alice"
    assert registry.get_store("kind-urumi", "shop").owner == "alice"
    create(owner="alice", limits=Limits(max_stores_per_owner=1))  # a re-create is no new store: not refused


def test_the_loser_of_the_race_gives_its_namespace_and_record_back(create, kube, helm, registry):
    """Another CLI's namespace appears between our count and our create (it was first)."""
    add_store(kube, "a1", owner="alice", created="2026-12-02T00:00:00Z")
    real_create = kube.create_namespace

    def create_after_the_other(name, labels):
        add_store(kube, "other", owner="alice", created="2026-12-02T01:00:00Z")
        made = real_create(name, labels)
        made["metadata"]["creationTimestamp"] = "2026-12-02T01:00:01Z"
        kube.namespaces[name]["metadata"]["creationTimestamp"] = "2026-12-02T01:00:01Z"
        return made

    kube.create_namespace = create_after_the_other
    with pytest.raises(LimitReached, match="2 stores \\(a1, other\\)"):
        create(owner="alice", limits=Limits(max_stores_per_owner=2))
    assert kube.called("delete_namespace") == [("delete_namespace", "store-shop")]
    assert registry.get_store("kind-urumi", "shop") is None
    assert helm.calls == []


# -- through the CLI ---------------------------------------------------------------------------
@pytest.fixture
def cli(tmp_path, runner, kube, helm):
    from test_cli import Cli

    return Cli(tmp_path, runner, kube, helm)


def test_cli_limit_from_the_xdg_config_file_is_exit_7(cli, kube, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "xdg" / "urumi").mkdir(parents=True)
    config = tmp_path / "xdg" / "urumi" / "config.yaml"
    config.write_text("limits:\n  max_stores: 1\n")
    add_store(kube, "a1")
    result = cli("store", "create", "--name", "shop", "-o", "json")
    assert result.exit_code == 7, result.output
    assert result.stderr == (f"error: store limit reached: cluster kind-urumi has 1 stores and max_stores is 1 "
                             f"(hint: delete a store (`urumi store list`), or raise limits.max_stores in {config}, "
                             f"or pass --max-stores)\n")
    assert cli("store", "create", "--name", "shop", "--max-stores", "2", "-o", "json").exit_code == 0


def test_cli_list_by_owner(cli):
    assert cli("store", "create", "--name", "shop", "--owner", "alice", "-o", "json").exit_code == 0
    assert cli("store", "create", "--name", "other", "--owner", "bob", "--no-wait", "-o", "json").exit_code == 0
    listed = json.loads(cli("store", "list", "--owner", "alice", "-o", "json").stdout)
    assert [(s["name"], s["owner"]) for s in listed] == [("shop", "alice")]
    nobody = cli("store", "list", "--owner", "carol")
    assert nobody.exit_code == 0 and "No stores of owner carol." in nobody.stderr


@pytest.mark.parametrize("args", [("--owner", "bad owner"), ("--owner", "-x"), ("--create-cooldown", "soon"),
                                  ("--max-stores", "0")])
def test_cli_bad_guardrail_input_is_exit_2(cli, args):
    result = cli("store", "create", "--name", "shop", *args)
    assert result.exit_code == 2, result.output
    assert result.stderr.count("error:") == 1 and cli.kube.calls == []


def test_refresh_takes_the_owner_from_the_namespace_label(kube, registry):
    from urumi_cli.actions.refresh import refresh_stores
    from urumi_cli.models import Store

    registry.put_store(Store(name="shop", type="woocommerce", cluster="kind-urumi", namespace="store-shop",
                             release="shop", url="http://shop.localhost/", status="ready"))
    add_store(kube, "shop", owner="alice")  # labelled by a create on another machine
    add_store(kube, "other", owner="bob")
    stores, _ = refresh_stores(registry=registry, kube=kube, cluster="kind-urumi")
    assert {s.name: s.owner for s in stores} == {"shop": "alice", "other": "bob"}
    assert registry.get_store("kind-urumi", "shop").owner == "alice"
