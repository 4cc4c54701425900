"""The dashboard's server, board, reporter and watcher with fakes: a real ThreadingHTTPServer on
127.0.0.1 (port 0), the real actions over FakeKube/FakeHelm and a real registry file."""

from __future__ import annotations

import http.client
import json
import queue
import threading
import time

import pytest

from fakes import ScriptedSource, ready_objects
from urumi_cli.actions.contract import LABEL_NAME, LABEL_TYPE, MANAGED_BY
from urumi_cli.adapters.registry import Registry
from urumi_cli.dashboard.board import Board
from urumi_cli.dashboard.fleet import Fleet
from urumi_cli.dashboard.live import Hub, Operation, WebReporter
from urumi_cli.dashboard.server import DashboardServer, new_token
from urumi_cli.dashboard.watcher import Watcher
from urumi_cli.errors import ClusterUnreachable, UsageError
from urumi_cli.models import ComponentState, Target
from urumi_cli.validation import validate_store_name

pytestmark = pytest.mark.timeout(30)
TARGET = Target(context="kind-urumi")
STORE_LABELS = {"app.kubernetes.io/managed-by": "urumi", "urumi.dev/store-name": "shop",
                "urumi.dev/store-type": "woocommerce"}


class Client:
    """http.client against the dashboard, as a browser on its own page would send requests."""

    def __init__(self, server: DashboardServer):
        self.server = server
        self.origin = f"http://127.0.0.1:{server.port}"

    def request(self, method, path, *, body=None, headers=None, token=True, origin=True, cookie=False,
                content_type="application/json"):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        sent = {}
        if token:
            sent["X-Urumi-Token"] = self.server.token
        if origin and method in ("POST", "DELETE"):
            sent["Origin"] = self.origin
        if cookie:
            sent["Cookie"] = f"{self.server.cookie_name}={self.server.token}"
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            sent["Content-Type"] = content_type
        sent.update(headers or {})
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        raw = response.read()
        conn.close()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode()
        return response, parsed


@pytest.fixture
def board(kube, helm, tmp_path):
    fleet = Fleet(registry=Registry(tmp_path / "home" / "registry.json"), helm=helm, kube=kube, target=TARGET,
                  locks_dir=tmp_path / "locks")
    return Board(fleet, Hub())


@pytest.fixture
def log():
    return []


@pytest.fixture
def server(board, log):
    srv = DashboardServer(board, port=0, token=new_token(), log=log.append)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.stopping.set()
    board.hub.close()
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def client(server):
    return Client(server)


def wait_for(what, check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def add_ready_store(kube, name="shop"):
    kube.add_namespace(f"store-{name}", {**STORE_LABELS, "urumi.dev/store-name": name},
                       {"urumi.dev/url": f"http://{name}.localhost/"})
    kube.objects[f"store-{name}"] = ready_objects(name)
    kube.secrets[(f"store-{name}", "store-credentials")] = {"admin-username": "admin",
                                                           "admin-password": "canary-Pa55word"}


# -- the token, the Host and the Origin ---------------------------------------------------------
@pytest.mark.parametrize("path", ["/", "/api/state", "/api/stores", "/api/events", "/static/app.js",
                                  "/api/stores/shop"])
def test_without_the_token_every_page_is_401(client, path):
    response, body = client.request("GET", path, token=False)
    assert response.status == 401
    assert body["error"]["message"] == "missing or wrong token"


def test_a_wrong_token_is_401(client):
    response, _ = client.request("GET", "/api/state", token=False, headers={"X-Urumi-Token": "guess"})
    assert response.status == 401
    response, _ = client.request("GET", "/?token=guess", token=False)
    assert response.status == 401


def test_the_token_url_sets_a_strict_http_only_cookie_and_drops_the_token_from_the_address(client, server):
    response, _ = client.request("GET", f"/?token={server.token}", token=False)
    assert response.status == 303
    assert response.getheader("Location") == "/"
    cookie = response.getheader("Set-Cookie")
    assert cookie.startswith(f"{server.cookie_name}={server.token};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie

    response, page = client.request("GET", "/", token=False, cookie=True)
    assert response.status == 200
    assert f'<meta name="urumi-token" content="{server.token}">' in page
    assert "script-src 'self'" in response.getheader("Content-Security-Policy")
    assert response.getheader("Referrer-Policy") == "no-referrer"  # "Visit store" never carries the token
    assert response.getheader("Cache-Control") == "no-store"


def test_the_static_files_are_served_with_the_cookie(client):
    for name, kind in (("app.js", "text/javascript"), ("app.css", "text/css")):
        response, _ = client.request("GET", f"/static/{name}", token=False, cookie=True)
        assert response.status == 200 and response.getheader("Content-Type").startswith(kind)
    response, _ = client.request("GET", "/static/../server.py", cookie=True)
    assert response.status == 404


def test_another_host_header_is_refused_dns_rebinding(client, server):
    response, body = client.request("GET", "/api/state", headers={"Host": f"evil.example:{server.port}"})
    assert response.status == 403
    assert "Host" in body["error"]["message"]
    response, _ = client.request("GET", "/api/state", headers={"Host": f"localhost:{server.port}"})
    assert response.status == 200


def test_a_state_changing_request_needs_the_header_token_not_just_the_cookie(client, kube):
    response, body = client.request("POST", "/api/stores", body={"name": "shop", "type": "woocommerce"},
                                    token=False, cookie=True)
    assert response.status == 401
    assert "X-Urumi-Token" in body["error"]["message"]
    assert not kube.called("create_namespace")


@pytest.mark.parametrize("origin", [None, "http://evil.example", "http://127.0.0.1:1", "null"])
def test_a_cross_origin_post_is_refused(client, kube, origin):
    headers = {"Origin": origin} if origin else {}
    response, body = client.request("POST", "/api/stores", body={"name": "shop", "type": "woocommerce"},
                                    origin=False, headers=headers)
    assert response.status == 403
    assert body["error"]["message"] == "cross-origin request refused"
    response, _ = client.request("DELETE", "/api/stores/shop", body={"confirm": "shop"}, origin=False,
                                 headers=headers)
    assert response.status == 403
    assert not kube.called("create_namespace") and not kube.called("delete_namespace")


def test_a_form_post_is_not_json_and_is_refused(client):
    response, _ = client.request("POST", "/api/stores", body=b"name=shop&type=woocommerce",
                                 content_type="application/x-www-form-urlencoded")
    assert response.status == 415


def test_options_preflight_gets_no_cors_permission(client):
    response, _ = client.request("OPTIONS", "/api/stores", headers={"Origin": "http://evil.example",
                                                                   "Access-Control-Request-Method": "POST"})
    assert response.status == 501
    assert response.getheader("Access-Control-Allow-Origin") is None


def test_the_server_binds_loopback_only(server):
    assert server.server_address[0] == "127.0.0.1"


# -- create ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["", "Bad_Name!", "UPPER", "a;b", "-lead", "x" * 41, "caf\u00e9"])
def test_a_bad_name_gets_the_clis_message_and_changes_nothing(client, kube, name):
    with pytest.raises(UsageError) as cli:
        validate_store_name(name)
    response, body = client.request("POST", "/api/stores", body={"name": name, "type": "woocommerce"})
    assert response.status == 400
    assert body["error"] == {"message": cli.value.message, "hint": cli.value.hint, "details": None}
    assert kube.calls == []


def test_an_unknown_type_gets_the_clis_message(client):
    response, body = client.request("POST", "/api/stores", body={"name": "shop", "type": "magento"})
    assert response.status == 400
    assert body["error"]["message"] == "unknown store type 'magento'"
    assert body["error"]["hint"] == "choose one of: woocommerce, medusa"


def test_create_from_the_page_publishes_the_terminals_lines_and_ends_ready(client, board, helm):
    events = board.hub.subscribe()
    response, op = client.request("POST", "/api/stores", body={"name": "shop", "type": "woocommerce"})
    assert response.status == 202
    assert (op["kind"], op["store"], op["type"], op["state"]) == ("create", "shop", "woocommerce", "running")

    final = wait_for("the create to finish", lambda: next(
        (o for o in client.request("GET", "/api/state")[1]["ops"] if o["state"] != "running"), None))
    assert final["state"] == "ok", final
    assert [(s["key"], s["state"]) for s in final["steps"]] == [("cluster", "ok"), ("namespace", "ok"), ("helm", "ok")]
    assert final["steps"][2]["text"] == "helm applied woocommerce chart"
    assert [(c["name"], c["state"]) for c in final["components"]] == [
        ("database", "ready"), ("web", "ready"), ("setup", "ready")]
    # the last call reads the new revision for the store's event log
    assert [("upgrade_install", "shop"), ("status", "shop")] == [c[:2] for c in helm.calls[-2:]]

    state = wait_for("the store in the list", lambda: [
        s for s in client.request("GET", "/api/state")[1]["stores"] if s["status"] == "ready"])
    assert state[0]["name"] == "shop" and state[0]["url"] == "http://shop.localhost/"
    published = []
    while not events.empty():
        published.append(events.get_nowait())
    kinds = [event for event, _ in published]
    assert "op" in kinds and "stores" in kinds
    running = [data for event, data in published if event == "op" and data["state"] == "running"]
    assert any(step["state"] == "run" for data in running for step in data["steps"])  # lines as they start


def test_a_second_create_of_a_store_in_flight_is_a_conflict(client, helm):
    release = threading.Event()
    helm.on_upgrade = lambda *_: release.wait(5)
    try:
        assert client.request("POST", "/api/stores", body={"name": "shop", "type": "woocommerce"})[0].status == 202
        response, body = client.request("POST", "/api/stores", body={"name": "shop", "type": "woocommerce"})
        assert response.status == 409
        assert body["error"]["message"] == "store shop is already being created from this dashboard"
    finally:
        release.set()


def test_a_failed_create_shows_the_clis_error_with_its_hint(client, kube, helm):
    kube.add_namespace("store-shop", {"app.kubernetes.io/managed-by": "someone-else"})
    client.request("POST", "/api/stores", body={"name": "shop", "type": "woocommerce"})
    final = wait_for("the create to fail", lambda: next(
        (o for o in client.request("GET", "/api/state")[1]["ops"] if o["state"] == "failed"), None))
    assert final["error"]["message"] == "namespace store-shop exists and is not managed by urumi for store shop"
    assert final["error"]["hint"].startswith("choose another store name")


# -- delete, describe, credentials ----------------------------------------------------------------
def test_delete_needs_the_typed_name(client, kube, board):
    add_ready_store(kube)
    board.refresh(None)
    for confirm in ("", "sho", "SHOP"):
        response, body = client.request("DELETE", "/api/stores/shop", body={"confirm": confirm})
        assert response.status == 400
        assert body["error"]["message"] == f"confirmation {confirm!r} does not match store name 'shop'"
    assert not kube.called("delete_namespace")

    response, op = client.request("DELETE", "/api/stores/shop", body={"confirm": "shop"})
    assert response.status == 202 and op["kind"] == "delete"
    wait_for("the store to go", lambda: client.request("GET", "/api/state")[1]["stores"] == [])
    assert kube.called("delete_namespace") == [("delete_namespace", "store-shop")]


def test_delete_of_a_bad_name_is_the_clis_message(client):
    response, body = client.request("DELETE", "/api/stores/Bad_Name", body={"confirm": "Bad_Name"})
    assert response.status == 400
    assert body["error"]["message"] == "invalid store name 'Bad_Name': must be a DNS-1123 label"


def test_describe_gives_components_and_diagnostics(client, kube):
    add_ready_store(kube)
    response, info = client.request("GET", "/api/stores/shop")
    assert response.status == 200
    assert [c["name"] for c in info["components"]] == ["database", "web", "setup"]
    assert info["diagnostics"] == [] and info["status"] == "ready"
    assert "canary-Pa55word" not in json.dumps(info)
    response, body = client.request("GET", "/api/stores/nope")
    assert response.status == 404 and body["error"]["message"] == "store nope not found in cluster kind-urumi"


def test_credentials_only_on_a_post_and_never_logged(client, kube, board, log, server):
    add_ready_store(kube)
    board.refresh(None)
    response, _ = client.request("GET", "/api/stores/shop/credentials")
    assert response.status == 405
    assert "canary-Pa55word" not in json.dumps(client.request("GET", "/api/state")[1])
    response, _ = client.request("POST", "/api/stores/shop/credentials", body={}, origin=False)
    assert response.status == 403
    response, creds = client.request("POST", "/api/stores/shop/credentials", body={})
    assert response.status == 200
    assert creds["username"] == "admin" and creds["password"] == "canary-Pa55word"
    assert response.getheader("Cache-Control") == "no-store"
    client.request("GET", f"/?token={server.token}", token=False)
    assert log and all("canary" not in line and server.token not in line for line in log)
    assert "POST /api/stores/shop/credentials 200" in log


# -- live updates ---------------------------------------------------------------------------------
def read_event(response) -> tuple[str, dict]:
    event, data = None, None
    while True:
        line = response.fp.readline().decode()
        if line.startswith("event: "):
            event = line[7:].strip()
        elif line.startswith("data: "):
            data = json.loads(line[6:])
        elif line == "\n" and event:
            return event, data


def test_events_start_with_the_whole_state_then_push_each_change(server, board, kube):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/api/events", headers={"Cookie": f"{server.cookie_name}={server.token}"})
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("Content-Type").startswith("text/event-stream")
    event, hello = read_event(response)
    assert event == "hello" and hello["stores"] == [] and hello["context"] == "kind-urumi"

    add_ready_store(kube)
    board.refresh(["shop"])
    event, data = read_event(response)
    assert event == "connection" and data == {"ok": True, "message": ""}
    event, data = read_event(response)
    assert event == "stores" and [s["name"] for s in data["stores"]] == ["shop"]
    conn.close()


def test_a_refresh_that_changes_nothing_publishes_nothing(board, kube):
    add_ready_store(kube)
    board.refresh(None)
    events = board.hub.subscribe()
    board.refresh(["shop"])
    assert events.empty()


def test_a_page_that_stops_reading_is_dropped_not_buffered_forever():
    hub = Hub()
    slow = hub.subscribe()
    for i in range(1001):
        hub.publish("op", {"i": i})
    assert not hub.subscribed(slow)


class RecordingBoard:
    def __init__(self, fail_first=0):
        self.refreshes: list = []
        self.connection: list = []
        self.fail_first = fail_first

    def refresh(self, names):
        self.refreshes.append(names)
        if self.fail_first:
            self.fail_first -= 1
            raise ClusterUnreachable("cannot reach the Kubernetes API of context 'kind-urumi': refused")

    def set_connection(self, ok, message):
        self.connection.append((ok, message))

    def store_names(self):
        return {"store-shop": "shop"}


def namespace(name, rv="2"):
    return {"metadata": {"name": f"store-{name}", "resourceVersion": rv,
                         "labels": {**STORE_LABELS, "urumi.dev/store-name": name}}}


def test_the_watcher_refreshes_just_the_stores_a_burst_touched(source: ScriptedSource):
    board, stop = RecordingBoard(), threading.Event()
    watcher = Watcher(board, source, stop, debounce_s=0.05, retry_s=0.05)
    thread = watcher.start()
    try:
        wait_for("the first full refresh and the LISTs", lambda: len(board.refreshes) >= 2 and board.refreshes[-1] is None
                 and len(source.list_calls) >= 5)
        time.sleep(0.1)
        board.refreshes.clear()
        source.push("namespaces", ("ADDED", namespace("new")))
        pod = {"metadata": {"name": "shop-web-1", "namespace": "store-shop", "resourceVersion": "3"}}
        source.push("pods", ("MODIFIED", pod), ("MODIFIED", pod))
        traefik = {"metadata": {"name": "traefik-1", "namespace": "traefik", "resourceVersion": "4"}}
        source.push("deployments", ("MODIFIED", traefik))
        wait_for("a refresh of the touched stores", lambda: board.refreshes)
        time.sleep(0.2)
        assert sorted(n for names in board.refreshes for n in names) == ["new", "shop"]
        assert all(names is not None for names in board.refreshes)
    finally:
        stop.set()
        source.closed.set()
        thread.join(5)
    assert {lst for lst in source.list_calls} == {"namespaces", "deployments", "statefulsets", "jobs", "pods"}


def test_the_watcher_says_when_the_cluster_is_lost_and_tries_again(source: ScriptedSource):
    board, stop = RecordingBoard(fail_first=2), threading.Event()
    thread = Watcher(board, source, stop, debounce_s=0.01, retry_s=0.01).start()
    try:
        wait_for("a third refresh", lambda: len(board.refreshes) >= 3)
        assert board.connection[0][0] is False and "cannot reach the Kubernetes API" in board.connection[0][1]
    finally:
        stop.set()
        source.closed.set()
        thread.join(5)


# -- the reporter ---------------------------------------------------------------------------------
def test_the_web_reporter_has_the_terminal_reporters_lines():
    published = queue.Queue()
    op = Operation("create", "shop", "woocommerce")
    reporter = WebReporter(op, lambda o: published.put(o.to_json()))
    reporter.step("cluster", "checking cluster kind-urumi")
    reporter.done("cluster", "cluster kind-urumi reachable")
    reporter.step("helm", "helm upgrade --install shop (woocommerce, local)")
    reporter.components([ComponentState("database", True, "1/1 ready"),
                         ComponentState("web", False, "0/1 ready", failed="ErrImagePull: boom")])
    reporter.components([ComponentState("database", True, "1/1 ready"),
                         ComponentState("web", False, "0/1 ready", failed="ErrImagePull: boom")])  # no change
    reporter.done("helm", ok=False)
    op.state = "failed"
    reporter.close()
    final = op.to_json()
    assert final["steps"] == [
        {"key": "cluster", "state": "ok", "text": "cluster kind-urumi reachable"},
        {"key": "helm", "state": "fail", "text": "helm upgrade --install shop (woocommerce, local)"},
    ]
    assert final["components"] == [{"name": "database", "state": "ready", "detail": "1/1 ready"},
                                   {"name": "web", "state": "failed", "detail": "ErrImagePull: boom"}]
    assert published.qsize() == 6  # every change, the repeated component list excepted, then close


def test_a_create_from_the_page_is_held_to_the_config_files_store_limit(client, kube, helm, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "xdg" / "urumi").mkdir(parents=True)
    (tmp_path / "xdg" / "urumi" / "config.yaml").write_text("limits:\n  max_stores: 1\n")
    kube.add_namespace("store-first", {MANAGED_BY: "urumi", LABEL_NAME: "first", LABEL_TYPE: "woocommerce"})
    response, _ = client.request("POST", "/api/stores", body={"name": "shop", "type": "woocommerce"})
    assert response.status == 202
    final = wait_for("the create to finish", lambda: next(
        (o for o in client.request("GET", "/api/state")[1]["ops"] if o["state"] != "running"), None))
    assert final["state"] == "failed", final
    assert "store limit reached: cluster" in json.dumps(final) and "max_stores is 1" in json.dumps(final)
    assert helm.calls == [] and "store-shop" not in kube.namespaces
