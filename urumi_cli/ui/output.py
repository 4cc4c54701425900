"""-o table|json|yaml writers. JSON is flat and stable (documented in the README) for scripts."""

from __future__ import annotations

import json
from typing import Iterable, Sequence

from urumi_cli.errors import UsageError

FORMATS = ("table", "json", "yaml")


def check_format(value: str) -> str:
    if value not in FORMATS:
        raise UsageError(f"unknown output format {value!r}", f"choose one of: {', '.join(FORMATS)}")
    return value


def write_data(consoles, data, fmt: str) -> None:
    """Machine formats go straight to stdout (no Rich markup, no wrapping)."""
    out = consoles.out.file
    if fmt == "json":
        out.write(json.dumps(data, indent=2, sort_keys=False) + "\n")
    elif fmt == "yaml":
        import yaml

        out.write(yaml.safe_dump(data, sort_keys=False, default_flow_style=False))
    out.flush()


STATUS_STYLE = {"ready": "green", "provisioning": "yellow", "failed": "red", "deleting": "magenta",
                "ok": "green", "FAIL": "red"}


def write_table(consoles, columns: Sequence[str], rows: Iterable[Sequence[str]], *, status_col: int | None = None,
                empty: str = "") -> None:
    rows = list(rows)
    if not rows and empty:
        consoles.err.print(empty, highlight=False, markup=False)  # it can hold a context name: data
        return
    consoles.out.print(build_table(columns, rows, status_col=status_col))


def build_table(columns: Sequence[str], rows: Iterable[Sequence[str]], *, status_col: int | None = None,
                caption: str | None = None):
    from rich.table import Table, box
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold", caption=caption)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        # Cells are data (names, messages from the cluster), never markup: `[/x]` must not crash
        # the table and `[red]` must not vanish.
        cells = [Text(str(c)) if c is not None else Text("") for c in row]
        if status_col is not None:
            cells[status_col].stylize(STATUS_STYLE.get(cells[status_col].plain, ""))
        table.add_row(*cells)
    return table


def store_rows(stores: list[dict]) -> list[list[str]]:
    return [[s["name"], s["type"], s["status"], s["url"], s["namespace"], _age(s.get("created_at")),
             s.get("message") or ""] for s in stores]


STORE_COLUMNS = ("NAME", "TYPE", "STATUS", "URL", "NAMESPACE", "AGE", "MESSAGE")


def _age(created_at: str | None) -> str:
    if not created_at:
        return ""
    from datetime import datetime, timezone

    try:
        then = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    except ValueError:
        return ""
    seconds = int((datetime.now(timezone.utc) - then).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def write_stores(consoles, stores: list[dict], fmt: str, *, empty: str = "") -> None:
    if fmt == "table":
        write_table(consoles, STORE_COLUMNS, store_rows(stores), status_col=2, empty=empty)
    else:
        write_data(consoles, stores, fmt)


def write_store(consoles, store: dict, fmt: str) -> None:
    if fmt == "table":
        write_table(consoles, STORE_COLUMNS, store_rows([store]), status_col=2)
    else:
        write_data(consoles, store, fmt)


def write_description(consoles, info: dict, fmt: str) -> None:
    write_store(consoles, info, fmt)
    if fmt != "table":
        return
    from rich.text import Text

    out = consoles.out
    out.print("\n[bold]Components[/]")
    for comp in info["components"] or [{"name": "-", "ready": False, "detail": "no workloads found"}]:
        line = Text(f"  {comp['name']:<9} ")
        line.append("ready" if comp["ready"] else "not ready", style="green" if comp["ready"] else "yellow")
        line.append(f"  {comp['detail']}")
        out.print(line, highlight=False)
    out.print("\n[bold]Diagnostics[/]")
    for line in info["diagnostics"] or ["no failing pods, no warning events"]:
        out.print(f"  {line}", highlight=False, markup=False)


def live_stores(consoles, updates, caption) -> None:
    """A table redrawn for each list of stores `updates` yields, until it ends or Ctrl-C."""
    import contextlib

    from rich.live import Live

    with Live(console=consoles.out, auto_refresh=False) as live, contextlib.suppress(KeyboardInterrupt):
        for stores in updates:
            live.update(build_table(STORE_COLUMNS, store_rows([s.to_json() for s in stores]), status_col=2,
                                    caption=caption()), refresh=True)


def write_history(consoles, history: dict, fmt: str) -> None:
    """`store history`: helm's revisions, then urumi's events (both oldest first)."""
    if fmt != "table":
        write_data(consoles, history, fmt)
        return
    consoles.out.print("[bold]Revisions[/] (helm)")
    write_table(consoles, ("REVISION", "STATUS", "CHART", "APP VERSION", "UPDATED", "DESCRIPTION"),
                [[r["revision"], r["status"], r["chart"], r["app_version"], r["updated"], r["description"]]
                 for r in history["revisions"]], empty="  no revisions (no helm release)")
    consoles.out.print("\n[bold]Events[/] (urumi)")
    write_table(consoles, ("TIME", "ACTION", "RESULT", "REVISION", "MESSAGE"),
                [[e["time"], e["action"], e["result"], "" if e["revision"] is None else e["revision"], e["message"]]
                 for e in history["events"]], empty="  no events recorded")


def write_changes(consoles, changes: list[dict]) -> None:
    """An upgrade's values diff (--dry-run)."""
    import json as _json

    def shown(value) -> str:
        return "(unset)" if value is None else _json.dumps(value) if not isinstance(value, str) else value

    write_table(consoles, ("VALUE", "DEPLOYED", "PROPOSED"),
                [[c["key"], shown(c["current"]), shown(c["proposed"])] for c in changes],
                empty="No values would change.")


def write_log_lines(consoles, lines, fmt: str, *, prefix: bool) -> tuple[int, list]:
    """Log lines as they come: `[pod/container] text` (the text is data, never markup), or one JSON
    object per line for -o json; a container whose log cannot be read is a warning on stderr.
    (lines written, the unreadable ones)."""
    out = consoles.out.file
    count, unreadable = 0, []
    for line in lines:
        if line.unreadable:
            unreadable.append(line)
            consoles.warn(f"no log of {line.pod}/{line.container}: {line.text}")
            continue
        count += 1
        if fmt == "json":
            out.write(json.dumps(line.to_json()) + "\n")
        else:
            out.write((f"[{line.pod}/{line.container}] " if prefix else "") + line.text + "\n")
        out.flush()
    return count, unreadable
