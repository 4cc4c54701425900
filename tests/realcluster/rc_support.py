"""Helpers of the real-cluster tests (a module name no other test folder uses)."""

from __future__ import annotations

import itertools
import json
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# fixture name -> work(cluster): what `store_cluster` starts in the background once the cluster is ready.
EARLY: dict = {}
_deletions = itertools.count()


def early(fixture: str, work) -> None:
    """Registers work(cluster) (a store's creation, say) as what the module fixture `fixture`
    yields: it starts in the background as soon as the session's store cluster is ready when a
    selected test uses that fixture, and the fixture takes it with `cluster.result(fixture)`.
    Called at import, i.e. at collection."""
    EARLY[fixture] = work


def delete_later(cluster, name: str) -> None:
    """A fixture's teardown: the store's deletion (its namespace takes 10-20 s to go) goes on in
    the background; the session waits for it before the cluster is deleted."""
    cluster.start(f"delete:{name}:{next(_deletions)}", lambda: store(cluster, "delete", name, "--yes", "-o", "json", timeout=600))


def wait_until(predicate, *, timeout: float, interval: float = 1.0, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def as_json(result: subprocess.CompletedProcess) -> dict:
    try:
        return json.loads(result.stdout)
    except ValueError:
        raise AssertionError(f"not JSON (exit {result.returncode}):\n{result.stdout}\n{result.stderr}") from None


def store(cluster, *args: str, timeout: float = 1200) -> subprocess.CompletedProcess:
    return cluster.urumi("store", *args, "--kubeconfig", str(cluster.kubeconfig), "--context", cluster.context,
                         timeout=timeout)


def http_get(host: str, path: str = "/"):
    """GET through the real ingress on 127.0.0.1 with the store's Host header; no redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(f"http://127.0.0.1{path}", headers={"Host": host})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=15) as response:
            return response.status, dict(response.headers), response.read().decode(errors="replace")
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode(errors="replace")
