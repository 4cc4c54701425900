"""Fakes at urumi's adapter seams and Kubernetes objects as plain dicts, for the unit tests.

Nothing here talks to a network, a cluster, docker, kind or helm. The fakes are small and keep
state, so tests assert behaviour (what was run, what was recorded) rather than mock call counts.
A module of its own (not conftest) so test modules can import it by a name no other conftest shares.
"""

from __future__ import annotations

import copy
import io
import queue
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable

from urumi_cli.adapters.helm import Release
from urumi_cli.adapters.kube_transport import ConflictError, NotFoundError
from urumi_cli.adapters.runner import CommandError, CommandResult
from urumi_cli.adapters.tools import ToolVersion
from urumi_cli.models import ComponentState
from urumi_cli.readiness import COMPONENT_LABEL, INSTANCE_LABEL


# -- the argv-recording runner ------------------------------------------------------------------
@dataclass
class Call:
    argv: list[str]
    timeout: float | None
    check: bool
    input_text: str | None
    env: dict | None


@dataclass
class Rule:
    prefix: list[str]
    returncode: int = 0
    stdout: str = ""
    stderr: str = ""
    action: Callable[[list[str]], object] | None = None


class FakeRunner:
    """Implements CommandRunner. Scripted by argv prefix (the longest matching prefix wins, the
    latest of equals); an unscripted command fails the test loudly."""

    def __init__(self):
        self.rules: list[Rule] = []
        self.calls: list[Call] = []

    def on(self, prefix, *, returncode=0, stdout="", stderr="", action=None) -> "FakeRunner":
        self.rules.append(Rule(list(prefix), returncode, stdout, stderr, action))
        return self

    def argvs(self) -> list[list[str]]:
        return [c.argv for c in self.calls]

    def run(self, argv, *, timeout=None, check=True, input_text=None, env=None) -> CommandResult:
        argv = [str(a) for a in argv]
        self.calls.append(Call(argv, timeout, check, input_text, env))
        matching = [r for r in self.rules if argv[: len(r.prefix)] == r.prefix]
        if not matching:
            raise AssertionError(f"unscripted command: {argv}")
        rule = max(reversed(matching), key=lambda r: len(r.prefix))  # later rules override earlier ones
        if rule.action is not None:
            produced = rule.action(argv)
            if isinstance(produced, CommandResult):
                result = produced
            else:
                result = CommandResult(argv, rule.returncode, rule.stdout, rule.stderr)
        else:
            result = CommandResult(argv, rule.returncode, rule.stdout, rule.stderr)
        if check and result.returncode != 0:
            raise CommandError(argv, result.returncode, result.stdout, result.stderr)
        return result


# -- reporter ------------------------------------------------------------------------------------
class RecordingReporter:
    def __init__(self):
        self.events: list[tuple] = []
        self.last_components: list[ComponentState] = []

    def step(self, key, text):
        self.events.append(("step", key, text))

    def done(self, key, text=None, ok=True):
        self.events.append(("done", key, text, ok))

    def components(self, states):
        self.last_components = copy.deepcopy(states)
        self.events.append(("components", [(s.name, s.ready) for s in states]))

    def close(self):
        self.events.append(("close",))


# -- Kubernetes objects as plain dicts ---------------------------------------------------------
def meta(name, *, release="shop", component=None, generation=1, rv="1", **extra) -> dict:
    labels = {INSTANCE_LABEL: release}
    if component:
        labels[COMPONENT_LABEL] = component
    return {"name": name, "uid": f"uid-{name}", "labels": labels, "generation": generation, "resourceVersion": rv,
            **extra}


def deployment(name="shop-web", *, ready=True, component="web", release="shop", replicas=1, rv="1") -> dict:
    n = replicas if ready else 0
    return {"metadata": meta(name, release=release, component=component, rv=rv),
            "spec": {"replicas": replicas},
            "status": {"observedGeneration": 1, "updatedReplicas": replicas, "availableReplicas": n,
                       "readyReplicas": n}}


def statefulset(name="shop-mariadb", *, ready=True, component="database", release="shop", rv="1") -> dict:
    return {"metadata": meta(name, release=release, component=component, rv=rv),
            "spec": {"replicas": 1},
            "status": {"observedGeneration": 1, "readyReplicas": 1 if ready else 0, "updatedReplicas": 1,
                       "currentRevision": "r1", "updateRevision": "r1"}}


def job(name="shop-setup", *, state="complete", component="setup", release="shop", rv="1") -> dict:
    conditions = {
        "complete": [{"type": "Complete", "status": "True"}],
        "failed": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit"}],
        "running": [],
    }[state]
    return {"metadata": meta(name, release=release, component=component, rv=rv),
            "status": {"conditions": conditions, "active": 1 if state == "running" else 0}}


def pod(name="shop-web-abc", *, ready=True, component="web", release="shop", waiting=None, init_waiting=None,
        rv="1") -> dict:
    status = {"phase": "Running" if ready else "Pending",
              "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
              "containerStatuses": [], "initContainerStatuses": []}
    if waiting:
        status["containerStatuses"].append({"name": "app", "state": {"waiting": {"reason": waiting,
                                                                                 "message": "boom"}}})
    if init_waiting:
        status["initContainerStatuses"].append({"name": "init", "state": {"waiting": {"reason": init_waiting}}})
    return {"metadata": meta(name, release=release, component=component, rv=rv), "status": status}


def event(name="ev1", *, reason="FailedCreate", type_="Warning", kind="ReplicaSet", obj="shop-web-123",
          message='pods "x" is forbidden: exceeded quota: store-quota', when="2030-01-01T00:00:00Z",
          rv="1") -> dict:
    return {"metadata": {"name": name, "resourceVersion": rv, "creationTimestamp": when},
            "type": type_, "reason": reason, "message": message, "lastTimestamp": when,
            "involvedObject": {"kind": kind, "name": obj, "uid": f"uid-{obj}"}}


def matches(obj: dict, selector: str | None) -> bool:
    """A label selector as the API server applies it (equality and existence terms, ANDed)."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for term in filter(None, (selector or "").split(",")):
        key, _, value = term.partition("=")
        if key not in labels or ("=" in term and labels[key] != value):
            return False
    return True


def ready_objects(release="shop") -> dict[str, list[dict]]:
    return {
        "deployments": [deployment(f"{release}-web", release=release)],
        "statefulsets": [statefulset(f"{release}-mariadb", release=release)],
        "jobs": [job(f"{release}-setup", release=release)],
        "pods": [pod(f"{release}-web-abc", release=release),
                 pod(f"{release}-mariadb-0", release=release, component="database")],
        "events": [],
    }


# -- a scripted ResourceSource for the watch loop ----------------------------------------------
END = object()  # a server-side end of one watch session


class ScriptedSource:
    """`list` answers from a per-resource script (the last entry repeats); `watch` replays a
    per-resource queue the test can feed at any time. Exceptions in either are raised."""

    def __init__(self, session_s: float = 0.2):
        self.lists: dict[str, list] = defaultdict(list)
        self.streams: dict[str, queue.Queue] = defaultdict(queue.Queue)
        self.list_calls: list[str] = []
        self.watch_calls: list[tuple[str, str]] = []
        self.closed = threading.Event()
        self.session_s = session_s
        self._lock = threading.Lock()

    def script_list(self, resource, *entries) -> None:
        self.lists[resource].extend(entries)

    def push(self, resource, *items) -> None:
        for item in items:
            self.streams[resource].put(item)

    def lists_of(self, resource) -> int:
        with self._lock:
            return self.list_calls.count(resource)

    def list(self, resource, namespace, selector):
        with self._lock:
            self.list_calls.append(resource)
            script = self.lists[resource]
            entry = script.pop(0) if len(script) > 1 else (script[0] if script else ([], "1"))
        if isinstance(entry, BaseException):
            raise entry
        items, rv = entry
        return copy.deepcopy(items), rv

    def watch(self, resource, namespace, selector, resource_version, timeout_s):
        with self._lock:
            self.watch_calls.append((resource, resource_version))
        q = self.streams[resource]
        ends = time.monotonic() + self.session_s
        while not self.closed.is_set() and time.monotonic() < ends:
            try:
                item = q.get(timeout=0.01)
            except queue.Empty:
                continue
            if item is END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item


# -- fake kube for the actions -----------------------------------------------------------------
class FakeKube:
    """Implements KubeClient over in-memory namespaces, with the same method signatures."""

    def __init__(self):
        self.namespaces: dict[str, dict] = {}
        self.secrets: dict[tuple[str, str], dict] = {}
        self.objects: dict[str, dict[str, list[dict]]] = {}  # namespace -> resource -> items
        self.calls: list[tuple] = []
        self.stuck: dict | None = None  # namespace object wait_namespace_gone reports as still there
        self.logs: dict[tuple[str, str, str], str] = {}  # (namespace, pod, container) -> what it printed
        self.config_maps: dict[tuple[str, str], dict] = {}  # (namespace, name) -> the object
        # Following logs: a container's current run (new_container_run starts the next), and the
        # containers that stopped (the API server then ends a follow stream).
        self.log_runs: dict[tuple[str, str, str], int] = {}
        self.logs_ended: set[tuple[str, str, str]] = set()
        self.log_errors: dict[tuple[str, str, str], Exception] = {}  # what the API answers instead of a log
        self._log_lock = threading.Lock()
        self._rv = 100
        self.closed = threading.Event()

    def _record(self, *call):
        self.calls.append(call)

    def called(self, name) -> list[tuple]:
        return [c for c in self.calls if c[0] == name]

    def add_namespace(self, name, labels, annotations=None, terminating=False, conditions=None) -> dict:
        ns = {"metadata": {"name": name, "labels": dict(labels), "annotations": dict(annotations or {}),
                           "resourceVersion": "7", "creationTimestamp": "2030-01-01T00:00:00Z"},
              "status": {"phase": "Terminating" if terminating else "Active", "conditions": conditions or []}}
        if terminating:
            ns["metadata"]["deletionTimestamp"] = "2030-01-01T00:00:00Z"
        self.namespaces[name] = ns
        return ns

    def server_version(self):
        self._record("server_version")
        return "v1.31.0"

    def get_namespace(self, name):
        self._record("get_namespace", name)
        return copy.deepcopy(self.namespaces.get(name))

    def create_namespace(self, name, labels):
        self._record("create_namespace", name, dict(labels))
        assert name not in self.namespaces, f"namespace {name} already exists"
        return self.add_namespace(name, labels)

    def patch_namespace_labels(self, name, labels):
        self._record("patch_namespace_labels", name, dict(labels))
        self.namespaces[name]["metadata"]["labels"].update(labels)

    def annotate_namespace(self, name, annotations):
        self._record("annotate_namespace", name, dict(annotations))
        self.namespaces[name]["metadata"]["annotations"].update(annotations)

    def create_secret_if_absent(self, namespace, name, data, labels):
        self._record("create_secret_if_absent", namespace, name)
        if (namespace, name) in self.secrets:
            return False
        self.secrets[(namespace, name)] = dict(data)
        return True

    def put_secret(self, namespace, name, data, labels):
        self._record("put_secret", namespace, name)
        self.secrets[(namespace, name)] = dict(data)

    def read_secret(self, namespace, name):
        return copy.deepcopy(self.secrets.get((namespace, name)))

    # ConfigMaps with the API server's optimistic concurrency: a replace at a stale
    # resourceVersion is a 409, a create of an existing one too, anything in a missing namespace 404.
    def get_config_map(self, namespace, name):
        self._record("get_config_map", namespace, name)
        return copy.deepcopy(self.config_maps.get((namespace, name)))

    def _store_config_map(self, namespace, name, data, labels):
        self._rv += 1
        obj = {"apiVersion": "v1", "kind": "ConfigMap", "data": dict(data),
               "metadata": {"name": name, "namespace": namespace, "labels": dict(labels),
                            "resourceVersion": str(self._rv)}}
        self.config_maps[(namespace, name)] = obj
        return copy.deepcopy(obj)

    def create_config_map(self, namespace, name, data, labels):
        self._record("create_config_map", namespace, name)
        if namespace not in self.namespaces:
            raise NotFoundError(f'namespaces "{namespace}" not found')
        if (namespace, name) in self.config_maps:
            raise ConflictError(f'configmaps "{name}" already exists')
        return self._store_config_map(namespace, name, data, labels)

    def replace_config_map(self, namespace, name, data, labels, resource_version):
        self._record("replace_config_map", namespace, name, resource_version)
        current = self.config_maps.get((namespace, name))
        if current is None:
            raise NotFoundError(f'configmaps "{name}" not found')
        if current["metadata"]["resourceVersion"] != resource_version:
            raise ConflictError(f'Operation cannot be fulfilled on configmaps "{name}": the object has been modified')
        return self._store_config_map(namespace, name, data, labels)

    def read_log(self, namespace, pod, *, container, tail_lines=20, previous=False):
        self._record("read_log", namespace, pod, container, previous)
        lines = self.logs.get((namespace, pod, container), "").splitlines()
        return "\n".join(lines[-tail_lines:])

    def new_container_run(self, namespace, pod, container, text) -> None:
        """The container restarted: its log is now the new run's (a follow of the old run ends)."""
        key = (namespace, pod, container)
        with self._log_lock:
            self.log_runs[key] = self.log_runs.get(key, 0) + 1
            self.logs[key] = text
            self.logs_ended.discard(key)

    def stream_log(self, namespace, pod, *, container, follow=False, since_seconds=None, tail_lines=None):
        self._record("stream_log", namespace, pod, container, follow, since_seconds, tail_lines)
        if not any(p["metadata"]["name"] == pod for p in self.objects.get(namespace, {}).get("pods", [])):
            raise NotFoundError(f'pods "{pod}" not found')
        key = (namespace, pod, container)
        if key in self.log_errors:
            raise self.log_errors[key]
        with self._log_lock:
            run, lines = self.log_runs.get(key, 0), self.logs.get(key, "").splitlines()
        sent = len(lines)
        if tail_lines is not None:
            lines = lines[-tail_lines:] if tail_lines else []
        yield from lines
        while follow and not self.closed.is_set():
            with self._log_lock:
                if self.log_runs.get(key, 0) != run:
                    return  # that run's container is gone
                ended = key in self.logs_ended
                current = self.logs.get(key, "").splitlines()
            yield from current[sent:]
            sent = len(current)
            if ended:
                return
            self.closed.wait(0.01)

    def delete_pod(self, namespace, name):
        self._record("delete_pod", namespace, name)
        pods = self.objects.get(namespace, {}).get("pods", [])
        pods[:] = [p for p in pods if p["metadata"]["name"] != name]

    def delete_namespace(self, name):
        self._record("delete_namespace", name)
        ns = self.namespaces.get(name)
        if ns is None:
            return False
        ns["metadata"]["deletionTimestamp"] = "2030-01-01T00:00:00Z"
        return True

    def wait_namespace_gone(self, name, deadline):
        self._record("wait_namespace_gone", name)
        if self.stuck is not None:
            return copy.deepcopy(self.stuck)
        self.namespaces.pop(name, None)
        self.objects.pop(name, None)
        return None

    def list_namespaces(self, selector):
        self._record("list_namespaces", selector)
        return [copy.deepcopy(ns) for ns in self.namespaces.values() if matches(ns, selector)]

    def _select(self, resource, namespace, selector) -> list[dict]:
        if resource == "namespaces":
            return [copy.deepcopy(ns) for ns in self.namespaces.values() if matches(ns, selector)]
        found = []  # "" = all namespaces: objects carry their namespace, as the API server's do
        for ns, resources in self.objects.items():
            if namespace and ns != namespace:
                continue
            for item in copy.deepcopy(resources.get(resource, [])):
                item["metadata"].setdefault("namespace", ns)
                if resource == "events" or matches(item, selector):
                    found.append(item)
        return found

    def list(self, resource, namespace, selector):
        self._record("list", resource, namespace)
        return self._select(resource, namespace, selector), "1"

    def list_objects(self, resource, namespace, selector=None):
        self._record("list_objects", resource, namespace)
        return self._select(resource, namespace, selector)

    def watch(self, resource, namespace, selector, resource_version, timeout_s, field_selector=None):
        # A quiet server: nothing changes; the session ends shortly (the loop then watches again).
        self.closed.wait(0.05)
        return
        yield  # pragma: no cover


# -- fake helm for the actions -----------------------------------------------------------------
class FakeHelm:
    """Keeps releases in memory. `on_upgrade(release, kwargs)` runs inside upgrade_install."""

    def __init__(self, kube: FakeKube | None = None):
        self.releases: dict[str, Release] = {}
        self.calls: list[tuple] = []
        self.on_upgrade: Callable | None = None
        self.kube = kube
        self.objects_on_install: dict[str, list[dict]] | None = None  # what the chart "creates"
        self.histories: dict[str, list[Release]] = {}  # release -> revisions, oldest first (set by a test)
        # What upgrade_install and rollback made, as helm records it: revisions, and per revision
        # the objects the chart "created" and the values it was given (rollback brings both back).
        self.revisions: dict[str, list[Release]] = {}
        self.revision_objects: dict[tuple[str, int], dict] = {}
        self.revision_values: dict[tuple[str, int], dict] = {}

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]

    def called(self, name) -> list[tuple]:
        return [c for c in self.calls if c[0] == name]

    def status(self, release, *, namespace, target):
        self.calls.append(("status", release))
        return self.releases.get(release)

    def version(self):
        self.calls.append(("version",))
        return ToolVersion("helm", "4.0.1", 4, 0)

    def upgrade_install(self, release, chart, *, namespace, target, values_files, timeout_s, wait=False,
                        create_namespace=False, extra=None):
        self.calls.append(("upgrade_install", release, chart, list(values_files), timeout_s))
        if self.on_upgrade is not None:
            self.on_upgrade(release, {"chart": chart, "namespace": namespace, "values_files": list(values_files)})
        old = self.releases.get(release)
        self.releases[release] = Release(release, namespace, "deployed", (old.revision if old else 0) + 1)
        if self.kube is not None and self.objects_on_install is not None:
            self.kube.objects[namespace] = copy.deepcopy(self.objects_on_install)
        supplied: dict = {}
        for path in values_files:
            supplied = _helm_merge(supplied, _yaml_file(path))
        self._new_revision(release, namespace, "Install complete" if old is None else "Upgrade complete", supplied)

    def uninstall(self, release, *, namespace, target, timeout_s=300):
        self.calls.append(("uninstall", release))
        return self.releases.pop(release, None) is not None

    def _new_revision(self, release, namespace, description, supplied):
        current = self.releases[release]
        made = self.revisions.setdefault(release, [])
        made[:] = [Release(r.name, r.namespace, "superseded" if r.status == "deployed" else r.status, r.revision,
                           chart=r.chart, app_version=r.app_version, updated=r.updated, description=r.description)
                   for r in made]
        made.append(Release(release, namespace, "deployed", current.revision, chart="woocommerce-0.1.0",
                            app_version="11.0.1", updated="2026-12-02T01:00:00.123456789Z", description=description))
        if self.kube is not None:
            self.revision_objects[(release, current.revision)] = copy.deepcopy(self.kube.objects.get(namespace, {}))
        self.revision_values[(release, current.revision)] = supplied

    def history(self, release, *, namespace, target):
        self.calls.append(("history", release))
        if release in self.histories:
            return list(self.histories[release])
        if release in self.revisions:
            return list(self.revisions[release])
        return [r for r in [self.releases.get(release)] if r]

    def get_values(self, release, *, namespace, target):
        self.calls.append(("get_values", release))
        current = self.releases[release]
        return copy.deepcopy(self.revision_values.get((release, current.revision), {}))

    def rollback(self, release, *, namespace, target, revision=None, timeout_s=300):
        self.calls.append(("rollback", release, revision))
        old = self.releases[release]
        self.releases[release] = Release(release, namespace, "deployed", old.revision + 1)
        back_to = revision or old.revision - 1
        if self.kube is not None and (release, back_to) in self.revision_objects:
            self.kube.objects[namespace] = copy.deepcopy(self.revision_objects[(release, back_to)])
        if release in self.revisions:
            self._new_revision(release, namespace, f"Rollback to {back_to}",
                               copy.deepcopy(self.revision_values.get((release, back_to), {})))

    def test(self, release, *, namespace, target, timeout_s):
        self.calls.append(("test", release))
        return "Phase: Succeeded"


def _yaml_file(path) -> dict:
    """A values file as helm reads it; {} for what a test passes as an opaque file."""
    import yaml

    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _helm_merge(base: dict, override: dict) -> dict:
    """helm's coalescing of -f files (maps by key; anything else replaced; null deletes)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _helm_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# -- the browser ---------------------------------------------------------------------------------
class FakeBrowser:
    """Implements adapters.browser.Browser: records the URLs; `available` is whether this
    "machine" has a browser (the real one returns False when webbrowser finds none)."""

    def __init__(self, available: bool = True):
        self.available = available
        self.opened: list[str] = []

    def open(self, url):
        if self.available:
            self.opened.append(url)
        return self.available


# -- streams for Rich that follow sys.stdout/sys.stderr at write time (CliRunner swaps them) ----
class FollowStream(io.TextIOBase):
    def __init__(self, name: str):
        self.name = name

    def _target(self):
        return getattr(sys, self.name)

    def write(self, text):
        return self._target().write(text)

    def flush(self):
        self._target().flush()

    def isatty(self):
        return False

    def writable(self):
        return True


# -- fake pod exec for backup and restore --------------------------------------------------------
class FakePodExec:
    """Implements PodExec.run over an in-memory "pod": per namespace, a database (the SQL it holds)
    and a file tree, with the programs the engines run behaving as they do in the real images:
    mariadb-dump/mariadb read their option file from stdin and refuse a wrong password, tar makes
    and reads real tar streams, cp/rm/mkdir/find touch the tree. Anything else exits 127."""

    def __init__(self, kube: FakeKube | None = None):
        self.kube = kube  # for the database password the "server" was initialised with
        self.databases: dict[str, bytes] = {}  # namespace -> SQL the database holds
        self.trees: dict[str, dict[str, bytes]] = defaultdict(dict)  # namespace -> path -> content
        self.calls: list[dict] = []
        self.fail: dict[str, tuple[int, str]] = {}  # argv[0] -> (exit code, stderr), to script failures

    def called(self, program=None) -> list[dict]:
        return [c for c in self.calls if program is None or c["argv"][0] == program]

    def run(self, namespace, pod, *, container, argv, stdin=None, stdout=None, on_progress=None,
            timeout_s=3600.0):
        from urumi_cli.adapters.kube_exec import ExecFailed, ExecResult

        assert isinstance(argv, list) and all(isinstance(a, str) for a in argv), f"argv must be a list: {argv!r}"
        data = b"".join(stdin) if stdin is not None else None
        self.calls.append({"namespace": namespace, "pod": pod, "container": container, "argv": list(argv),
                           "stdin": data})
        out = io.BytesIO()

        def fail(code, message):
            raise ExecFailed(argv, pod=pod, container=container, exit_code=code, stderr=message)

        if argv[0] in self.fail:
            fail(*self.fail[argv[0]])
        program = getattr(self, "_" + argv[0].replace("-", "_"), None)
        if program is None:
            fail(127, f'exec: "{argv[0]}": executable file not found in $PATH')
        error = program(namespace, argv, data, out)
        if error:
            fail(*error)
        if stdout is not None and out.getvalue():
            stdout.write(out.getvalue())
        if on_progress is not None:
            on_progress(len(data or b""), len(out.getvalue()))
        return ExecResult(stderr="", bytes_in=len(data or b""), bytes_out=len(out.getvalue()))

    # the programs ------------------------------------------------------------------------------
    def _password_ok(self, namespace, argv, data) -> tuple[int, str] | None:
        if "--defaults-extra-file=/dev/stdin" not in argv[1:2]:
            return 1, "Access denied for user 'wordpress'@'localhost' (using password: NO)"
        want = (self.kube.read_secret(namespace, "store-credentials") or {}).get("db-password") if self.kube else None
        if data is None or (want is not None and f'password="{want}"'.encode() not in data):
            return 1, "Access denied for user 'wordpress'@'localhost' (using password: YES)"
        return None

    def _mariadb_dump(self, namespace, argv, data, out):
        if (error := self._password_ok(namespace, argv, data)) is not None:
            return error
        out.write(self.databases.get(namespace, b""))

    def _mariadb(self, namespace, argv, data, out):
        if (error := self._password_ok(namespace, argv, data)) is not None:
            return error
        source = next((a.split(" ", 1)[1] for a in argv if a.startswith("--execute=SOURCE ")), None)
        if source is None or source not in self.trees[namespace]:
            return 1, f"Failed to open file '{source}', error: 2"
        self.databases[namespace] = self.trees[namespace][source]

    def _pg_dump(self, namespace, argv, data, out):
        out.write(self.databases.get(namespace, b""))

    def _psql(self, namespace, argv, data, out):
        self.databases[namespace] = data or b""

    def _cp(self, namespace, argv, data, out):
        if argv[1] != "/dev/stdin" or data is None:
            return 1, "cp: unexpected use in this fake"
        self.trees[namespace][argv[2]] = data

    def _rm(self, namespace, argv, data, out):
        for path in argv[2:]:
            self.trees[namespace].pop(path, None)

    def _mkdir(self, namespace, argv, data, out):
        self.trees[namespace].setdefault(argv[-1].rstrip("/") + "/", b"")

    def _find(self, namespace, argv, data, out):
        root = argv[1].rstrip("/") + "/"
        assert argv[2:] == ["-mindepth", "1", "-delete"], argv
        for path in [p for p in self.trees[namespace] if p.startswith(root) and p != root]:
            del self.trees[namespace][path]

    def _tar(self, namespace, argv, data, out):
        import tarfile

        tree = self.trees[namespace]
        parent = argv[argv.index("-C") + 1].rstrip("/") + "/"
        if argv[1] == "-c":
            directory = parent + argv[-1].rstrip("/") + "/"
            if directory not in tree:
                return 2, f"tar: {argv[-1]}: Cannot stat: No such file or directory"
            with tarfile.open(fileobj=out, mode="w") as tar:
                for path in sorted(p for p in tree if p.startswith(directory)):
                    info = tarfile.TarInfo(path[len(parent):])
                    if path.endswith("/"):
                        info.type = tarfile.DIRTYPE
                        tar.addfile(info)
                    else:
                        info.size = len(tree[path])
                        tar.addfile(info, io.BytesIO(tree[path]))
            return None
        if argv[1] == "-x":
            try:
                with tarfile.open(fileobj=io.BytesIO(data or b""), mode="r:") as tar:
                    for info in tar:
                        path = parent + info.name + ("/" if info.isdir() else "")
                        tree[path] = b"" if info.isdir() else tar.extractfile(info).read()
            except tarfile.TarError as err:
                return 2, f"tar: {err}"
            return None
        return 2, "tar: unexpected use in this fake"


def store_pods(release="shop", *, web_container="wordpress", working_dir=None) -> list[dict]:
    """The ready database and web pods of a store, with their containers (exec needs the names)."""
    web = pod(f"{release}-web-abc", release=release)
    web["spec"] = {"containers": [{"name": web_container, **({"workingDir": working_dir} if working_dir else {})}]}
    db = pod(f"{release}-db-0", release=release, component="database")
    db["spec"] = {"containers": [{"name": "db"}]}
    return [web, db]
