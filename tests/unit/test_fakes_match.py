"""The fakes in fakes.py keep the shape of what they stand for, so a test cannot pass against a
method the real adapter does not have, or call it in a way the real one would refuse.

For each fake: every method the production code calls on it (found by reading the source, so a
new call is checked without editing this file) exists on the real adapter and on the fake with
the same parameters (names, kinds, defaults; annotations aside); every public method both define
agrees; and the fake's own public methods are either the real one's or declared test helpers.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import urumi_cli
from fakes import FakeHelm, FakeKube, FakePodExec, FakeRunner, RecordingReporter, ScriptedSource
from fakes import FakeBrowser, FakeHelm, FakeKube, FakeRunner, RecordingReporter, ScriptedSource
from urumi_cli.adapters.browser import Browser
from urumi_cli.adapters.helm import Helm
from urumi_cli.adapters.kube import KubeClient
from urumi_cli.adapters.kube_exec import PodExec
from urumi_cli.adapters.runner import CommandRunner, SubprocessRunner
from urumi_cli.adapters.watching import ResourceSource
from urumi_cli.ui.progress import LogReporter, Reporter, RichReporter, SilentReporter

SOURCE = Path(urumi_cli.__file__).parent
ACTIONS = [SOURCE / "actions", SOURCE / "dashboard"]


def called(receiver: str, roots) -> set[str]:
    """Method names the code under `roots` calls as `<receiver>.<name>(`."""
    pattern = re.compile(rf"\b{receiver}\.([a-z_]\w*)\(")
    names: set[str] = set()
    for root in roots:
        for path in ([root] if root.is_file() else sorted(root.rglob("*.py"))):
            names |= set(pattern.findall(path.read_text(encoding="utf-8")))
    return names


# fake, the real classes it stands for, what production code calls on it, the fake's test helpers
WATCH_LOOP = [SOURCE / "adapters" / "watching.py"]  # FakeKube is also the watch loop's ResourceSource
SEAMS = {
    "FakeKube": (FakeKube, [KubeClient], called("kube", ACTIONS) | called("source", WATCH_LOOP),
                 {"add_namespace", "called", "new_container_run"}),
    "FakeHelm": (FakeHelm, [Helm], called("helm", ACTIONS), {"names", "called"}),
    "FakeRunner": (FakeRunner, [CommandRunner, SubprocessRunner], called("runner", [SOURCE / "adapters"]),
                   {"on", "argvs"}),
    "RecordingReporter": (RecordingReporter, [Reporter, SilentReporter, LogReporter, RichReporter],
                          called("reporter", ACTIONS), set()),
    "FakePodExec": (FakePodExec, [PodExec], called("pod_exec", ACTIONS), {"called"}),
    "ScriptedSource": (ScriptedSource, [ResourceSource], called("source", WATCH_LOOP),
                       {"script_list", "push", "lists_of"}),
    "FakeBrowser": (FakeBrowser, [Browser], called("browser", [SOURCE / "cli"]), set()),
}


def public_methods(cls) -> dict[str, object]:
    """Public functions defined on cls or its bases (not properties, not object's)."""
    found = {}
    for klass in reversed(cls.__mro__):
        if klass is object:
            continue
        for name, value in vars(klass).items():
            if not name.startswith("_") and inspect.isfunction(value):
                found[name] = value
    return found


def shape(func) -> inspect.Signature:
    """The signature without annotations: parameter names, kinds and defaults."""
    sig = inspect.signature(func)
    return sig.replace(parameters=[p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()],
                       return_annotation=inspect.Signature.empty)


def mismatch(fake, real, name) -> str | None:
    fake_sig, real_sig = shape(public_methods(fake)[name]), shape(public_methods(real)[name])
    if fake_sig != real_sig:
        return f"{fake.__name__}.{name}{fake_sig} differs from {real.__name__}.{name}{real_sig}"
    return None


def test_the_call_sites_are_found():
    # If the grep found nothing the other tests would pass vacuously.
    assert {"create_namespace", "wait_namespace_gone", "list_objects", "list", "watch"} <= SEAMS["FakeKube"][2]
    assert {"upgrade_install", "status", "uninstall"} <= SEAMS["FakeHelm"][2]
    assert SEAMS["FakeRunner"][2] == {"run"}
    assert {"step", "done", "components", "close"} == SEAMS["RecordingReporter"][2]
    assert {"list", "watch"} == SEAMS["ScriptedSource"][2]
    assert SEAMS["FakePodExec"][2] == {"run"}
    assert {"open"} == SEAMS["FakeBrowser"][2]


@pytest.mark.parametrize("fake_name", SEAMS)
def test_every_called_method_exists_with_the_real_signature(fake_name):
    fake, reals, calls, _ = SEAMS[fake_name]
    problems = []
    for real in reals:
        real_methods = public_methods(real)
        for name in sorted(calls):
            if name not in real_methods:
                problems.append(f"the code calls {name}() but {real.__name__} has no such method")
            elif name not in public_methods(fake):
                problems.append(f"{fake.__name__} lacks {name}{shape(real_methods[name])} "
                                f"(of {real.__name__}), which the code calls")
            else:
                problems.append(mismatch(fake, real, name))
    problems = [p for p in problems if p]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("fake_name", SEAMS)
def test_methods_both_define_agree_and_the_rest_are_declared_helpers(fake_name):
    fake, reals, _, helpers = SEAMS[fake_name]
    fake_methods = public_methods(fake)
    real_names = set().union(*(public_methods(real) for real in reals))
    problems = [mismatch(fake, real, name)
                for real in reals for name in sorted(set(fake_methods) & set(public_methods(real)))]
    problems += [f"{fake.__name__}.{name}{shape(fake_methods[name])} is on no real "
                 f"{'/'.join(r.__name__ for r in reals)} and is not a declared test helper"
                 for name in sorted(set(fake_methods) - real_names - helpers)]
    problems = [p for p in problems if p]
    assert not problems, "\n".join(problems)


def test_the_mismatch_message_names_the_method_and_both_signatures():
    class Real:
        def get(self, name, *, timeout=5): ...

    class Fake:
        def get(self, name, timeout=5): ...

    message = mismatch(Fake, Real, "get")
    assert message == "Fake.get(self, name, timeout=5) differs from Real.get(self, name, *, timeout=5)"
    Fake.get = lambda self, name, *, timeout=5: None
    assert mismatch(Fake, Real, "get") is None
