"""MkDocs hooks that fill generated parts of the docs, and a command line to render them.

Placeholders, each an HTML comment alone on its line in a page:

* ``<!-- bench: NAME -->`` (or ``<!-- bench: NAME#TABLE -->``): the tables of
  ``bench/results/NAME.json``, written by the bench scripts (see ``bench/record.py``),
  with the machine and command they came from;
* ``<!-- qcode-cli -->``: ``--help`` of every ``qcode`` command, taken from the Typer app;
* ``<!-- qcode-api -->``: one mkdocstrings block per public ``qcode.*`` name, resolved
  to the module that defines it now (so the page follows modules when they move).

A placeholder that cannot be filled (a missing results file, an unknown table) raises,
so ``mkdocs build --strict`` fails instead of publishing a page with a hole.

Usage: python scripts/docs_hooks.py bench NAME   # print the rendered tables
       python scripts/docs_hooks.py check        # fail if any results file is malformed
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

_BENCH = re.compile(r"^<!-- bench: ([\w-]+)(?:#([\w-]+))? -->$", re.M)
_CLI = re.compile(r"^<!-- qcode-cli -->$", re.M)
_API = re.compile(r"^<!-- qcode-api -->$", re.M)


class DocsError(Exception):
    pass


def load_results(name: str) -> dict[str, Any]:
    path = RESULTS / f"{name}.json"
    if not path.is_file():
        raise DocsError(f"{path.relative_to(ROOT)}: no such results file (run the bench script that writes it)")
    data = json.loads(path.read_text(encoding="utf-8"))
    for key in ("script", "machine", "tables"):
        if key not in data:
            raise DocsError(f"{path.relative_to(ROOT)}: missing field {key!r}")
    for i, table in enumerate(data["tables"]):
        width = len(table["columns"])
        for j, row in enumerate(table["rows"]):
            if len(row) != width:
                raise DocsError(f"{path.relative_to(ROOT)}: table {table.get('id', i)!r} row {j + 1} has "
                                f"{len(row)} cells, the header has {width}")
    return data


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def render_table(table: dict[str, Any]) -> str:
    columns = table["columns"]
    align = table.get("align", "l" + "r" * (len(columns) - 1))
    rule = {"l": "---", "r": "---:", "c": ":---:"}
    lines = []
    if table.get("title"):
        lines += [f"**{table['title']}**", ""]
    lines.append("| " + " | ".join(columns) + " |")
    lines.append("|" + "|".join(rule[a] for a in align) + "|")
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in table["rows"]]
    if table.get("notes"):
        lines += ["", str(table["notes"])]
    return "\n".join(lines)


def render_bench(name: str, table_id: str | None = None) -> str:
    data = load_results(name)
    tables = data["tables"]
    if table_id is not None:
        tables = [t for t in tables if t.get("id") == table_id]
        if not tables:
            raise DocsError(f"bench/results/{name}.json has no table {table_id!r}")
    parts = [render_table(t) for t in tables]
    source = f"*Measured by `{data.get('command', 'python ' + data['script'])}` on {data['machine']}"
    if data.get("measured"):
        source += f", {data['measured']}"
    parts.append(source + ".*")
    return "\n\n".join(parts)


def _commands() -> list[tuple[str, str]]:
    import typer

    from qcode.cli import app

    found: list[tuple[str, str]] = []

    def walk(command: Any, path: list[str]) -> None:
        ctx = type(command).context_class(command, info_name=" ".join(path), terminal_width=100,
                                          max_content_width=100)
        found.append((" ".join(path), command.get_help(ctx)))
        if hasattr(command, "list_commands"):
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name), [*path, name])

    walk(typer.main.get_command(app), ["qcode"])
    return found


def command_names() -> list[str]:
    return [name for name, _ in _commands()]


def render_cli() -> str:
    parts = []
    for name, text in _commands():
        level = "###" if name.count(" ") == 1 else "####" if name.count(" ") else "##"
        parts.append(f"{level} `{name}`\n\n```text\n{text.rstrip()}\n```")
    return "\n\n".join(parts)


def public_names() -> list[tuple[str, str]]:
    """(name, the dotted path of the object it resolves to) for every public ``qcode.*`` name."""
    import qcode

    out = []
    for name in qcode.__all__:
        if name.startswith("_"):
            continue
        obj = getattr(qcode, name)
        if isinstance(obj, type(qcode)):
            out.append((name, obj.__name__))
        else:
            out.append((name, f"{obj.__module__}.{getattr(obj, '__qualname__', name)}"))
    return out


def render_api() -> str:
    return "\n\n".join(f"::: {path}" for _, path in public_names())


def fill(markdown: str) -> str:
    markdown = _BENCH.sub(lambda m: render_bench(m.group(1), m.group(2)), markdown)
    if _CLI.search(markdown):
        markdown = _CLI.sub(lambda _: render_cli(), markdown)
    if _API.search(markdown):
        markdown = _API.sub(lambda _: render_api(), markdown)
    return markdown


def on_page_markdown(markdown: str, **_: Any) -> str:
    return fill(markdown)


def main(argv: list[str]) -> int:
    if argv[:1] == ["bench"] and len(argv) == 2:
        print(render_bench(argv[1]))
        return 0
    if argv == ["check"]:
        for path in sorted(RESULTS.glob("*.json")):
            load_results(path.stem)
        print(f"{len(list(RESULTS.glob('*.json')))} results files ok")
        return 0
    print(__doc__.split("Usage:", 1)[1].strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
