"""Every option and argument of every command against hostile values (issue 10, hardening).

The commands and their options come from the click tree `build_app()` makes, so an option added
tomorrow is fuzzed without touching this file (a new *command* needs one line in BASE, and
test_every_command_has_a_base_argv says so). Each case runs the real CLI in-process
(`urumi_cli.cli.app.run`) with its real adapters, in an environment this module makes:

- URUMI_HOME, HOME, XDG_*, TMPDIR and the working directory are in a temporary directory, and
  the registry there is seeded with one store;
- KUBECONFIG names a kubeconfig whose only context, kind-urumi, points at a 127.0.0.1 port that
  is bound by this module and never listened on (connections are refused at once);
- PATH is one empty directory: no docker, kind, helm or kubectl can run.

An audit hook (sys.addaudithook) watches every run: opening a file for writing, or renaming,
deleting, chmod-ing or creating a path, outside the temporary directory; starting a program that
exists (trying a missing tool is how urumi finds it missing); resolving or connecting to anything
but loopback: each is a violation.

For each case: nothing escapes `run` (no exception, no traceback on stdout or stderr), the exit
code is one the README documents, a failure is exactly one `error:` line on stderr (after the
progress lines of a table run, followed only by indented detail lines; doctor and cluster status
may instead exit 1 with just their report) with no control characters in it (a raw newline, CR,
ESC or NUL from the value would forge or hide output), urumi's catch-all for its own bugs
(`error: unexpected ...`) never shows, and nothing changed: the registry's bytes and every other
entry in the directory are as they were (lock files aside).

Values valid for an option (`-o json`, `--name shop`) may succeed. One test per command and
parameter runs all of its cases (a pytest item each would cost more than the ~5,400 runs);
KNOWN_BUGS moves the cases of each bug found into a strict xfail of its own.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import socket
import sys
import tempfile
import traceback
from pathlib import Path

import pytest
import typer

from urumi_cli import errors
from urumi_cli.cli import app as app_module
from urumi_cli.cli.app import build_app, run

pytestmark = pytest.mark.timeout(120)

DOCUMENTED_EXIT_CODES = {errors.EXIT_OK, errors.EXIT_FAILED, errors.EXIT_USAGE, errors.EXIT_ENVIRONMENT,
                         errors.EXIT_NOT_FOUND, errors.EXIT_TIMEOUT, errors.EXIT_ROLLED_BACK,
                         errors.EXIT_LIMIT, errors.EXIT_BAD_ARCHIVE, errors.EXIT_INTERRUPTED}

SEEDED_STORE = "existing"

# Valid values for every command's other parameters, keyed by click's parameter name: the fuzzed
# parameter is left out of them. --yes so nothing waits for an answer, --timeout 5s on what can
# wait (the API is dead, so none of them waits that long).
BASE: dict[tuple[str, ...], dict[str, object]] = {
    ("cluster", "up"): {},
    ("cluster", "status"): {},
    ("cluster", "load-images"): {},
    ("cluster", "down"): {"yes": True},
    ("store", "create"): {"name": "shop", "timeout": "5s"},
    ("store", "list"): {},
    ("store", "get"): {"name": SEEDED_STORE},
    ("store", "describe"): {"name": SEEDED_STORE},
    ("store", "credentials"): {"name": SEEDED_STORE},
    ("store", "delete"): {"name": SEEDED_STORE, "yes": True, "timeout": "5s"},
    ("store", "sync"): {},
    ("store", "test"): {"name": SEEDED_STORE, "timeout": "5s"},
    ("store", "backup"): {"name": SEEDED_STORE, "timeout": "5s"},
    ("store", "restore"): {"name": "shop", "source": "valid.urumi.tar", "yes": True, "timeout": "5s"},
    ("store", "history"): {"name": SEEDED_STORE},
    ("store", "rollback"): {"name": SEEDED_STORE, "timeout": "5s"},
    ("store", "upgrade"): {"name": SEEDED_STORE, "timeout": "5s"},
    ("store", "logs"): {"name": SEEDED_STORE},
    ("store", "open"): {"name": SEEDED_STORE},
    ("doctor",): {},
}
# Servers that run until stopped: fuzzing a valid value would start one and block the suite.
# `urumi dashboard`'s options are tested in tests/unit/test_dashboard*.py instead.
LONG_RUNNING = {("dashboard",)}
# Options whose job is to write outside urumi's own files (the shell's rc file): tests/unit/
# test_completion.py runs them with HOME in a temporary directory instead.
WRITES_BY_DESIGN = {((), "install_completion")}
# Parameters fuzzed a second time with more of the others given: --kubeconfig FILE without
# --context reads the file's current-context, with --context it goes straight to the client.
VARIANTS: dict[str, list[dict[str, object]]] = {
    "kubeconfig": [{"context": "kind-urumi"}],
}
# A group's own options (the root's --quiet, --debug, --version) are fuzzed in front of a command.
GROUP_TAIL: dict[tuple[str, ...], list[str]] = {
    (): ["store", "list"],
    ("store",): ["list"],
    ("cluster",): ["status"],
}

# Files and directories made in the environment; the values name them by these tokens.
DIR, EMPTY, NON_UTF8, BINARY, UNREADABLE, NOT_YAML = (
    "@dir@", "@empty-file@", "@non-utf8-file@", "@binary-file@", "@mode-000-file@", "@not-yaml-file@")

# Not here on purpose: /dev/zero and a FIFO without a writer. Read as a kubeconfig they never end
# (`--context C --kubeconfig /dev/zero` reads until memory runs out): they would hang the suite.
HOSTILE = [
    "", " ", "-", "--", "-x", "--help", "-h", "--yes",
    "a" * 5000, "\x00", "a\x00b", "a\nb", "\n", "\r", "\t", "a\rb", "\x1b[31mred\x1b[0m",
    "ü", "😀", "\u202e", "\udcff",  # \udcff: how Python decodes a non-UTF-8 byte in argv
    "$(id)", "`id`", "; rm -rf /", "&&", "|", ">", "*", "'", '"', "\\",
    "../../etc/passwd", "/", "/etc", "/etc/passwd", "/proc/self/mem", "~", "/dev/null",
    "%s%n", "{}", "{0}", "[red]x[/red]", "[/x]", "[",
    "0", "-1", "1e309", "nan", "inf", "∞", "999999999999999999999", "0x10", "5m0s0",
    "null", "shop", "json",
    DIR, EMPTY, NON_UTF8, BINARY, UNREADABLE, NOT_YAML,
]
assert len(HOSTILE) >= 30 and len(set(HOSTILE)) == len(HOSTILE)


def _commands(cmd, path: tuple[str, ...] = ()):
    subcommands = getattr(cmd, "commands", None)
    yield path, cmd, subcommands is not None
    for name, sub in sorted((subcommands or {}).items()):
        yield from _commands(sub, path + (name,))


def _tree() -> list[tuple[tuple[str, ...], object, bool]]:
    return list(_commands(typer.main.get_command(build_app())))


def _primary(param) -> str:
    longs = [o for o in param.opts if o.startswith("--")]
    return max(longs, key=len) if longs else param.opts[0]


def _is_flag(param) -> bool:
    return bool(getattr(param, "is_flag", False))


def _base_argv(path, cmd, is_group, fuzzed_name: str | None, extra: dict | None = None):
    """(argv before the fuzzed words, argv after them), or None if there is no base for `path`."""
    if is_group:
        if path not in GROUP_TAIL:
            return None
        return list(path), list(GROUP_TAIL[path])
    if path not in BASE:
        return None
    given = {**BASE[path], **(extra or {})}
    argv = list(path)
    for param in cmd.params:
        if param.name == fuzzed_name or param.name not in given:
            continue
        value = given[param.name]
        if param.param_type_name == "argument":
            argv.append(str(value))
        elif _is_flag(param):
            argv.append(_primary(param) if value else param.secondary_opts[0])
        else:
            argv += [_primary(param), str(value)]
    return argv, []


def _cases():
    """(path, param, form, value, head, tail): the fuzzed words go between head and tail."""
    for path, cmd, is_group in _tree():
        names = {param.name for param in cmd.params}
        for param in cmd.params:
            if (path, param.name) in WRITES_BY_DESIGN:
                continue
            variants = [("", None)] + [(f"+{'+'.join(extra)}", extra) for extra in VARIANTS.get(param.name, [])
                                       if set(extra) <= names]
            for suffix, extra in variants:
                base = _base_argv(path, cmd, is_group, param.name, extra)
                if base is None:
                    continue
                head, tail = base
                if param.param_type_name == "argument":
                    forms = ["positional"]
                elif _is_flag(param):
                    forms = ["flag=value", "flag value"]  # a flag given a value, or followed by a stray word
                else:
                    forms = ["option value", "option=value"]
                for form in forms:
                    for value in HOSTILE:
                        if form == "flag value" and value == "--":
                            continue  # `--flag --` is the bare flag: a valid call, not a hostile one
                        if form == "option=value" and (extra or not value.startswith("-") and value.strip()):
                            continue  # click parses `--opt=V` as `--opt V`: only where a dash or blank could differ
                        yield path, param, form + suffix, value, head, tail


def _words(param, form: str, value: str) -> list[str]:
    form = form.split("+")[0]
    if form == "positional":
        return [value]
    opt = _primary(param)
    if form in ("flag=value", "option=value"):
        return [f"{opt}={value}"]
    return [opt, value]


# Known bugs: (predicate(path, param name, form, value), reason). The matching cases leave
# test_hostile_values for test_known_bug, a strict xfail per bug, command and parameter: it fails
# outright as soon as one of its cases passes, so each fix shrinks or drops its entry here.
_FORGING = ("\n", "\r", "\x00", "\x1b")


def _kubeconfig_read(path, name, form) -> bool:
    """Cases that read --kubeconfig before anything else fails (cluster commands stop at the
    missing kind first; a plain `store list --context C` needs only the context's name)."""
    if path == ("store", "list") and form.endswith("+context"):
        return False
    return name == "kubeconfig" and (path[0] == "store" or path == ("doctor",))


KNOWN_BUGS: list[tuple[object, str]] = [
]


def _known_bug(path, name, form, value) -> str | None:
    return next((reason for predicate, reason in KNOWN_BUGS if predicate(path, name, form, value)), None)


def _by_parameter():
    """One test per (command, parameter) running all its cases, which keeps ~7000 cases within
    seconds (a pytest item each would cost more than the runs); known bugs are left out."""
    groups: dict[tuple, list] = {}
    for path, param, form, value, head, tail in _cases():
        if _known_bug(path, param.name, form, value) is None:
            groups.setdefault((path, param.name), []).append((head, _words(param, form, value), tail))
    return [pytest.param(cases, id=f"{'/'.join(path) or 'urumi'}:{name}") for (path, name), cases in groups.items()]


def _known_bug_cases():
    """One strict xfail per (bug, command, parameter), holding every case of that bug there."""
    groups: dict[tuple, list] = {}
    for path, param, form, value, head, tail in _cases():
        reason = _known_bug(path, param.name, form, value)
        if reason is not None:
            groups.setdefault((reason, path, param.name), []).append((head, _words(param, form, value), tail))
    reasons = [reason for _, reason in KNOWN_BUGS]
    out = [pytest.param(cases, id=f"{'/'.join(path) or 'urumi'}:{name}:bug{reasons.index(reason) + 1}",
                        marks=pytest.mark.xfail(strict=True, raises=KnownBugStillThere, reason=f"bug: {reason}"))
           for (reason, path, name), cases in groups.items()]
    return out or [pytest.param([], marks=pytest.mark.skip(reason="no known bugs"))]


class KnownBugStillThere(AssertionError):
    pass


# --- the audit hook: what a run may not do -------------------------------------------------

_WATCH: dict = {"root": None, "violations": None}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_PATH_EVENTS = {  # event -> indexes of its path arguments that get changed
    "os.mkdir": (0,), "os.remove": (0,), "os.rmdir": (0,), "os.chmod": (0,), "os.chown": (0,),
    "os.truncate": (0,), "os.utime": (0,), "os.chflags": (0,), "os.lchflags": (0,), "os.lchmod": (0,),
    "os.rename": (0, 1), "os.replace": (0, 1), "os.symlink": (1,), "os.link": (1,),
    "os.setxattr": (0,), "os.removexattr": (0,),
    "shutil.rmtree": (0,), "shutil.copyfile": (1,), "shutil.copytree": (1,), "shutil.move": (0, 1),
    "shutil.copymode": (1,), "shutil.copystat": (1,), "shutil.chown": (0,),
}
_SPAWN_EVENTS = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                 "os.forkpty", "pty.spawn", "os.startfile"}
_LOOPBACK = {"127.0.0.1", "::1", "localhost", None, ""}


def _outside(path) -> bool:
    if isinstance(path, int) or path is None:
        return False
    try:
        text = os.fsdecode(path)
    except (TypeError, ValueError):
        return True
    full = os.path.realpath(os.path.join(os.getcwd(), text)) if "\x00" not in text else text
    root = _WATCH["root"]
    return not (full == root or full.startswith(root + os.sep) or full == os.devnull)


def _runnable(program) -> bool:
    text = os.fsdecode(program)
    if os.sep in text:
        return os.path.exists(text)
    return any(os.path.exists(os.path.join(d, text)) for d in os.environ.get("PATH", "").split(os.pathsep) if d)


def _audit(event: str, args: tuple) -> None:
    violations = _WATCH["violations"]
    if violations is None:
        return
    if event == "open":
        path, mode, flags = args
        writes = any(c in mode for c in "wax+") if isinstance(mode, str) else bool((flags or 0) & _WRITE_FLAGS)
        if writes and _outside(path):
            violations.append(f"open for writing {path!r} (mode {mode!r})")
    elif event in _PATH_EVENTS:
        for index in _PATH_EVENTS[event]:
            if index < len(args) and _outside(args[index]):
                violations.append(f"{event} {args!r}")
    elif event in _SPAWN_EVENTS:
        # Trying a tool that is not there fails at exec (that is how urumi finds it missing);
        # anything that exists would really run.
        program = args[0] if args else None
        if event != "subprocess.Popen" or program is None or _runnable(program):
            violations.append(f"{event} {args!r}")
    elif event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
        address = args[1] if len(args) > 1 else None
        host = address[0] if isinstance(address, tuple) else address
        if host not in _LOOPBACK:
            violations.append(f"{event} {address!r}")
    elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
                   "socket.gethostbyaddr"):
        host = args[0] if args else None
        host = host.decode() if isinstance(host, bytes) else host
        if host not in _LOOPBACK:
            violations.append(f"{event} {host!r}")


_HOOKED = False


def _install_hook() -> None:
    global _HOOKED
    if not _HOOKED:  # audit hooks cannot be removed: one for the process, idle outside a run
        sys.addaudithook(_audit)
        _HOOKED = True


# --- the environment ------------------------------------------------------------------------

class Env:
    def __init__(self, root: Path, port: int):
        self.root = root
        self.home = root / "urumi-home"
        self.kubeconfig = root / "kubeconfig"
        self.bin = root / "bin"
        self.port = port
        self.paths = {DIR: root / "a-directory", EMPTY: root / "empty", NON_UTF8: root / "latin1.yaml",
                      BINARY: root / "binary", UNREADABLE: root / "mode-000", NOT_YAML: root / "not-yaml"}

    def snapshot(self) -> dict[str, object]:
        """The registry's bytes, and every entry under the root (lock files aside) with its mode,
        inode and, for files, size and modification time: a write, a rename over a file, a new
        or deleted entry and a chmod all show."""
        state: dict[str, object] = {}
        pending = [str(self.root)]
        while pending:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    if entry.name.endswith(".lock") or entry.path == str(self.home / "locks"):
                        continue
                    st = entry.stat(follow_symlinks=False)
                    if entry.is_dir(follow_symlinks=False):  # its mtime moves with a lock file made in it
                        state[entry.path] = (st.st_mode, st.st_ino)
                        pending.append(entry.path)
                    else:
                        state[entry.path] = (st.st_mode, st.st_size, st.st_ino, st.st_mtime_ns)
        registry = self.home / "registry.json"
        state["registry bytes"] = registry.read_bytes() if registry.exists() else None
        return state


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from urumi_cli.adapters.registry import Registry
    from urumi_cli.models import Store

    root = Path(os.path.realpath(tmp_path_factory.mktemp("fuzz")))
    dead = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    dead.bind(("127.0.0.1", 0))  # bound, never listening: connecting is refused, nobody else gets it
    e = Env(root, dead.getsockname()[1])
    for made in (e.bin, e.home, root / "tmp", root / "xdg"):
        made.mkdir()
    e.kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: kind-urumi\n  cluster:\n    server: https://127.0.0.1:{e.port}\n"
        "    insecure-skip-tls-verify: true\n"
        "users:\n- name: kind-urumi\n  user:\n    token: fuzz\n"
        "contexts:\n- name: kind-urumi\n  context:\n    cluster: kind-urumi\n    user: kind-urumi\n"
        "current-context: kind-urumi\n")
    e.paths[DIR].mkdir()
    e.paths[EMPTY].write_bytes(b"")
    e.paths[NON_UTF8].write_bytes("name: caf\xe9\n".encode("latin-1"))
    e.paths[BINARY].write_bytes(bytes(range(256)) * 4)
    e.paths[UNREADABLE].write_text("apiVersion: v1\n")
    e.paths[UNREADABLE].chmod(0)  # root reads it anyway; anyone else gets EACCES
    e.paths[NOT_YAML].write_text("a: [b\n\t: {c\n")
    Registry(e.home / "registry.json").put_store(Store(
        name=SEEDED_STORE, type="woocommerce", cluster="kind-urumi", namespace=f"store-{SEEDED_STORE}",
        release=SEEDED_STORE, url=f"http://{SEEDED_STORE}.localhost/", status="ready"))
    _write_valid_archive(root / "valid.urumi.tar")  # what `store restore --from` reads (relative to the cwd)
    e.before = e.snapshot()
    yield e
    dead.close()


def _write_valid_archive(path: Path) -> None:
    import hashlib

    from urumi_cli.actions import archive

    sql = path.parent / "database.sql"
    sql.write_bytes(b"SELECT 1;\n")
    member = {"size": 10, "sha256": hashlib.sha256(b"SELECT 1;\n").hexdigest()}
    archive.write_archive(path, {"format": archive.FORMAT, "version": archive.VERSION, "store": "old",
                                 "type": "woocommerce", "includes_secrets": False,
                                 "members": {archive.DATABASE: member}}, {archive.DATABASE: sql}, private=False)
    sql.unlink()


@pytest.fixture
def hermetic(env, monkeypatch):
    for var in list(os.environ):
        if var.lower().endswith("_proxy") or var.startswith(("KUBE", "HELM_", "DOCKER_", "XDG_", "URUMI_")):
            monkeypatch.delenv(var)
    monkeypatch.setenv("URUMI_HOME", str(env.home))
    monkeypatch.setenv("URUMI_CHARTS_DIR", str(env.root / "no-charts"))
    monkeypatch.setenv("KUBECONFIG", str(env.kubeconfig))
    monkeypatch.setenv("PATH", str(env.bin))
    monkeypatch.setenv("HOME", str(env.root))
    for xdg in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR"):
        monkeypatch.setenv(xdg, str(env.root / "xdg"))
    monkeypatch.setenv("TMPDIR", str(env.root / "tmp"))
    monkeypatch.setattr(tempfile, "tempdir", str(env.root / "tmp"))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # a first import must not write a .pyc
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    monkeypatch.chdir(env.root)
    # run() builds the click tree argv needs on every call (fast for one call of the real CLI,
    # most of a fuzz case's time): build each one once. run's own logic is unchanged.
    monkeypatch.setattr(app_module, "command", _cached_command)
    _install_hook()
    return env


_BUILT: dict = {}
_build_command = app_module.command


def _cached_command(only=None, subcommand=None):
    if (only, subcommand) not in _BUILT:
        _BUILT[(only, subcommand)] = _build_command(only, subcommand)
    return _BUILT[(only, subcommand)]


class Result:
    def __init__(self, code, stdout: str, stderr: str, crash: str | None, violations: list[str]):
        self.code, self.stdout, self.stderr, self.crash, self.violations = code, stdout, stderr, crash, violations

    def __repr__(self) -> str:
        return (f"exit {self.code}\n--- stdout\n{self.stdout[:3000]}\n--- stderr\n{self.stderr[:3000]}"
                f"\n--- crash\n{self.crash}\n--- violations\n{self.violations}")


def invoke(env: Env, argv: list[str]) -> Result:
    out, err = io.StringIO(), io.StringIO()
    crash = None
    code = None
    _WATCH["root"], _WATCH["violations"] = str(env.root), []
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run(argv)
    except BaseException:  # noqa: BLE001 - anything escaping run() is the finding
        crash = traceback.format_exc()
    finally:
        violations, _WATCH["violations"] = _WATCH["violations"], None
    return Result(code, out.getvalue(), err.getvalue(), crash, violations)


_PROGRESS = re.compile(r"^\[ *\d+\.\ds\] ")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def check(env: Env, argv: list[str], result: Result) -> None:
    shown = f"argv={argv!r}\n{result!r}"
    assert result.crash is None, shown
    assert "Traceback" not in result.stdout and "Traceback" not in result.stderr, shown
    assert result.code in DOCUMENTED_EXIT_CODES, shown
    assert result.violations == [], shown
    assert not _CONTROL.search(result.stderr), f"a control character on stderr\n{shown}"
    lines = result.stderr.splitlines()
    errors_said = [i for i, line in enumerate(lines) if line.startswith("error:")]
    if result.code == 0:
        assert errors_said == [], shown
    elif result.stderr or not result.stdout:  # exit 1 with only a report (doctor, status) says no error line
        assert len(errors_said) == 1, f"not exactly one error line\n{shown}"
        at = errors_said[0]
        assert all(_PROGRESS.match(line) for line in lines[:at]), f"stray lines before the error\n{shown}"
        assert all(line.startswith("  ") for line in lines[at + 1:]), f"stray lines after the error\n{shown}"
        assert "error: unexpected " not in lines[at], f"urumi's catch-all for its own bugs\n{shown}"
    else:
        assert result.code == errors.EXIT_FAILED, shown
    assert env.snapshot() == env.before, f"files changed\n{shown}"


def _argv(env: Env, head, words, tail) -> list[str]:
    def resolve(word: str) -> str:
        if word in env.paths:
            return str(env.paths[word])
        opt, sep, value = word.partition("=")
        return f"{opt}={env.paths[value]}" if sep and value in env.paths else word

    return head + [resolve(w) for w in words] + tail


def _fails(env: Env, argv: list[str]) -> str | None:
    try:
        check(env, argv, invoke(env, argv))
    except AssertionError as err:
        return str(err)
    return None


@pytest.mark.parametrize("cases", _by_parameter())
def test_hostile_values(hermetic, cases):
    failures = []
    for head, words, tail in cases:
        argv = _argv(hermetic, head, words, tail)
        failure = _fails(hermetic, argv)
        if failure:
            failures.append((argv, failure))
    assert not failures, (f"{len(failures)} of {len(cases)} cases failed:\n"
                          + "\n".join(repr(argv)[:200] for argv, _ in failures)
                          + "\n\nthe first ones in full:\n\n" + "\n\n".join(f for _, f in failures[:3]))


@pytest.mark.parametrize("cases", _known_bug_cases())
def test_known_bug(hermetic, cases):
    """Expected to fail (xfail) while every case of the bug still fails; a case that passes is a
    plain failure saying which, so KNOWN_BUGS shrinks with each fix."""
    results = [(argv, _fails(hermetic, argv)) for argv in (_argv(hermetic, *case) for case in cases)]
    fixed = [argv for argv, failure in results if failure is None]
    assert not fixed, "these cases pass now: narrow or drop their KNOWN_BUGS entry\n" + "\n".join(map(repr, fixed))
    raise KnownBugStillThere(f"{len(results)} cases, e.g.\n{results[0][1][:3000]}")


def test_store_list_shows_a_markup_like_context_verbatim(hermetic):
    """What the hostile values cannot see: exit 0, but the note lost the user's text."""
    argv = ["store", "list", "--context", "[red]x[/red]"]
    result = invoke(hermetic, argv)
    check(hermetic, argv, result)
    assert "[red]x[/red]" in result.stderr, result


def test_the_checks_catch_what_they_should(env, tmp_path):
    """The harness itself: check() and the audit hook reject what they are meant to reject."""
    def verdict(code, stdout="", stderr="", crash=None, violations=()):
        try:
            check(env, ["x"], Result(code, stdout, stderr, crash, list(violations)))
        except AssertionError:
            return "rejected"
        return "accepted"

    assert verdict(2, stderr="error: bad (hint: h)\n") == "accepted"
    assert verdict(1, stderr="[   0.0s] ... step\nerror: failed\n  detail\n") == "accepted"
    assert verdict(1, stdout="FAIL docker\n") == "accepted"  # doctor's report
    assert verdict(0, stdout="{}\n") == "accepted"
    for bad in [dict(code=2, stderr="error: a\nb\n"), dict(code=2, stderr="error: a\nerror: b\n"),
                dict(code=2, stderr="oops\n"), dict(code=2, stderr="error: a\rb\n"),
                dict(code=2, stderr="error: \x1b[31mx\n"), dict(code=9, stderr="error: x\n"),
                dict(code=1, stderr="error: unexpected KeyError: 'x'\n"), dict(code=None, crash="Traceback"),
                dict(code=0, stdout="Traceback (most recent call last):"), dict(code=0, stderr="error: x\n"),
                dict(code=2, stderr="", stdout="usage"), dict(code=0, violations=["open for writing"])]:
        assert verdict(**bad) == "rejected", bad

    _install_hook()
    _WATCH["root"], _WATCH["violations"] = str(env.root), []
    try:
        (env.root / "tmp" / "inside").write_text("x")
        (tmp_path / "outside").write_text("x")
        os.rename(env.root / "tmp" / "inside", env.root / "tmp" / "inside2")
        _audit("socket.connect", (None, ("127.0.0.1", 80)))
        _audit("socket.connect", (None, ("10.0.0.1", 443)))
        _audit("socket.getaddrinfo", ("example.com", 443, 0, 0, 0))
        _audit("subprocess.Popen", ("kind", ["kind"], None, None))  # not on PATH: fails at exec
        _audit("subprocess.Popen", ("/bin/sh", ["/bin/sh", "-c", "id"], None, None))
    finally:
        seen, _WATCH["violations"] = _WATCH["violations"], None
        (env.root / "tmp" / "inside2").unlink()
    other = Env(tmp_path / "other", 0)
    other.home.mkdir(parents=True)
    (other.home / "registry.json").write_text("{}")
    before = other.snapshot()
    (other.home / "registry.json.lock").write_text("")  # lock files may come and go
    (other.home / "locks").mkdir()
    assert other.snapshot() == before
    (other.home / "registry.json").write_text("{} ")
    assert other.snapshot() != before
    (other.home / "registry.json").write_text("{}")
    assert other.snapshot()["registry bytes"] == b"{}"
    (other.root / "new").write_text("")
    assert set(other.snapshot()) - set(before) == {str(other.root / "new")}
    assert [v.split(" ")[0] for v in seen] == ["open", "socket.connect", "socket.getaddrinfo", "subprocess.Popen"], seen
    assert str(tmp_path / "outside") in seen[0] and "10.0.0.1" in seen[1] and "/bin/sh" in seen[3]


def test_every_command_has_a_base_argv():
    """A new command needs valid values for its other options before its options can be fuzzed."""
    missing = [path for path, cmd, is_group in _tree()
               if (path not in GROUP_TAIL if is_group else path not in BASE) and (cmd.params or not is_group)
               and path not in LONG_RUNNING]
    assert missing == [], f"add these to BASE (or GROUP_TAIL) in {__file__}: {missing}"


def test_every_option_gets_30_hostile_values():
    counts: dict[tuple, int] = {}
    for path, param, *_ in _cases():
        counts[(path, param.name)] = counts.get((path, param.name), 0) + 1
    every = {(path, param.name) for path, cmd, _ in _tree() for param in cmd.params
             if path not in LONG_RUNNING and (path, param.name) not in WRITES_BY_DESIGN}
    assert set(counts) == every
    assert min(counts.values()) >= 30


def test_the_base_calls_behave(hermetic):
    """The fixed part of every case is valid: each command gets as far as the dead cluster or the
    missing tools, so a failure in a fuzz case is the fuzzed value's doing."""
    for path, cmd, is_group in _tree():
        if is_group or path in LONG_RUNNING:
            continue
        head, tail = _base_argv(path, cmd, is_group, None)
        result = invoke(hermetic, head + tail)
        check(hermetic, head + tail, result)
        if path != ("store", "list"):
            assert result.code in (errors.EXIT_FAILED, errors.EXIT_ENVIRONMENT), (path, result)
