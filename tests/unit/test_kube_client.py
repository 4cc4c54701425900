"""KubeClient and its transport against a local HTTP server that speaks the Kubernetes API's JSON.

The server (stdlib ThreadingHTTPServer on 127.0.0.1, port 0) answers from per-test routes and
records every request, so the tests assert both directions: what urumi sends (paths, query
strings, bodies, content types, the bearer token) and how it reads what comes back (items,
resourceVersions, Status messages mapped to urumi's errors, chunked watch streams, 410 Gone).
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import types
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

from urumi_cli.adapters.kube import KubeClient
from urumi_cli.adapters.kube_transport import ConflictError, NotFoundError, json_lines
from urumi_cli.adapters.watching import ApiDenied, Gone, TransientApiError
from urumi_cli.errors import ClusterUnreachable, EnvironmentProblem, Forbidden, OperationFailed
from urumi_cli.models import Target

pytestmark = pytest.mark.timeout(20)

TOKEN = "t0ken-for-tests"
CONTEXT = "fake"


# -- the fake API server ---------------------------------------------------------------------
@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


@dataclass
class Reply:
    """One answer: a status and a JSON body (or raw bytes)."""

    status: int = 200
    body: object = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json"


@dataclass
class Stream:
    """A chunked answer: each chunk is sent as one HTTP chunk (a watch stream). `pause_s` waits
    before each chunk; `broken` closes the connection instead of ending the chunked body."""

    chunks: list
    pause_s: float = 0.0
    broken: bool = False
    status: int = 200


def status(code: int, message: str, reason: str = "") -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}


def event(kind: str, obj: dict) -> bytes:
    return json.dumps({"type": kind, "object": obj}).encode() + b"\n"


def ns(name: str, rv: str = "5", **labels) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "resourceVersion": rv, "labels": labels}, "status": {"phase": "Active"}}


class ApiServer:
    def __init__(self):
        self.routes: dict[tuple[str, str], list] = {}
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def log_message(self, *args):  # quiet
                pass

            def _handle(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(self.command, parts.path, dict(parse_qsl(parts.query)),
                              {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
                with server.lock:
                    server.requests.append(req)
                    script = server.routes.get((req.method, req.path))
                    answer = (script.pop(0) if len(script) > 1 else script[0]) if script else None
                if callable(answer):
                    answer = answer(req)
                if answer is None:
                    answer = Reply(418, status(418, f"unrouted {req.method} {req.path}"))
                if isinstance(answer, Stream):
                    self._stream(answer)
                else:
                    self._reply(answer)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def _reply(self, reply: Reply):
                data = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, stream: Stream):
                self.send_response(stream.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.flush()
                try:
                    for chunk in stream.chunks:
                        if stream.pause_s:
                            time.sleep(stream.pause_s)
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                    if stream.broken:
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except OSError:  # the client went away first
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, address: None  # a client that hung up early
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def on(self, method: str, path: str, *answers) -> "ApiServer":
        """Answers for method+path, one per request in order; the last one repeats."""
        self.routes[(method, path)] = list(answers)
        return self

    def sent(self, method: str | None = None, path: str | None = None) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if (method is None or r.method == method)
                    and (path is None or r.path == path)]


@pytest.fixture(scope="module")
def _server():
    server = ApiServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def api(_server):
    """The module's server with no routes and no requests yet."""
    with _server.lock:
        _server.routes.clear()
        _server.requests.clear()
    return _server


def write_kubeconfig(path, port: int, user: dict, context: str = CONTEXT) -> str:
    import yaml

    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": context, "context": {"cluster": "c", "user": "u"}}],
    }))
    return str(path)


@pytest.fixture
def kube(api, tmp_path) -> KubeClient:
    return KubeClient(Target(CONTEXT, write_kubeconfig(tmp_path / "kubeconfig", api.port, {"token": TOKEN})))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- building the client, auth -----------------------------------------------------------------
def test_server_version_and_the_bearer_token_on_every_request(api, kube):
    api.on("GET", "/version", Reply(body={"major": "1", "minor": "31", "gitVersion": "v1.31.2"}))
    api.on("GET", "/api/v1/namespaces/a", Reply(body=ns("a")))
    api.on("POST", "/api/v1/namespaces/a/secrets", Reply(201, {}))
    assert kube.server_version() == "v1.31.2"
    kube.get_namespace("a")
    kube.put_secret("a", "s", {"k": "v"}, {})
    assert len(api.sent()) == 3
    for req in api.sent():
        assert req.headers["authorization"] == f"Bearer {TOKEN}"
        assert req.headers["accept"] == "application/json"
        assert req.headers.get("user-agent")


def test_server_version_without_git_version_is_empty(api, kube):
    api.on("GET", "/version", Reply(body={}))
    assert kube.server_version() == ""


def test_an_exec_plugin_user_sends_the_plugin_token(api, tmp_path):
    plugin = tmp_path / "credential-plugin"
    plugin.write_text("#!/bin/sh\necho '" + json.dumps({
        "apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
        "status": {"token": "from-exec"}}) + "'\n")
    plugin.chmod(0o755)
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin)}}
    client = KubeClient(Target(CONTEXT, write_kubeconfig(tmp_path / "kc", api.port, user)))
    api.on("GET", "/version", Reply(body={"gitVersion": "v1.30.0"}))
    assert client.server_version() == "v1.30.0"
    assert api.sent()[0].headers["authorization"] == "Bearer from-exec"


def test_a_user_without_credentials_sends_no_authorization(api, tmp_path):
    client = KubeClient(Target(CONTEXT, write_kubeconfig(tmp_path / "kc", api.port, {})))
    api.on("GET", "/version", Reply(body={"gitVersion": "v1.30.0"}))
    client.server_version()
    assert "authorization" not in api.sent()[0].headers


def test_an_unknown_context_is_an_environment_problem(api, tmp_path):
    path = write_kubeconfig(tmp_path / "kc", api.port, {"token": TOKEN})
    with pytest.raises(EnvironmentProblem) as info:
        KubeClient(Target("elsewhere", path))
    assert "'elsewhere'" in info.value.message and info.value.hint


def test_connection_refused_is_cluster_unreachable(tmp_path):
    client = KubeClient(Target(CONTEXT, write_kubeconfig(tmp_path / "kc", free_port(), {"token": TOKEN})))
    with pytest.raises(ClusterUnreachable) as info:
        client.get_namespace("a")
    assert f"context {CONTEXT!r}" in info.value.message and "cluster status" in info.value.hint
    with pytest.raises(TransientApiError):  # the watch loop's view of the same failure: retry
        client.list("pods", "a", None)
    with pytest.raises(TransientApiError):
        list(client.watch("pods", "a", None, "1", 5))


# -- namespaces --------------------------------------------------------------------------------
def test_get_namespace_and_404_is_none(api, kube):
    api.on("GET", "/api/v1/namespaces/shop", Reply(body=ns("shop", rv="9")))
    api.on("GET", "/api/v1/namespaces/gone", Reply(404, status(404, 'namespaces "gone" not found', "NotFound")))
    assert kube.get_namespace("shop")["metadata"]["resourceVersion"] == "9"
    assert kube.get_namespace("gone") is None


def test_names_are_quoted_as_one_path_segment(api, kube):
    api.on("GET", "/api/v1/namespaces/a%2Fb", Reply(body=ns("x")))
    assert kube.get_namespace("a/b") is not None
    assert api.sent()[0].path == "/api/v1/namespaces/a%2Fb"


def test_create_namespace_posts_the_object(api, kube):
    api.on("POST", "/api/v1/namespaces", lambda req: Reply(201, req.json))
    created = kube.create_namespace("store-shop", {"app": "urumi"})
    req = api.sent("POST")[0]
    assert req.headers["content-type"] == "application/json"
    assert req.json == {"apiVersion": "v1", "kind": "Namespace",
                        "metadata": {"name": "store-shop", "labels": {"app": "urumi"}}}
    assert created["metadata"]["name"] == "store-shop"


def test_create_namespace_conflict_is_a_conflict_error(api, kube):
    api.on("POST", "/api/v1/namespaces",
           Reply(409, status(409, 'namespaces "store-shop" already exists', "AlreadyExists")))
    with pytest.raises(ConflictError) as info:
        kube.create_namespace("store-shop", {})
    assert info.value.message == 'namespaces "store-shop" already exists'
    assert isinstance(info.value, OperationFailed)


def test_label_and_annotation_patches_are_strategic_merge(api, kube):
    api.on("PATCH", "/api/v1/namespaces/shop", Reply(body=ns("shop")))
    kube.patch_namespace_labels("shop", {"a": "1"})
    kube.annotate_namespace("shop", {"urumi.dev/url": "http://x/"})
    first, second = api.sent("PATCH")
    for req in (first, second):
        assert req.headers["content-type"] == "application/strategic-merge-patch+json"
    assert first.json == {"metadata": {"labels": {"a": "1"}}}
    assert second.json == {"metadata": {"annotations": {"urumi.dev/url": "http://x/"}}}


def test_patching_a_missing_namespace_raises_not_found(api, kube):
    api.on("PATCH", "/api/v1/namespaces/nope", Reply(404, status(404, 'namespaces "nope" not found')))
    with pytest.raises(NotFoundError, match='namespaces "nope" not found'):
        kube.annotate_namespace("nope", {"a": "b"})


def test_delete_namespace_true_then_false_when_absent(api, kube):
    api.on("DELETE", "/api/v1/namespaces/shop", Reply(body=status(200, "")),
           Reply(404, status(404, "not found")))
    assert kube.delete_namespace("shop") is True
    assert kube.delete_namespace("shop") is False
    assert [r.method for r in api.sent()] == ["DELETE", "DELETE"]


def test_list_namespaces_sends_the_label_selector(api, kube):
    api.on("GET", "/api/v1/namespaces", Reply(body={"kind": "NamespaceList", "metadata": {"resourceVersion": "3"},
                                                   "items": [ns("store-a"), ns("store-b")]}))
    found = kube.list_namespaces("app.kubernetes.io/managed-by=urumi,urumi.dev/name")
    assert [n["metadata"]["name"] for n in found] == ["store-a", "store-b"]
    assert api.sent()[0].query == {"labelSelector": "app.kubernetes.io/managed-by=urumi,urumi.dev/name"}


def test_list_namespaces_without_items_is_empty(api, kube):
    api.on("GET", "/api/v1/namespaces", Reply(body={"kind": "NamespaceList", "metadata": {}}))
    assert kube.list_namespaces("x=y") == []


# -- secrets -----------------------------------------------------------------------------------
def test_create_secret_if_absent_creates_then_keeps_the_existing(api, kube):
    api.on("POST", "/api/v1/namespaces/store-shop/secrets", Reply(201, {}),
           Reply(409, status(409, 'secrets "creds" already exists', "AlreadyExists")))
    assert kube.create_secret_if_absent("store-shop", "creds", {"password": "p"}, {"app": "urumi"}) is True
    assert kube.create_secret_if_absent("store-shop", "creds", {"password": "other"}, {"app": "urumi"}) is False
    body = api.sent("POST")[0].json
    assert body == {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                    "metadata": {"name": "creds", "labels": {"app": "urumi"}}, "stringData": {"password": "p"}}
    assert not api.sent("PUT")  # never regenerated


def test_put_secret_replaces_an_existing_secret(api, kube):
    api.on("POST", "/api/v1/namespaces/store-shop/secrets", Reply(409, status(409, "already exists")))
    api.on("PUT", "/api/v1/namespaces/store-shop/secrets/admin", lambda req: Reply(200, req.json))
    kube.put_secret("store-shop", "admin", {"user": "u"}, {"l": "v"})
    post, put = api.sent()
    assert (post.method, put.method) == ("POST", "PUT")
    assert put.json == post.json == {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                                     "metadata": {"name": "admin", "labels": {"l": "v"}},
                                     "stringData": {"user": "u"}}


def test_put_secret_creates_when_absent(api, kube):
    api.on("POST", "/api/v1/namespaces/store-shop/secrets", Reply(201, {}))
    kube.put_secret("store-shop", "admin", {"user": "u"}, {})
    assert [r.method for r in api.sent()] == ["POST"]


def test_read_secret_decodes_base64(api, kube):
    data = {"password": base64.b64encode(b"s3cr\xc3\xa9t").decode(), "bad": base64.b64encode(b"\xff").decode()}
    api.on("GET", "/api/v1/namespaces/store-shop/secrets/creds", Reply(body={"kind": "Secret", "data": data}))
    api.on("GET", "/api/v1/namespaces/store-shop/secrets/empty", Reply(body={"kind": "Secret", "data": None}))
    api.on("GET", "/api/v1/namespaces/store-shop/secrets/none", Reply(404, status(404, "not found")))
    assert kube.read_secret("store-shop", "creds") == {"password": "s3crét", "bad": "\ufffd"}
    assert kube.read_secret("store-shop", "empty") == {}
    assert kube.read_secret("store-shop", "none") is None


# -- lists -------------------------------------------------------------------------------------
@pytest.mark.parametrize("resource,namespace,path", [
    ("pods", "store-a", "/api/v1/namespaces/store-a/pods"),
    ("pods", "", "/api/v1/pods"),
    ("events", "", "/api/v1/events"),
    ("persistentvolumeclaims", "store-a", "/api/v1/namespaces/store-a/persistentvolumeclaims"),
    ("deployments", "", "/apis/apps/v1/deployments"),
    ("statefulsets", "store-a", "/apis/apps/v1/namespaces/store-a/statefulsets"),
    ("replicasets", "", "/apis/apps/v1/replicasets"),
    ("jobs", "", "/apis/batch/v1/jobs"),
    ("jobs", "store-a", "/apis/batch/v1/namespaces/store-a/jobs"),
    ("namespaces", "", "/api/v1/namespaces"),
])
def test_list_objects_paths(api, kube, resource, namespace, path):
    api.on("GET", path, Reply(body={"items": [{"metadata": {"name": "x"}}]}))
    assert kube.list_objects(resource, namespace, "app=shop") == [{"metadata": {"name": "x"}}]
    assert api.sent()[0].query == {"labelSelector": "app=shop"}


def test_list_objects_without_selector_sends_no_query(api, kube):
    api.on("GET", "/api/v1/namespaces/a/events", Reply(body={"items": []}))
    assert kube.list_objects("events", "a") == []
    assert api.sent()[0].query == {}


def test_list_returns_items_and_the_resource_version(api, kube):
    api.on("GET", "/apis/apps/v1/deployments",
           Reply(body={"kind": "DeploymentList", "metadata": {"resourceVersion": "4711"},
                       "items": [{"metadata": {"name": "web"}}]}))
    items, rv = kube.list("deployments", "", "app.kubernetes.io/instance")
    assert (items, rv) == ([{"metadata": {"name": "web"}}], "4711")
    assert api.sent()[0].query == {"labelSelector": "app.kubernetes.io/instance"}
    api.on("GET", "/apis/apps/v1/deployments", Reply(body={}))
    assert kube.list("deployments", "", None) == ([], "")


def test_list_failures_are_the_watch_loops_exceptions(api, kube):
    api.on("GET", "/api/v1/pods", Reply(403, status(403, "pods is forbidden")), Reply(503, status(503, "busy")),
           Reply(404, status(404, "nope")))
    with pytest.raises(ApiDenied, match="pods is forbidden"):
        kube.list("pods", "", None)
    with pytest.raises(TransientApiError, match="busy"):
        kube.list("pods", "", None)
    with pytest.raises(NotFoundError):
        kube.list("pods", "", None)


# -- error mapping -----------------------------------------------------------------------------
@pytest.mark.parametrize("code,error,words", [
    (401, Forbidden, ["refused the request", "Unauthorized"]),
    (403, Forbidden, ["refused the request", "namespaces is forbidden"]),
    (404, NotFoundError, ["not there"]),
    (409, ConflictError, ["already exists"]),
    (500, ClusterUnreachable, ["failed: 500", "etcd down"]),
    (503, ClusterUnreachable, ["failed: 503"]),
    (422, OperationFailed, ["rejected the request: 422", "is invalid"]),
    (400, OperationFailed, ["rejected the request: 400"]),
])
def test_api_errors_become_urumi_errors_with_the_status_message(api, kube, code, error, words):
    messages = {401: "Unauthorized", 403: 'namespaces is forbidden: User "x" cannot create',
                404: "not there", 409: "already exists", 500: "etcd down", 503: "unavailable",
                422: 'Namespace "X" is invalid', 400: "bad request"}
    api.on("POST", "/api/v1/namespaces", Reply(code, status(code, messages[code])))
    with pytest.raises(error) as info:
        kube.create_namespace("x", {})
    assert type(info.value) is error
    for word in words:
        assert word in info.value.message
    if error is Forbidden:
        assert f"context {CONTEXT!r}" in info.value.message and info.value.hint
        assert info.value.exit_code == 3


def test_an_error_body_that_is_not_json_uses_the_reason(api, kube):
    api.on("GET", "/version", Reply(502, raw=b"<html>bad gateway</html>", content_type="text/html"))
    with pytest.raises(ClusterUnreachable) as info:
        kube.server_version()
    assert info.value.message == "the Kubernetes API failed: 502 Bad Gateway"


def test_a_status_without_a_message_uses_the_reason(api, kube):
    api.on("GET", "/version", Reply(418, {"kind": "Status"}))
    with pytest.raises(OperationFailed) as info:
        kube.server_version()
    assert info.value.message.startswith("the Kubernetes API rejected the request: 418 ")


def test_a_json_error_body_that_is_not_an_object_uses_the_reason(api, kube):
    api.on("GET", "/version", Reply(502, None))
    with pytest.raises(ClusterUnreachable):
        kube.server_version()


# -- watch -------------------------------------------------------------------------------------
def test_watch_sends_the_watch_query_and_yields_each_event(api, kube):
    pod = {"metadata": {"name": "p", "resourceVersion": "11"}}
    api.on("GET", "/api/v1/namespaces/store-a/pods", Stream([
        event("ADDED", pod), event("MODIFIED", pod),
        event("BOOKMARK", {"metadata": {"resourceVersion": "12"}}), event("DELETED", pod)]))
    events = list(kube.watch("pods", "store-a", "app=shop", "10", 7, field_selector="metadata.name=p"))
    assert [k for k, _ in events] == ["ADDED", "MODIFIED", "BOOKMARK", "DELETED"]
    assert events[2][1]["metadata"]["resourceVersion"] == "12"
    req = api.sent()[0]
    assert req.query == {"watch": "true", "resourceVersion": "10", "timeoutSeconds": "7",
                         "allowWatchBookmarks": "true", "labelSelector": "app=shop",
                         "fieldSelector": "metadata.name=p"}
    assert req.headers["authorization"] == f"Bearer {TOKEN}"


def test_watch_without_selectors_omits_them(api, kube):
    api.on("GET", "/apis/batch/v1/jobs", Stream([]))
    assert list(kube.watch("jobs", "", None, "3", 30)) == []
    assert set(api.sent()[0].query) == {"watch", "resourceVersion", "timeoutSeconds", "allowWatchBookmarks"}


def test_watch_reassembles_lines_split_across_chunks(api, kube):
    line = event("ADDED", {"metadata": {"name": "p"}})
    api.on("GET", "/api/v1/pods", Stream([line[:7], line[7:] + b"\n" + line[:-1]]))  # blank line; no final \n
    assert [k for k, _ in kube.watch("pods", "", None, "1", 5)] == ["ADDED", "ADDED"]


def test_events_arrive_before_the_stream_ends(api, kube):
    gate = threading.Event()
    first = event("ADDED", {"metadata": {"name": "p"}})

    class Later(list):  # the second chunk waits for the test to have seen the first event
        def __iter__(self):
            yield first
            assert gate.wait(5)
            yield event("DELETED", {"metadata": {"name": "p"}})

    api.on("GET", "/api/v1/pods", Stream(Later()))
    stream = kube.watch("pods", "", None, "1", 5)
    assert next(stream)[0] == "ADDED"
    gate.set()
    assert [k for k, _ in stream] == ["DELETED"]


def test_an_error_event_with_410_is_gone(api, kube):
    api.on("GET", "/api/v1/pods", Stream([
        event("ADDED", {"metadata": {"name": "p"}}),
        event("ERROR", status(410, "too old resource version: 1 (50)", "Expired"))]))
    seen = []
    with pytest.raises(Gone):
        for kind, _ in kube.watch("pods", "", None, "1", 5):
            seen.append(kind)
    assert seen == ["ADDED"]


def test_other_error_events_are_transient(api, kube):
    api.on("GET", "/api/v1/pods", Stream([event("ERROR", status(500, "internal error"))]),
           Stream([event("ERROR", {})]))
    with pytest.raises(TransientApiError, match="internal error"):
        list(kube.watch("pods", "", None, "1", 5))
    with pytest.raises(TransientApiError, match="watch error"):
        list(kube.watch("pods", "", None, "1", 5))


def test_a_line_that_is_not_json_is_transient(api, kube):
    api.on("GET", "/api/v1/pods", Stream([b"{not json\n"]))
    with pytest.raises(TransientApiError):
        list(kube.watch("pods", "", None, "1", 5))


@pytest.mark.parametrize("code,error", [
    (410, Gone), (401, ApiDenied), (403, ApiDenied), (500, TransientApiError), (404, TransientApiError),
])
def test_http_errors_on_the_watch_request(api, kube, code, error):
    api.on("GET", "/api/v1/pods", Reply(code, status(code, "no")))
    with pytest.raises(error):
        list(kube.watch("pods", "", None, "1", 5))


def test_a_server_that_closes_mid_stream_is_transient_after_the_events_it_sent(api, kube):
    api.on("GET", "/api/v1/pods", Stream([event("ADDED", {"metadata": {"name": "p"}}), b'{"type": "MOD'],
                                         broken=True))
    seen = []
    with pytest.raises(TransientApiError):
        for kind, _ in kube.watch("pods", "", None, "1", 5):
            seen.append(kind)
    assert seen == ["ADDED"]


def test_requests_after_a_watch_get_their_own_answers(api, kube):
    # One watch read to its end, one abandoned mid-stream (as wait_namespace_gone does at its
    # deadline): the pool must not hand the next request a connection with a stream still on it.
    api.on("GET", "/api/v1/pods", Stream([event("ADDED", {"metadata": {"name": "p"}})]),
           Stream([event("ADDED", {"metadata": {"name": "p"}}), event("MODIFIED", {"metadata": {"name": "p"}})],
                  pause_s=0.2))
    api.on("POST", "/api/v1/namespaces", lambda req: Reply(201, req.json))
    assert len(list(kube.watch("pods", "", None, "1", 5))) == 1
    assert kube.create_namespace("a", {})["metadata"]["name"] == "a"
    stream = kube.watch("pods", "", None, "1", 5)
    assert next(stream)[0] == "ADDED"
    stream.close()
    assert kube.create_namespace("b", {})["metadata"]["name"] == "b"
    assert [r.json["metadata"]["name"] for r in api.sent("POST")] == ["a", "b"]  # each sent once


def test_json_lines_keeps_a_final_line_without_newline():
    class Response:
        def stream(self, amt=None, decode_content=False):
            yield from (b'{"a"', b': 1}\n\n  \n{"b": 2}')

    assert list(json_lines(Response())) == [b'{"a": 1}', b'{"b": 2}']


# -- wait_namespace_gone -----------------------------------------------------------------------
NS_PATH = "/api/v1/namespaces/store-shop"


def test_wait_namespace_gone_returns_none_on_deleted(api, kube):
    api.on("GET", NS_PATH, Reply(body=ns("store-shop", rv="20")))
    api.on("GET", "/api/v1/namespaces", Stream([event("MODIFIED", ns("store-shop", rv="21")),
                                                event("DELETED", ns("store-shop", rv="22"))]))
    assert kube.wait_namespace_gone("store-shop", time.monotonic() + 30) is None
    watch = api.sent("GET", "/api/v1/namespaces")[0]
    assert watch.query["fieldSelector"] == "metadata.name=store-shop"
    assert watch.query["resourceVersion"] == "20" and watch.query["watch"] == "true"
    assert 1 <= int(watch.query["timeoutSeconds"]) <= 30


def test_wait_namespace_gone_when_already_gone_does_not_watch(api, kube):
    api.on("GET", NS_PATH, Reply(404, status(404, "not found")))
    assert kube.wait_namespace_gone("store-shop", time.monotonic() + 30) is None
    assert [r.path for r in api.sent()] == [NS_PATH]


def test_wait_namespace_gone_past_the_deadline_returns_the_last_object(api, kube):
    api.on("GET", NS_PATH, Reply(body=ns("store-shop", rv="20")))
    assert kube.wait_namespace_gone("store-shop", time.monotonic() - 1)["metadata"]["resourceVersion"] == "20"
    assert len(api.sent()) == 1


def test_wait_namespace_gone_stops_at_the_deadline_inside_the_watch(api, kube, monkeypatch):
    import urumi_cli.adapters.kube as kube_module

    clock = {"now": 100.0}
    monkeypatch.setattr(kube_module, "time", types.SimpleNamespace(monotonic=lambda: clock["now"]))
    stuck = ns("store-shop", rv="31")
    stuck["status"] = {"phase": "Terminating", "conditions": [{"type": "NamespaceContentRemaining"}]}
    api.on("GET", NS_PATH, Reply(body=ns("store-shop", rv="30")), Reply(body=stuck))

    class PastTheDeadline(list):  # the event arrives once the deadline has passed; the stream stays open
        def __iter__(self):
            clock["now"] = 111.0
            yield event("MODIFIED", ns("store-shop", rv="31"))
            time.sleep(2)
            yield event("MODIFIED", ns("store-shop", rv="32"))

    api.on("GET", "/api/v1/namespaces", Stream(PastTheDeadline()))
    started = time.monotonic()
    last = kube.wait_namespace_gone("store-shop", 110.0)
    assert time.monotonic() - started < 1.5  # it did not wait for the stream to end
    assert last["status"]["phase"] == "Terminating"  # what a fresh get said after the watch
    assert [r.query.get("watch") for r in api.sent()] == [None, "true", None]
    assert api.sent()[1].query["timeoutSeconds"] == "10"  # the time left, not the 30 s default


@pytest.mark.parametrize("watch_answer", [
    Stream([event("ERROR", status(410, "too old", "Expired"))]),  # Gone inside the stream
    Reply(410, status(410, "gone")),  # Gone on the request
    Reply(500, status(500, "boom")),  # transient
    Stream([b'{"type": "ADD'], broken=True),  # dropped
], ids=["gone-event", "gone-request", "500", "dropped"])
def test_wait_namespace_gone_gets_again_after_a_failed_watch(api, kube, watch_answer):
    api.on("GET", NS_PATH, Reply(body=ns("store-shop", rv="40")), Reply(404, status(404, "not found")))
    api.on("GET", "/api/v1/namespaces", watch_answer)
    assert kube.wait_namespace_gone("store-shop", time.monotonic() + 30) is None
    assert [(r.path, r.query.get("watch")) for r in api.sent()] == [
        (NS_PATH, None), ("/api/v1/namespaces", "true"), (NS_PATH, None)]


def test_wait_namespace_gone_watches_again_from_the_new_version(api, kube):
    api.on("GET", NS_PATH, Reply(body=ns("store-shop", rv="50")), Reply(body=ns("store-shop", rv="52")))
    api.on("GET", "/api/v1/namespaces", Stream([event("MODIFIED", ns("store-shop", rv="51"))]),
           Stream([event("DELETED", ns("store-shop", rv="53"))]))
    assert kube.wait_namespace_gone("store-shop", time.monotonic() + 30) is None
    watches = api.sent("GET", "/api/v1/namespaces")
    assert [w.query["resourceVersion"] for w in watches] == ["50", "52"]


# -- logs and pods -----------------------------------------------------------------------------
def test_read_log_query_and_text(api, kube):
    path = "/api/v1/namespaces/store-shop/pods/shop-web-1/log"
    api.on("GET", path, Reply(raw=b"line 1\nline \xff2\n", content_type="text/plain"))
    assert kube.read_log("store-shop", "shop-web-1", container="app") == "line 1\nline \ufffd2\n"
    kube.read_log("store-shop", "shop-web-1", container="init", tail_lines=5, previous=True)
    first, second = api.sent()
    assert first.query == {"container": "app", "tailLines": "20"}
    assert second.query == {"container": "init", "tailLines": "5", "previous": "true"}


def test_read_log_of_a_missing_pod_is_not_found(api, kube):
    api.on("GET", "/api/v1/namespaces/a/pods/p/log", Reply(404, status(404, 'pods "p" not found')))
    with pytest.raises(NotFoundError, match='pods "p" not found'):
        kube.read_log("a", "p", container="c")


def test_delete_pod_ignores_404_but_not_other_errors(api, kube):
    path = "/api/v1/namespaces/store-shop/pods/shop-mariadb-0"
    api.on("DELETE", path, Reply(body={"kind": "Pod"}), Reply(404, status(404, "not found")),
           Reply(403, status(403, "forbidden")))
    kube.delete_pod("store-shop", "shop-mariadb-0")
    kube.delete_pod("store-shop", "shop-mariadb-0")
    with pytest.raises(Forbidden):
        kube.delete_pod("store-shop", "shop-mariadb-0")
    assert [r.method for r in api.sent()] == ["DELETE"] * 3


# -- config maps (the store's event log) ------------------------------------------------------------
CM_PATH = "/api/v1/namespaces/store-shop/configmaps"


def test_get_config_map_and_404_is_none(api, kube):
    obj = {"kind": "ConfigMap", "metadata": {"name": "urumi-events", "resourceVersion": "41"}, "data": {"k": "v"}}
    api.on("GET", f"{CM_PATH}/urumi-events", Reply(body=obj), Reply(404, status(404, "not found", "NotFound")))
    assert kube.get_config_map("store-shop", "urumi-events") == obj
    assert kube.get_config_map("store-shop", "urumi-events") is None


def test_create_config_map_posts_it_and_an_existing_one_is_a_conflict(api, kube):
    api.on("POST", CM_PATH, lambda req: Reply(201, req.json),
           Reply(409, status(409, 'configmaps "urumi-events" already exists', "AlreadyExists")))
    kube.create_config_map("store-shop", "urumi-events", {"events.json": "[]"}, {"app": "urumi"})
    assert api.sent("POST")[0].json == {"apiVersion": "v1", "kind": "ConfigMap",
                                        "metadata": {"name": "urumi-events", "labels": {"app": "urumi"}},
                                        "data": {"events.json": "[]"}}
    with pytest.raises(ConflictError, match="already exists"):
        kube.create_config_map("store-shop", "urumi-events", {}, {})


def test_replace_config_map_sends_the_resource_version_and_a_stale_one_is_a_conflict(api, kube):
    modified = 'Operation cannot be fulfilled on configmaps "urumi-events": the object has been modified'
    api.on("PUT", f"{CM_PATH}/urumi-events", lambda req: Reply(200, req.json), Reply(409, status(409, modified)),
           Reply(404, status(404, "not found")))
    kube.replace_config_map("store-shop", "urumi-events", {"events.json": "[1]"}, {"a": "b"}, "41")
    assert api.sent("PUT")[0].json["metadata"] == {"name": "urumi-events", "labels": {"a": "b"}, "resourceVersion": "41"}
    with pytest.raises(ConflictError, match="has been modified"):
        kube.replace_config_map("store-shop", "urumi-events", {}, {}, "41")
    with pytest.raises(NotFoundError):
        kube.replace_config_map("store-shop", "urumi-events", {}, {}, "41")


def test_stream_log_follows_and_keeps_empty_lines_and_lines_split_across_chunks(api, kube):
    path = "/api/v1/namespaces/store-shop/pods/shop-web-1/log"
    api.on("GET", path, Stream([b"first\n\nsec", b"ond\nno newline at the end \xff"]))
    lines = list(kube.stream_log("store-shop", "shop-web-1", container="wordpress", follow=True, since_seconds=600,
                                 tail_lines=0))
    assert lines == ["first", "", "second", "no newline at the end \ufffd"]
    assert api.sent()[0].query == {"container": "wordpress", "follow": "true", "sinceSeconds": "600", "tailLines": "0"}


def test_stream_log_without_options_sends_the_container_only(api, kube):
    api.on("GET", "/api/v1/namespaces/a/pods/p/log", Reply(raw=b"x\n", content_type="text/plain"))
    assert list(kube.stream_log("a", "p", container="c")) == ["x"]
    assert api.sent()[0].query == {"container": "c"}


def test_stream_log_errors_are_urumi_errors(api, kube):
    api.on("GET", "/api/v1/namespaces/a/pods/p/log", Reply(404, status(404, 'pods "p" not found')),
           Reply(400, status(400, 'container "c" in pod "p" is waiting to start: ContainerCreating')))
    with pytest.raises(NotFoundError, match='pods "p" not found'):
        list(kube.stream_log("a", "p", container="c", follow=True))
    with pytest.raises(OperationFailed, match="waiting to start"):
        list(kube.stream_log("a", "p", container="c"))


def test_stream_log_cut_mid_stream_is_cluster_unreachable_after_the_lines_sent(api, kube):
    api.on("GET", "/api/v1/namespaces/a/pods/p/log", Stream([b"one\n"], broken=True))
    got = []
    with pytest.raises(ClusterUnreachable, match="while reading the log of p"):
        for line in kube.stream_log("a", "p", container="c", follow=True):
            got.append(line)
    assert got == ["one"]
