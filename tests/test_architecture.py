"""Rules of the layout that import-linter cannot see: the CLI uses only qcode's public names."""

from __future__ import annotations

import ast
from pathlib import Path

import qcode

PACKAGE = Path(qcode.__file__).parent


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses(source: str, filename: str = "<source>") -> list[str]:
    """``file:line: what`` for each private qcode name the code imports or any private attribute it reads.

    Private attributes of ``self``/``cls`` (a class's own state) and names the file itself
    defines (its own helpers) are allowed; everything else a command reaches is public API.
    """
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            inside = node.level > 0 or module == "qcode" or module.startswith("qcode.")
            if not inside:
                continue
            if any(_private(part) for part in module.split(".")):
                found.append(f"{filename}:{node.lineno}: imports from private module {'.' * node.level}{module}")
            found += [f"{filename}:{node.lineno}: imports private name {alias.name}"
                      for alias in node.names if _private(alias.name)]
        elif isinstance(node, ast.Import):
            found += [f"{filename}:{node.lineno}: imports private module {alias.name}" for alias in node.names
                      if alias.name.startswith("qcode.") and any(_private(p) for p in alias.name.split("."))]
        elif isinstance(node, ast.Attribute) and _private(node.attr):
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                found.append(f"{filename}:{node.lineno}: uses private attribute {ast.unparse(node)}")
    return found


def test_the_checker_finds_each_kind_of_private_use():
    source = ("from ..project.store import _helper\n"
              "from ..interchange._store_bridge import codings\n"
              "import qcode.embed._export\n"
              "from typer import _internal_ok_not_ours\n"
              "proj._known_coder('ann')\n"
              "self._state = 1\n"
              "x.__class__\n")
    found = private_uses(source)
    assert [f.split(": ", 1)[1] for f in found] == [
        "imports private name _helper",
        "imports from private module ..interchange._store_bridge",
        "imports private module qcode.embed._export",
        "uses private attribute proj._known_coder",
    ]


def test_the_cli_uses_no_private_names():
    files = sorted((PACKAGE / "cli").glob("*.py"))
    assert files, f"no CLI modules under {PACKAGE / 'cli'}"
    found = [use for path in files for use in private_uses(path.read_text(encoding="utf-8"), str(path))]
    assert found == []
