"""Day-2 operations through the real CLI, real helm and the real control plane: upgrade (and its
automatic rollback when the new version cannot start), rollback, history and the event log."""

from __future__ import annotations

import json
import subprocess

import pytest

from support import Urumi, helm_release_revision, one_error_line, write_values

ORIGINAL_WEB_TAG = "7.0.4-php8.3-apache"  # charts/woocommerce/values.yaml


@pytest.fixture
def urumi(control_plane, tmp_path) -> Urumi:
    return Urumi(control_plane, tmp_path / "home")


def helm_json(cp, *args: str):
    result = subprocess.run([str(cp.testbin / "helm"), *args, "-o", "json", "--kubeconfig", str(cp.kubeconfig),
                             "--kube-context", cp.context], capture_output=True, text=True, env=cp.env, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def web_image(cp, name: str) -> str:
    dep = cp.get_json("deployment", "-n", f"store-{name}", "-l", "app.kubernetes.io/component=web")["items"][0]
    return dep["spec"]["template"]["spec"]["containers"][0]["image"]


def events_of(cp, name: str) -> list[dict]:
    cm = cp.get_json("configmap", "urumi-events", "-n", f"store-{name}")
    return json.loads(cm["data"]["events.json"])


def test_upgrade_then_rollback_with_history(urumi, control_plane, tmp_path):
    cp = control_plane
    assert urumi.create("up1", "woocommerce", "--timeout", "120s").returncode == 0

    # --dry-run: the diff, and nothing changes
    dry = urumi.run("store", "upgrade", "up1", "--set-version", "woocommerce=11.0.2", "--dry-run", "-o", "json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["changes"] == [
        {"key": "setup.woocommerceVersion", "current": None, "proposed": "11.0.2"}]
    assert helm_release_revision(cp, "up1") == 1

    currency = write_values(tmp_path, "eur.yaml", "setup:\n  currency: EUR\n")
    upgraded = urumi.run("store", "upgrade", "up1", "--set-version", "woocommerce=11.0.2", "-f", currency,
                         "--timeout", "120s", "-o", "json")
    assert upgraded.returncode == 0, upgraded.stderr
    assert json.loads(upgraded.stdout)["revision"] == 2
    supplied = helm_json(cp, "get", "values", "up1", "-n", "store-up1")
    assert supplied["setup"]["woocommerceVersion"] == "11.0.2" and supplied["setup"]["currency"] == "EUR"
    assert supplied["store"]["name"] == "up1"  # urumi's generated values are still given

    # a later upgrade without -f keeps what the last one set (the kept values)
    again = urumi.run("store", "upgrade", "up1", "--set-version", "storefront=4.6.3", "--timeout", "120s")
    assert again.returncode == 0, again.stderr
    supplied = helm_json(cp, "get", "values", "up1", "-n", "store-up1")
    assert supplied["setup"]["woocommerceVersion"] == "11.0.2" and supplied["setup"]["storefrontVersion"] == "4.6.3"

    rolled = urumi.run("store", "rollback", "up1", "--to", "1", "--timeout", "120s", "-o", "json")
    assert rolled.returncode == 0, rolled.stderr
    assert json.loads(rolled.stdout) == {"name": "up1", "from_revision": 3, "to_revision": 1, "revision": 4,
                                         "status": "ready"}
    assert "woocommerceVersion" not in helm_json(cp, "get", "values", "up1", "-n", "store-up1").get("setup", {})
    forward = urumi.run("store", "rollback", "up1", "--to", "3", "--timeout", "120s")
    assert forward.returncode == 0 and "rolled back to revision 3 (now revision 5)" in forward.stderr, forward.stderr
    # back and forth: revision 3's files (both versions, EUR) came back with it
    supplied = helm_json(cp, "get", "values", "up1", "-n", "store-up1")
    assert supplied["setup"]["storefrontVersion"] == "4.6.3" and supplied["setup"]["currency"] == "EUR"
    rolled = urumi.run("store", "rollback", "up1", "--to", "1", "--timeout", "120s", "-o", "json")
    assert rolled.returncode == 0, rolled.stderr
    # a plain upgrade now starts from revision 1's files, not from the upgrades that were undone
    assert urumi.run("store", "upgrade", "up1", "--timeout", "120s").returncode == 0
    assert "setup" not in helm_json(cp, "get", "values", "up1", "-n", "store-up1")

    history = urumi.json("store", "history", "up1")
    assert [(r["revision"], r["status"]) for r in history["revisions"]] == [
        (1, "superseded"), (2, "superseded"), (3, "superseded"), (4, "superseded"), (5, "superseded"),
        (6, "superseded"), (7, "deployed")]
    assert [r["description"] for r in history["revisions"][3:6]] == ["Rollback to 1", "Rollback to 3",
                                                                     "Rollback to 1"]
    assert history["revisions"][0]["chart"] == "woocommerce-0.1.0" and history["revisions"][0]["app_version"]
    assert [(e["action"], e["result"], e["revision"]) for e in history["events"]] == [
        ("created", "ok", 1), ("upgraded", "ok", 2), ("upgraded", "ok", 3), ("rolled-back", "ok", 4),
        ("rolled-back", "ok", 5), ("rolled-back", "ok", 6), ("upgraded", "ok", 7)]
    assert history["events"] == events_of(cp, "up1")  # the cluster is where it lives
    table = urumi.run("store", "history", "up1")
    assert table.returncode == 0 and "Rollback to 3" in table.stdout and "rolled-back" in table.stdout
    assert urumi.run("store", "delete", "up1", "--yes").returncode == 0


def test_an_upgrade_that_cannot_start_is_rolled_back_and_the_store_serves(urumi, control_plane):
    cp = control_plane
    assert urumi.create("up2", "woocommerce", "--timeout", "120s").returncode == 0
    broken = urumi.run("store", "upgrade", "up2", "--set-version", f"wordpress={ORIGINAL_WEB_TAG}-kwok-fail",
                       "--timeout", "120s", "-o", "json")
    assert broken.returncode == 6, broken.stderr
    line = one_error_line(broken.stderr)
    assert "CrashLoopBackOff" in line and "rolled back automatically to revision 1" in line
    outcome = json.loads(broken.stdout)
    assert (outcome["upgraded"], outcome["rolled_back_to"], outcome["revision"]) == (False, 1, 3)

    assert web_image(cp, "up2") == f"wordpress:{ORIGINAL_WEB_TAG}"  # serving the old version again
    assert urumi.json("store", "get", "up2")["status"] == "ready"
    logged = [(e["action"], e["result"], e["revision"]) for e in events_of(cp, "up2")]
    assert logged == [("created", "ok", 1), ("upgrade-failed", "failed", 2), ("rolled-back", "ok", 3)]
    assert "CrashLoopBackOff" in events_of(cp, "up2")[1]["message"]

    # the failed version is not kept: the next plain upgrade applies revision 1's values again
    plain = urumi.run("store", "upgrade", "up2", "--timeout", "120s")
    assert plain.returncode == 0, plain.stderr
    assert web_image(cp, "up2") == f"wordpress:{ORIGINAL_WEB_TAG}"

    # and a default rollback skips revision 2, which helm calls superseded but never worked
    rolled = urumi.json("store", "rollback", "up2", "--timeout", "120s")
    assert rolled["to_revision"] == 3
    assert urumi.run("store", "delete", "up2", "--yes").returncode == 0


def test_a_version_the_chart_refuses_changes_nothing(urumi, control_plane):
    cp = control_plane
    assert urumi.create("up3", "woocommerce", "--timeout", "120s").returncode == 0
    refused = urumi.run("store", "upgrade", "up3", "--set-version", "woocommerce=latest")
    assert refused.returncode == 2, refused.stderr
    assert "woocommerceVersion" in one_error_line(refused.stderr)
    assert helm_release_revision(cp, "up3") == 1
    assert [e["action"] for e in events_of(cp, "up3")] == ["created"]
    assert urumi.json("store", "get", "up3")["status"] == "ready"
    assert urumi.run("store", "delete", "up3", "--yes").returncode == 0


def test_day2_commands_on_a_missing_store_are_exit_4(urumi):
    for args in (("history", "ghost"), ("rollback", "ghost"), ("upgrade", "ghost")):
        result = urumi.run("store", *args, "-o", "json")
        assert result.returncode == 4, (args, result.stderr)
        assert "store ghost not found" in one_error_line(result.stderr)


def test_logs_pick_the_component_pods_and_follow_until_ctrl_c(urumi, control_plane):
    """KWOK runs no container, so the API answers 400 "no logs found" for each: that still shows
    which pods and containers urumi asked the real API server for, and that -f keeps watching."""
    import signal

    assert urumi.create("lg1", "woocommerce", "--timeout", "120s").returncode == 0
    every = urumi.run("store", "logs", "lg1")
    assert every.returncode == 1, every.stderr
    warned = [line for line in every.stderr.splitlines() if line.startswith("warning: no log of ")]
    containers = {line.split()[4].rstrip(":").split("/")[1] for line in warned}
    assert containers == {"mariadb", "wordpress", "wordpress-core", "fetch-packages", "setup"}, every.stderr
    assert all("no logs found" in line for line in warned)
    assert one_error_line(every.stderr).startswith("error: could not read any log of store lg1")

    web = urumi.run("store", "logs", "lg1", "-c", "web")
    assert {line.split()[4].split("/")[0] for line in web.stderr.splitlines() if line.startswith("warning:")} == {
        p["metadata"]["name"] for p in control_plane.get_json(
            "pods", "-n", "store-lg1", "-l", "app.kubernetes.io/component=web")["items"]}
    assert urumi.run("store", "logs", "lg1", "-c", "cache").returncode == 4

    follow = urumi.popen("store", "logs", "lg1", "-c", "database", "-f")
    first = follow.stderr.readline()  # the watch listed the pod and tried its container
    assert first.startswith("warning: no log of lg1-mariadb-0/mariadb"), first
    follow.send_signal(signal.SIGINT)
    assert follow.wait(timeout=30) == 0
    assert urumi.run("store", "delete", "lg1", "--yes").returncode == 0


def test_open_prints_the_store_and_admin_urls_off_a_terminal(urumi):
    assert urumi.create("op1", "medusa", "--timeout", "120s").returncode == 0
    store = urumi.run("store", "open", "op1")
    assert store.returncode == 0 and store.stdout == "http://op1.localhost/\n", store.stderr
    assert urumi.json("store", "open", "op1", "--admin") == {"name": "op1", "url": "http://op1.localhost/app",
                                                              "admin": True}
    assert urumi.run("store", "delete", "op1", "--yes").returncode == 0


def test_two_clis_racing_for_an_owners_last_slot_make_one_store(urumi, control_plane, tmp_path):
    cp = control_plane
    limit = ("--owner", "racer", "--max-stores-per-owner", "2", "--timeout", "120s")
    assert urumi.create("race0", "woocommerce", *limit).returncode == 0
    # Two machines (two registries) at once for the one slot left.
    other = Urumi(cp, tmp_path / "other-home")
    first = urumi.popen("store", "create", "--type", "woocommerce", "--name", "race1", *limit)
    second = other.popen("store", "create", "--type", "woocommerce", "--name", "race2", *limit)
    outcomes = {}
    for name, proc in (("race1", first), ("race2", second)):
        _, err = proc.communicate(timeout=300)
        outcomes[name] = (proc.returncode, err)
    codes = sorted(code for code, _ in outcomes.values())
    assert codes == [0, 7], outcomes
    [(loser, (_, err))] = [(n, o) for n, o in outcomes.items() if o[0] == 7]
    assert "store limit reached for owner racer: 2 stores" in one_error_line(err)
    assert "max_stores_per_owner is 2" in err
    owned = cp.get_json("namespaces", "-l", "urumi.dev/owner=racer")["items"]
    live = sorted(ns["metadata"]["name"] for ns in owned if not ns["metadata"].get("deletionTimestamp"))
    assert len(live) == 2 and f"store-{loser}" not in live
    assert urumi.json("store", "list", "--owner", "racer", "--refresh") != []
    for name in ("race0", "race1", "race2"):
        assert urumi.run("store", "delete", name, "--yes", "--ignore-not-found").returncode == 0


def test_cooldown_and_cluster_limit_from_the_config_file(urumi, control_plane, tmp_path):
    xdg = tmp_path / "xdg"
    (xdg / "urumi").mkdir(parents=True)
    (xdg / "urumi" / "config.yaml").write_text("limits:\n  create_cooldown: 1h\n")
    env = urumi.env(XDG_CONFIG_HOME=str(xdg))
    made = urumi.run("store", "create", "--type", "woocommerce", "--name", "cool1", "--owner", "carol",
                     "--timeout", "120s", env=env)
    assert made.returncode == 0, made.stderr
    again = urumi.run("store", "create", "--type", "woocommerce", "--name", "cool2", "--owner", "carol", env=env)
    assert again.returncode == 7, again.stderr
    line = one_error_line(again.stderr)
    assert "create cool-down for owner carol: store cool1 was created" in line and "create_cooldown" in line
    assert control_plane.kubectl("get", "namespace", "store-cool2", check=False).returncode != 0

    stores = len([ns for ns in control_plane.get_json("namespaces", "-l", "app.kubernetes.io/managed-by=urumi")
                  ["items"] if not ns["metadata"].get("deletionTimestamp")])
    full = urumi.run("store", "create", "--type", "woocommerce", "--name", "full1", "--max-stores", str(stores))
    assert full.returncode == 7 and f"max_stores is {stores}" in one_error_line(full.stderr)
    assert urumi.run("store", "delete", "cool1", "--yes").returncode == 0


def test_medusa_upgrade_of_its_cache_image_fails_fast_and_rolls_back(urumi, control_plane):
    cp = control_plane
    assert urumi.create("md1", "medusa", "--timeout", "120s").returncode == 0
    ok = urumi.run("store", "upgrade", "md1", "--set-version", "medusa=2.21.3", "--timeout", "120s")
    assert ok.returncode == 0, ok.stderr
    assert helm_json(cp, "get", "values", "md1", "-n", "store-md1")["setup"]["medusaVersion"] == "2.21.3"
    broken = urumi.run("store", "upgrade", "md1", "--set-version", "redis=7.4.11-alpine-kwok-pull-fail",
                       "--timeout", "120s")
    assert broken.returncode == 6, broken.stderr
    assert "ErrImagePull" in one_error_line(broken.stderr)
    # back on revision 2's values: the good medusa version stays, the broken redis tag is gone
    supplied = helm_json(cp, "get", "values", "md1", "-n", "store-md1")
    assert supplied["setup"]["medusaVersion"] == "2.21.3" and "cache" not in supplied
    wrong = urumi.run("store", "upgrade", "md1", "--set-version", "woocommerce=11.0.2")
    assert wrong.returncode == 2 and "not a component of a medusa store" in one_error_line(wrong.stderr)
    assert urumi.run("store", "delete", "md1", "--yes").returncode == 0
