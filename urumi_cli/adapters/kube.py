"""Kubernetes resources urumi reads and writes: namespaces, Secrets, workloads, logs, watches.

Objects cross this seam as plain dicts (raw JSON, no client models), so readiness is a pure
function of them and the watch loop (adapters/watching.py) can be tested with scripted events.
`kubernetes` is imported only when a client is built, never at CLI start-up.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Iterator

from urumi_cli.adapters.kube_transport import (
    CONNECT_TIMEOUT_S,
    ApiTransport,
    api_error,
    ConflictError,
    HttpStatus,
    NotFoundError,
    json_lines,
    quote_segment as _q,
    short,
)
from urumi_cli.adapters.watching import WATCH_SERVER_TIMEOUT_S, ApiDenied, Gone, TransientApiError
from urumi_cli.errors import ClusterUnreachable, Forbidden


class KubeClient(ApiTransport):
    """The real cluster (see ApiTransport for how requests are made)."""

    def server_version(self) -> str:
        return self._json("GET", "/version", timeout=(CONNECT_TIMEOUT_S, 10)).get("gitVersion", "")

    # -- namespaces ----------------------------------------------------------------------------
    def get_namespace(self, name: str) -> dict | None:
        try:
            return self._json("GET", f"/api/v1/namespaces/{_q(name)}")
        except NotFoundError:
            return None

    def create_namespace(self, name: str, labels: dict[str, str]) -> dict:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
        return self._json("POST", "/api/v1/namespaces", body=body)

    def _patch_namespace(self, name: str, patch: dict) -> None:
        self._json("PATCH", f"/api/v1/namespaces/{_q(name)}", body=patch,
                   content_type="application/strategic-merge-patch+json")

    def patch_namespace_labels(self, name: str, labels: dict[str, str]) -> None:
        self._patch_namespace(name, {"metadata": {"labels": labels}})

    def annotate_namespace(self, name: str, annotations: dict[str, str]) -> None:
        self._patch_namespace(name, {"metadata": {"annotations": annotations}})

    def delete_namespace(self, name: str) -> bool:
        try:
            self._json("DELETE", f"/api/v1/namespaces/{_q(name)}")
            return True
        except NotFoundError:
            return False

    def list_namespaces(self, selector: str) -> list[dict]:
        return self._json("GET", "/api/v1/namespaces", query={"labelSelector": selector}).get("items", [])

    def wait_namespace_gone(self, name: str, deadline: float) -> dict | None:
        """Watch until the namespace is gone; returns its last seen object if the deadline passes."""
        last = self.get_namespace(name)
        while last is not None and time.monotonic() < deadline:
            rv = last["metadata"].get("resourceVersion", "")
            remaining = max(1, int(deadline - time.monotonic()))
            try:
                for kind, obj in self.watch("namespaces", "", None, rv, min(remaining, WATCH_SERVER_TIMEOUT_S),
                                            field_selector=f"metadata.name={name}"):
                    if kind == "DELETED":
                        return None
                    last = obj
                    if time.monotonic() >= deadline:
                        break
            except (Gone, TransientApiError):
                pass
            last = self.get_namespace(name)
        return last

    # -- secrets -------------------------------------------------------------------------------
    def create_secret_if_absent(self, namespace: str, name: str, data: dict[str, str], labels: dict[str, str]) -> bool:
        body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": name, "labels": labels}, "stringData": data}
        try:
            self._json("POST", f"/api/v1/namespaces/{_q(namespace)}/secrets", body=body)
            return True
        except ConflictError:
            return False  # generated once; never regenerate (salts and DB passwords must stay stable)

    def put_secret(self, namespace: str, name: str, data: dict[str, str], labels: dict[str, str]) -> None:
        """Create the Secret, or replace its data if it exists."""
        body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": name, "labels": labels}, "stringData": data}
        try:
            self._json("POST", f"/api/v1/namespaces/{_q(namespace)}/secrets", body=body)
        except ConflictError:
            self._json("PUT", f"/api/v1/namespaces/{_q(namespace)}/secrets/{_q(name)}", body=body)

    def read_secret(self, namespace: str, name: str) -> dict[str, str] | None:
        try:
            secret = self._json("GET", f"/api/v1/namespaces/{_q(namespace)}/secrets/{_q(name)}")
        except NotFoundError:
            return None
        return {k: base64.b64decode(v).decode("utf-8", "replace") for k, v in (secret.get("data") or {}).items()}

    # -- config maps (urumi's event log of a store) ----------------------------------------------
    def get_config_map(self, namespace: str, name: str) -> dict | None:
        try:
            return self._json("GET", f"/api/v1/namespaces/{_q(namespace)}/configmaps/{_q(name)}")
        except NotFoundError:
            return None

    def create_config_map(self, namespace: str, name: str, data: dict[str, str], labels: dict[str, str]) -> dict:
        """Raises ConflictError if it exists (another writer was first)."""
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": data}
        return self._json("POST", f"/api/v1/namespaces/{_q(namespace)}/configmaps", body=body)

    def replace_config_map(self, namespace: str, name: str, data: dict[str, str], labels: dict[str, str],
                           resource_version: str) -> dict:
        """Replace it only if it is still at resource_version (optimistic concurrency): ConflictError
        when another writer changed it since it was read, NotFoundError when it was deleted."""
        body = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "labels": labels, "resourceVersion": resource_version}, "data": data}
        return self._json("PUT", f"/api/v1/namespaces/{_q(namespace)}/configmaps/{_q(name)}", body=body)

    # -- listing and watching ------------------------------------------------------------------
    def _path(self, resource: str, namespace: str) -> str:
        if resource == "namespaces":
            return "/api/v1/namespaces"
        group = {"pods": "/api/v1", "events": "/api/v1", "persistentvolumeclaims": "/api/v1",
                 "deployments": "/apis/apps/v1", "statefulsets": "/apis/apps/v1", "replicasets": "/apis/apps/v1",
                 "jobs": "/apis/batch/v1"}[resource]
        if not namespace:  # every namespace
            return f"{group}/{resource}"
        return f"{group}/namespaces/{_q(namespace)}/{resource}"

    def _items(self, resource: str, namespace: str, selector: str | None = None) -> dict:
        query = {"labelSelector": selector} if selector else None
        return self._json("GET", self._path(resource, namespace), query=query)

    def list_objects(self, resource: str, namespace: str, selector: str | None = None) -> list[dict]:
        """A one-off list (namespace "" = all namespaces); failures are urumi errors."""
        return self._items(resource, namespace, selector).get("items", [])

    def list(self, resource: str, namespace: str, selector: str | None) -> tuple[list[dict], str]:
        try:
            data = self._items(resource, namespace, selector)
        except ClusterUnreachable as err:
            raise TransientApiError(str(err)) from None
        except Forbidden as err:
            raise ApiDenied(str(err)) from None
        return data.get("items", []), data.get("metadata", {}).get("resourceVersion", "")

    def watch(self, resource: str, namespace: str, selector: str | None, resource_version: str,
              timeout_s: int, field_selector: str | None = None) -> Iterator[tuple[str, dict]]:
        from urllib3.exceptions import HTTPError

        query = {"watch": "true", "resourceVersion": resource_version, "timeoutSeconds": timeout_s,
                 "allowWatchBookmarks": "true"}
        if selector:
            query["labelSelector"] = selector
        if field_selector:
            query["fieldSelector"] = field_selector
        try:
            # The client read timeout covers a server that silently stops sending.
            response = self._send("GET", self._path(resource, namespace), query=query, stream=True,
                                  timeout=(CONNECT_TIMEOUT_S, timeout_s + 10))
        except HttpStatus as err:
            if err.status == 410:
                raise Gone() from None
            if err.status in (401, 403):
                raise ApiDenied(f"{resource}: {err.reason}") from None
            raise TransientApiError(f"{resource}: {err.status} {err.reason}") from None
        except (HTTPError, OSError) as err:
            raise TransientApiError(short(err)) from None
        try:
            for line in json_lines(response):
                event = json.loads(line)
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    if obj.get("code") == 410:
                        raise Gone()
                    raise TransientApiError(obj.get("message", "watch error"))
                yield kind, obj
        except (HTTPError, OSError, ValueError) as err:
            raise TransientApiError(short(err)) from None
        finally:
            response.release_conn()

    def read_log(self, namespace: str, pod: str, *, container: str, tail_lines: int = 20,
                 previous: bool = False) -> str:
        """The last lines a container printed (of its previous run with previous=True)."""
        query = {"container": container, "tailLines": tail_lines}
        if previous:
            query["previous"] = "true"
        data = self._body("GET", f"/api/v1/namespaces/{_q(namespace)}/pods/{_q(pod)}/log", query=query,
                          timeout=(CONNECT_TIMEOUT_S, 15))
        return data.decode("utf-8", "replace")

    def stream_log(self, namespace: str, pod: str, *, container: str, follow: bool = False,
                   since_seconds: int | None = None, tail_lines: int | None = None) -> Iterator[str]:
        """A container's log, line by line as the API sends it; with follow=True until the
        container stops (the API server ends the stream then) or the caller stops reading."""
        from urllib3.exceptions import HTTPError

        query: dict = {"container": container}
        if follow:
            query["follow"] = "true"
        if since_seconds:
            query["sinceSeconds"] = int(since_seconds)
        if tail_lines is not None:
            query["tailLines"] = int(tail_lines)
        path = f"/api/v1/namespaces/{_q(namespace)}/pods/{_q(pod)}/log"
        unreachable = f"cannot reach the Kubernetes API of context {self.target.context!r}"
        try:
            # A followed container may print nothing for hours: no read timeout then.
            response = self._send("GET", path, query=query, stream=True,
                                  timeout=(CONNECT_TIMEOUT_S, None if follow else 60))
        except HttpStatus as err:
            raise api_error(err, self.target) from None
        except (HTTPError, OSError) as err:
            raise ClusterUnreachable(f"{unreachable}: {short(err)}", "check that the cluster runs") from None
        try:
            buffer = b""
            for chunk in response.stream(amt=None, decode_content=True):
                buffer += chunk
                *complete, buffer = buffer.split(b"\n")
                for line in complete:
                    yield line.decode("utf-8", "replace")
            if buffer:
                yield buffer.decode("utf-8", "replace")
        except (HTTPError, OSError) as err:
            raise ClusterUnreachable(f"{unreachable} while reading the log of {pod}: {short(err)}",
                                     "run the command again") from None
        finally:
            response.release_conn()

    def delete_pod(self, namespace: str, name: str) -> None:
        try:
            self._json("DELETE", f"/api/v1/namespaces/{_q(namespace)}/pods/{_q(name)}")
        except NotFoundError:
            pass
