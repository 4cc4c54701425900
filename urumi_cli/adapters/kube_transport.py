"""HTTP to the Kubernetes API over the official client's configuration and connection pool,
and the mapping of API answers to urumi's errors. adapters/kube.py builds on it.

The official client loads the kubeconfig (certificates, tokens, exec plugins, proxy) and owns
the urllib3 pool; requests are plain JSON over that pool. The typed API classes (CoreV1Api...)
are not used: they import a model module per Kubernetes type (pydantic models since
kubernetes 36), ~0.6 s at start-up and ~0.2 s at exit, for objects urumi reads as dicts anyway.
"""

from __future__ import annotations

import json
from typing import Iterator

from urumi_cli.errors import ClusterUnreachable, EnvironmentProblem, Forbidden, OperationFailed
from urumi_cli.models import Target

CONNECT_TIMEOUT_S = 5


class ApiTransport:
    """One cluster's API: built once per process, every request pins the target's context."""

    def __init__(self, target: Target):
        self.target = target
        from kubernetes import config
        from kubernetes.config.config_exception import ConfigException

        try:
            self.api = config.new_client_from_config(config_file=target.kubeconfig, context=target.context,
                                                     persist_config=False)
        except (ConfigException, OSError, ValueError, TypeError) as err:
            raise EnvironmentProblem(f"cannot load kubeconfig context {target.context!r}: {err}",
                                     "check the kubeconfig file and the context name") from None
        self.configuration = self.api.configuration
        self.pool = self.api.rest_client.pool_manager  # TLS, client certificate and proxy set up

    def _send(self, method: str, path: str, *, query: dict | None = None, body=None,
              content_type: str = "application/json", timeout: tuple = (CONNECT_TIMEOUT_S, 30),
              stream: bool = False):
        """One request; the urllib3 response (unread if stream). Raises HttpStatus for non-2xx,
        urllib3's HTTPError or OSError when the API cannot be reached."""
        import urllib3
        from urllib.parse import urlencode

        headers = {**self.api.default_headers, "Accept": "application/json"}
        # Bearer tokens; the kubeconfig loader's refresh hook renews exec-plugin and OIDC tokens.
        for auth in self.configuration.auth_settings().values():
            if auth.get("in") == "header" and auth.get("value"):
                headers[auth["key"]] = auth["value"]
        data = None
        if body is not None:
            headers["Content-Type"] = content_type
            data = json.dumps(body).encode()
        url = self.configuration.host + path + (f"?{urlencode(query)}" if query else "")
        response = self.pool.request(method, url, body=data, headers=headers, preload_content=not stream,
                                     timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1]))
        if not 200 <= response.status <= 299:
            try:
                text = response.data.decode("utf-8", "replace")
            finally:
                response.release_conn()
            raise HttpStatus(response.status, response.reason, text)
        return response

    def _body(self, method: str, path: str, **kwargs) -> bytes:
        """A request whose failures become urumi errors; the response body."""
        from urllib3.exceptions import HTTPError

        try:
            response = self._send(method, path, **kwargs)
        except HttpStatus as err:
            raise api_error(err, self.target) from None
        except (HTTPError, OSError) as err:
            raise ClusterUnreachable(
                f"cannot reach the Kubernetes API of context {self.target.context!r}: {short(err)}",
                "check that the cluster runs (`urumi cluster status`)",
            ) from None
        try:
            return response.data
        finally:
            response.release_conn()

    def _json(self, method: str, path: str, **kwargs) -> dict:
        return json.loads(self._body(method, path, **kwargs))


def json_lines(response) -> Iterator[bytes]:
    """The watch stream's JSON lines as they arrive (the API server sends them chunked)."""
    buffer = b""
    for chunk in response.stream(amt=None, decode_content=False):
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        yield from (line for line in complete if line.strip())
    if buffer.strip():
        yield buffer


class HttpStatus(Exception):
    """A non-2xx answer of the API server (status, reason, body: what _api_error reads)."""

    def __init__(self, status: int, reason: str | None, body: str):
        super().__init__(f"{status} {reason}")
        self.status, self.reason, self.body = status, reason, body


def quote_segment(segment: str) -> str:
    from urllib.parse import quote

    return quote(segment, safe="")


class NotFoundError(OperationFailed):
    pass


class ConflictError(OperationFailed):
    pass


def short(err: Exception) -> str:
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return text[:200]


def api_error(err, target: Target) -> Exception:
    reason = err.reason or ""
    try:
        body = json.loads(err.body)
    except (TypeError, ValueError):
        body = None
    message = body.get("message", reason) if isinstance(body, dict) else reason  # a proxy may send null
    if err.status == 404:
        return NotFoundError(message)
    if err.status == 409:
        return ConflictError(message)
    if err.status in (401, 403):
        return Forbidden(f"the API of context {target.context!r} refused the request: {message}",
                          "check that your kubeconfig user may manage namespaces, secrets and workloads")
    if err.status and err.status >= 500 or err.status == 0:
        return ClusterUnreachable(f"the Kubernetes API failed: {err.status} {message}",
                                  "check the cluster with `urumi cluster status`")
    return OperationFailed(f"the Kubernetes API rejected the request: {err.status} {message}")
