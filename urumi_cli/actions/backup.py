"""`urumi store backup` and `urumi store restore`: a store's database and uploads in and out of its
pods through the Kubernetes API (pod exec), with the engine's own tools (engines/*.py say which).

    backup:  store -> ready pods -> dump the database -> tar the uploads -> [secrets] -> archive
    restore: verify the archive (before any cluster call, see cli/store_backup.py) -> the store
             (a new one through create, or an existing one with --force) -> database and
             uploads pods ready -> load the dump (+ the engine's fix-ups for the new host) -> uploads

Nothing secret is written to the registry; the archive holds secrets only when asked.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from urumi_cli import config
from urumi_cli.actions import archive as fmt
from urumi_cli.actions import contract
from urumi_cli.actions.contract import LABEL_NAME, MANAGED_BY, SECRET_NAME, now_iso
from urumi_cli.actions.engines import BackupSpec, EngineSpec, FilesSpec, engine_for, engines
from urumi_cli.actions.locking import store_lock
from urumi_cli.errors import Conflict, OperationFailed, TimedOut, UsageError, shown
from urumi_cli.models import StoreStatus, Target
from urumi_cli.readiness import COMPONENT_LABEL, INSTANCE_LABEL, is_hook, is_pod_ready, pod_failure

PROGRESS_EVERY_S = 1.0


# -- shared --------------------------------------------------------------------------------------
def _backup_spec(engine: EngineSpec) -> BackupSpec:
    if engine.backup is None:
        raise OperationFailed(f"store type {engine.name} has no backup support",
                              f"add a BackupSpec to urumi_cli/actions/engines/{engine.name}.py")
    return engine.backup


def _selector(name: str, component: str) -> str:
    return f"{INSTANCE_LABEL}={name},{COMPONENT_LABEL}={component}"


def ready_pod(kube, namespace: str, name: str, component: str) -> dict:
    """The store's ready pod of `component` (the newest if several), or OperationFailed."""
    pods = [p for p in kube.list_objects("pods", namespace, _selector(name, component))
            if not is_hook(p) and is_pod_ready(p) and not (p.get("metadata") or {}).get("deletionTimestamp")]
    if not pods:
        raise OperationFailed(f"store {name} has no ready {component} pod",
                              f"see why with `urumi store describe {name}`, then retry")
    return max(pods, key=lambda p: (p["metadata"].get("creationTimestamp") or "", p["metadata"]["name"]))


def _container_dir(pod: dict, files: FilesSpec) -> str:
    if files.parent:
        return files.parent
    for container in (pod.get("spec") or {}).get("containers") or []:
        if container.get("name") == files.container and container.get("workingDir"):
            return container["workingDir"]
    raise OperationFailed(f"container {files.container} of pod {pod['metadata']['name']} has no workingDir",
                          "the chart changed: update the engine's FilesSpec")


class _Progress:
    """Byte counts as one step's text, at most once a second (LogReporter prints each update)."""

    def __init__(self, reporter, key: str, what: str, clock: Callable[[], float], *, outgoing: bool = False):
        self.reporter, self.key, self.what, self.clock = reporter, key, what, clock
        self.outgoing = outgoing  # count what goes into the pod (a load), not what comes out (a dump)
        self.last = 0.0
        reporter.step(key, what)

    def __call__(self, sent: int, received: int) -> None:
        now = self.clock()
        if now - self.last >= PROGRESS_EVERY_S:
            self.last = now
            self.reporter.step(self.key, f"{self.what}: {human(sent if self.outgoing else received)}")


def human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _store_versions(kube, namespace: str, name: str) -> tuple[dict, str]:
    """Chart name/version and app version, from the labels the chart puts on its workloads."""
    for resource in ("statefulsets", "deployments"):
        for obj in kube.list_objects(resource, namespace, f"{INSTANCE_LABEL}={name}"):
            labels = obj["metadata"].get("labels") or {}
            chart = labels.get("helm.sh/chart", "")
            if chart:
                chart_name, _, version = chart.rpartition("-")
                return {"name": chart_name, "version": version.replace("_", "+")}, labels.get(
                    "app.kubernetes.io/version", "")
    return {"name": "", "version": ""}, ""


# -- backup --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BackupOptions:
    name: str
    target: Target
    output: Path | None = None  # default: ./<name>-<UTC time>.urumi.tar
    include_secrets: bool = False
    timeout_s: float = config.DEFAULT_TIMEOUT_S


@dataclass
class BackupResult:
    name: str
    type: str
    path: str
    size: int
    includes_secrets: bool
    created_at: str
    members: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"name": self.name, "type": self.type, "path": self.path, "size": self.size,
                "includes_secrets": self.includes_secrets, "created_at": self.created_at,
                "members": self.members}


def default_output(name: str, when: str) -> Path:
    return Path.cwd() / f"{name}-{when.replace(':', '').replace('-', '')}.urumi.tar"


def check_output(path: Path) -> Path:
    """Fail before any cluster work if the archive could not be written there."""
    try:
        path = path.expanduser()
        is_dir = path.is_dir()
        parent = path.parent if str(path.parent) else Path(".")
        writable = parent.is_dir() and os.access(parent, os.W_OK | os.X_OK)
        absolute = path.absolute()
        os.fspath(absolute).encode()  # a lone surrogate (a non-UTF-8 byte) cannot name a file here
        if "\x00" in os.fspath(absolute):
            raise ValueError("embedded null byte")
    except (OSError, ValueError) as err:  # a name too long, a NUL in it
        raise UsageError(f"cannot write the archive to {shown(path)}: {type(err).__name__}",
                         "pick a shorter, plain file name") from None
    if is_dir:
        raise UsageError(f"--to {shown(path)} is a directory", "name the archive file, e.g. shop.urumi.tar")
    if not writable:
        raise UsageError(f"cannot write {shown(path)}: {shown(parent)} is not a writable directory",
                         "pick a path in an existing directory you can write to")
    return absolute


def backup_store(opts: BackupOptions, *, kube, pod_exec, reporter, clock=time.monotonic) -> BackupResult:
    created_at = now_iso()
    output = check_output(opts.output or default_output(opts.name, created_at))
    cluster = opts.target.context
    namespace = contract.namespace_for(opts.name)
    deadline = clock() + opts.timeout_s

    reporter.step("store", f"store {opts.name} in {cluster}")
    ns = contract.require_store_namespace(kube, opts.name, cluster)
    engine = engine_for(contract.store_type_of(ns) or "")
    spec = _backup_spec(engine)
    db_pod = ready_pod(kube, namespace, opts.name, spec.database.component)
    files_pod = ready_pod(kube, namespace, opts.name, spec.files.component) if spec.files else None
    secret = kube.read_secret(namespace, SECRET_NAME) if (spec.database.credentials or opts.include_secrets) else {}
    if secret is None:
        raise OperationFailed(f"store {opts.name} has no Secret {SECRET_NAME}",
                              f"re-run `urumi store create --type {engine.name} --name {opts.name}` to repair it")
    chart, app_version = _store_versions(kube, namespace, opts.name)
    reporter.done("store", f"store {opts.name} ({engine.name}, chart {chart['version'] or '?'})")

    work = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))  # 0700, same file system
    try:
        members: dict[str, Path] = {}
        digests: dict[str, dict] = {}
        db = spec.database
        path = work / fmt.DATABASE
        progress = _Progress(reporter, "database", f"dumping the database ({db.dump[0]})", clock)
        with open(path, "wb") as raw:
            sink = fmt.HashingWriter(raw)
            stdin = [_credentials(db, secret)] if db.dump_stdin == "credentials" else None
            pod_exec.run(namespace, db_pod["metadata"]["name"], container=db.container, argv=list(db.dump),
                         stdin=stdin, stdout=sink, on_progress=progress, timeout_s=_left(deadline, clock))
        members[fmt.DATABASE], digests[fmt.DATABASE] = path, sink.member()
        reporter.done("database", f"database dumped ({human(sink.size)})")

        if spec.files and files_pod:
            path = work / fmt.FILES
            files = spec.files
            pod = files_pod["metadata"]["name"]
            parent = _container_dir(files_pod, files)
            progress = _Progress(reporter, "files", f"archiving {files.directory}/", clock)
            # A store that never received an upload has no directory yet: an empty one is its truth.
            pod_exec.run(namespace, pod, container=files.container, argv=["mkdir", "-p", f"{parent}/{files.directory}"],
                         timeout_s=60)
            with open(path, "wb") as raw:
                sink = fmt.HashingWriter(raw)
                pod_exec.run(namespace, pod, container=files.container,
                             argv=["tar", "-c", "-f", "-", "-C", parent, files.directory],
                             stdout=sink, on_progress=progress, timeout_s=_left(deadline, clock))
            members[fmt.FILES], digests[fmt.FILES] = path, sink.member()
            reporter.done("files", f"{files.directory}/ archived ({human(sink.size)})")

        if opts.include_secrets:
            path = work / fmt.SECRETS
            body = json.dumps({SECRET_NAME: secret}, indent=2, sort_keys=True).encode() + b"\n"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as raw:
                sink = fmt.HashingWriter(raw)
                sink.write(body)
            members[fmt.SECRETS], digests[fmt.SECRETS] = path, sink.member()

        manifest = {
            "format": fmt.FORMAT, "version": fmt.VERSION, "store": opts.name, "type": engine.name,
            "created_at": created_at, "chart": chart, "app_version": app_version,
            "source": {"cluster": cluster, "namespace": namespace,
                       "url": (ns["metadata"].get("annotations") or {}).get(contract.ANNOTATION_URL, "")},
            "includes_secrets": opts.include_secrets, "members": digests,
        }
        reporter.step("archive", f"writing {output}")
        fmt.write_archive(output, manifest, members, private=opts.include_secrets)
        size = output.stat().st_size
        private = ", with secrets, mode 0600" if opts.include_secrets else ""
        reporter.done("archive", f"wrote {output} ({human(size)}{private})")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return BackupResult(name=opts.name, type=engine.name, path=str(output), size=size,
                        includes_secrets=opts.include_secrets, created_at=created_at, members=digests)


def _left(deadline: float, clock) -> float:
    left = deadline - clock()
    if left <= 0:
        raise TimedOut("the backup ran out of time", "raise --timeout")
    return left


# -- restore -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RestoreOptions:
    name: str
    target: Target
    store_type: str | None = None  # --type: must match the archive's
    force: bool = False
    env: str = "local"
    domain: str = config.LOCAL_DOMAIN
    values_files: tuple[str, ...] = ()
    wait: bool = False  # also wait for the whole store (its setup Job) afterwards
    timeout_s: float = config.DEFAULT_TIMEOUT_S


@dataclass
class RestoreResult:
    name: str
    type: str
    from_store: str
    backup_created_at: str
    archive: str
    created: bool  # a new store (False: restored over an existing one with --force)
    url: str
    status: str
    database_bytes: int
    files_bytes: int
    secrets_restored: bool

    def to_json(self) -> dict:
        return dict(self.__dict__)


def verify_archive(path: Path, workdir: Path, *, store_type: str | None = None) -> fmt.Archive:
    """Everything that can be checked without the cluster: format, checksums, type."""
    archive = fmt.read_archive(path, workdir, known_types=tuple(engines()))
    if store_type and store_type != archive.store_type:
        raise UsageError(f"archive {shown(path)} is a {archive.store_type} store's backup, not {store_type}",
                         f"drop --type, or pass --type {archive.store_type}")
    return archive


def restore_store(opts: RestoreOptions, archive: fmt.Archive, *, registry, helm, kube, pod_exec, reporter,
                  locks_dir: Path, clock=time.monotonic) -> RestoreResult:
    engine = engine_for(archive.store_type)
    spec = _backup_spec(engine)
    cluster = opts.target.context
    namespace = contract.namespace_for(opts.name)
    deadline = clock() + opts.timeout_s

    reporter.step("cluster", f"checking store {opts.name} in {cluster}")
    kube.server_version()
    ns = contract.managed_namespace(kube.get_namespace(namespace), opts.name)
    existing = ns is not None and not ns["metadata"].get("deletionTimestamp")
    if existing:
        ns_type = contract.store_type_of(ns)
        if ns_type != engine.name:
            raise Conflict(f"store {opts.name} is a {ns_type or 'untyped'} store; "
                           f"the archive is a {engine.name} backup",
                           "restore into another name")
        if not opts.force:
            raise Conflict(f"store {opts.name} already exists",
                           f"restore into a new name, or replace its data: urumi store restore {opts.name} "
                           f"--from {shown(archive.path)} --force")
    reporter.done("cluster", f"store {opts.name} {'exists: restoring over it' if existing else 'is new'}")

    secrets_restored = False
    if not existing:
        secrets_restored = _create(opts, archive, engine, registry=registry, helm=helm, kube=kube,
                                   reporter=reporter, locks_dir=locks_dir, clock=clock, deadline=deadline)

    wanted = [spec.database.component] + ([spec.files.component] if spec.files else [])
    pods = wait_pods_ready(kube, namespace, opts.name, wanted, deadline=deadline, reporter=reporter, clock=clock)
    secret = kube.read_secret(namespace, SECRET_NAME) or {}
    record = registry.get_store(cluster, opts.name)
    # The namespace says where the store answers (the cluster is the source of truth).
    annotations = ((kube.get_namespace(namespace) or {}).get("metadata") or {}).get("annotations") or {}
    url = (annotations.get(contract.ANNOTATION_URL) or (record.url if record else "")
           or contract.store_url(opts.name, opts.env, opts.domain))

    with store_lock(locks_dir, opts.target, opts.name, timeout_s=max(1.0, deadline - clock()), reporter=reporter):
        db_bytes = _load_database(spec, archive, pods[spec.database.component], namespace, pod_exec, secret, url,
                                  reporter, clock, deadline)
        files_bytes = 0
        if spec.files and fmt.FILES in archive.members:
            files_bytes = _load_files(spec.files, archive, pods[spec.files.component], namespace, pod_exec,
                                      reporter, clock, deadline)
        message = f"restored from the backup of {archive.store} taken {archive.manifest.get('created_at', '?')}"
        registry.update_store(cluster, opts.name, message=message, updated_at=now_iso())

    status = (record.status if record else StoreStatus.PROVISIONING.value)
    if opts.wait:
        from urumi_cli.actions.waiting import wait_until_ready

        wait_until_ready(kube, namespace=namespace, release=opts.name, deadline=deadline, reporter=reporter,
                         since_epoch=time.time() - 1.0)
        registry.update_store(cluster, opts.name, status=StoreStatus.READY.value, ready_at=now_iso(),
                              updated_at=now_iso())
        status = StoreStatus.READY.value
    return RestoreResult(name=opts.name, type=engine.name, from_store=archive.store,
                         backup_created_at=archive.manifest.get("created_at", ""), archive=str(archive.path),
                         created=not existing, url=url, status=status, database_bytes=db_bytes,
                         files_bytes=files_bytes, secrets_restored=secrets_restored)


def _create(opts: RestoreOptions, archive: fmt.Archive, engine: EngineSpec, *, registry, helm, kube, reporter,
            locks_dir: Path, clock, deadline: float) -> bool:
    """A new store through create's own steps, not waiting for its setup (the data comes first).
    With the archive's secrets, its Secret is put in place first: create keeps an existing one,
    so the restored database's passwords and the store's Secret agree."""
    from urumi_cli.actions.create import CreateOptions, create_store

    namespace = contract.namespace_for(opts.name)
    secrets = archive.secrets()
    credentials = (secrets or {}).get(SECRET_NAME)
    if credentials:
        reporter.step("secrets", f"credentials Secret from the archive into namespace {namespace}")
        if kube.get_namespace(namespace) is None:
            kube.create_namespace(namespace, contract.namespace_labels(opts.name, engine.name))
        kube.create_secret_if_absent(namespace, SECRET_NAME, credentials, {MANAGED_BY: "urumi", LABEL_NAME: opts.name})
        reporter.done("secrets", "credentials Secret restored from the archive")
    create_store(CreateOptions(name=opts.name, type=engine.name, target=opts.target, env=opts.env, domain=opts.domain,
                               timeout_s=max(30.0, deadline - clock()), wait=False, values_files=opts.values_files),
                 registry=registry, helm=helm, kube=kube, reporter=reporter, locks_dir=locks_dir)
    return bool(credentials)


def wait_pods_ready(kube, namespace: str, name: str, components: list[str], *, deadline: float, reporter,
                    clock=time.monotonic) -> dict[str, dict]:
    """Watch the store's pods until one of each component is Ready; fail fast on a pod that will
    never be (a crash loop, an image that cannot be pulled)."""
    from urumi_cli.adapters.watching import ResourceStreams

    wanted = sorted(set(components))
    reporter.step("pods", f"waiting for the {' and '.join(wanted)} pods")
    pods: dict[str, dict] = {}
    with ResourceStreams(kube, namespace, {"pods": f"{INSTANCE_LABEL}={name}"}) as streams:
        while True:
            ready = {}
            for pod in pods.values():
                component = (pod["metadata"].get("labels") or {}).get(COMPONENT_LABEL)
                if component in wanted and not is_hook(pod):
                    if is_pod_ready(pod) and not pod["metadata"].get("deletionTimestamp"):
                        ready[component] = pod
                    elif (failure := pod_failure(pod)) and component not in ready:
                        reporter.done("pods", f"{component} pod {pod['metadata']['name']} failed", ok=False)
                        raise OperationFailed(f"{component} pod {pod['metadata']['name']} of store {name}: {failure}",
                                              f"see `urumi store describe {name}`")
            if set(ready) == set(wanted):
                reporter.done("pods", f"{' and '.join(wanted)} pods ready")
                return ready
            left = deadline - clock()
            if left <= 0:
                reporter.done("pods", "pods not ready", ok=False)
                missing = ", ".join(sorted(set(wanted) - set(ready)))
                raise TimedOut(f"the {missing} pod of store {name} did not become ready",
                               f"see `urumi store describe {name}`")
            item = streams.get(timeout=min(left, 1.0))
            if item is None:
                continue
            if item.kind == "ERROR":
                raise OperationFailed(f"watching the pods of store {name} failed: {item.error}")
            if item.kind == "LIST":
                pods = {p["metadata"]["name"]: p for p in item.obj}
            elif item.kind == "DELETED":
                pods.pop(item.obj["metadata"]["name"], None)
            else:
                pods[item.obj["metadata"]["name"]] = item.obj


def _load_database(spec: BackupSpec, archive: fmt.Archive, pod: dict, namespace: str, pod_exec, secret: dict,
                   url: str, reporter, clock, deadline: float) -> int:
    db = spec.database
    name = pod["metadata"]["name"]
    tail = db.after_load(url, secret).encode() if db.after_load else b""
    size = archive.members[fmt.DATABASE].stat().st_size
    progress = _Progress(reporter, "database", f"loading the database ({human(size)})", clock, outgoing=True)
    try:
        for argv, stdin_kind in db.load:
            if stdin_kind == "dump":
                stdin = fmt.file_chunks(archive.members[fmt.DATABASE], tail)
            elif stdin_kind == "credentials":
                stdin = [_credentials(db, secret)]
            else:
                stdin = None
            pod_exec.run(namespace, name, container=db.container, argv=list(argv), stdin=stdin,
                         on_progress=progress, timeout_s=_left(deadline, clock))
    except BaseException:
        reporter.done("database", "loading the database failed", ok=False)
        raise
    finally:
        if db.cleanup:
            try:
                pod_exec.run(namespace, name, container=db.container, argv=list(db.cleanup), timeout_s=60)
            except OperationFailed:
                pass  # the load's own error (if any) is the one to show
    reporter.done("database", f"database loaded ({human(size)})")
    return size


def _credentials(db, secret: dict) -> bytes:
    try:
        return db.credentials(secret)
    except KeyError as err:
        raise OperationFailed(f"the store's Secret {SECRET_NAME} lacks {err.args[0]}",
                              "the Secret was edited by hand; restore it or recreate the store") from None


def _load_files(files: FilesSpec, archive: fmt.Archive, pod: dict, namespace: str, pod_exec, reporter, clock,
                deadline: float) -> int:
    name = pod["metadata"]["name"]
    parent = _container_dir(pod, files)
    target = f"{parent}/{files.directory}"
    size = archive.members[fmt.FILES].stat().st_size
    progress = _Progress(reporter, "files", f"restoring {files.directory}/ ({human(size)})", clock, outgoing=True)
    # Replace, not merge: what the archive lacks did not exist when it was taken.
    pod_exec.run(namespace, name, container=files.container, argv=["mkdir", "-p", target], timeout_s=60)
    pod_exec.run(namespace, name, container=files.container, argv=["find", target, "-mindepth", "1", "-delete"],
                 timeout_s=_left(deadline, clock))
    pod_exec.run(namespace, name, container=files.container, argv=["tar", "-x", "-f", "-", "-C", parent],
                 stdin=fmt.file_chunks(archive.members[fmt.FILES]), on_progress=progress,
                 timeout_s=_left(deadline, clock))
    reporter.done("files", f"{files.directory}/ restored ({human(size)})")
    return size
