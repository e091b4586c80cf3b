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


#: every module but the CLI's: their imports are all visible to the linter and free of circles (issue 18)
CHECKED_FILES = sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] != "cli")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every qcode module ``path`` imports, at any depth (function-level and type-only imports included)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("qcode"):
                found.add(target)
                found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("qcode"))
    return found


def hidden_imports(source: str) -> list[str]:
    """Imports the linter cannot see: a module-level ``__getattr__``, ``importlib.import_module``, ``__import__``."""
    found = []
    tree = ast.parse(source)
    found += [f"line {n.lineno}: module __getattr__" for n in tree.body
              if isinstance(n, ast.FunctionDef) and n.name == "__getattr__"]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = ast.unparse(node.func)
            if func in ("importlib.import_module", "import_module", "__import__"):
                found.append(f"line {node.lineno}: {func}()")
    return found


def test_the_hidden_import_checker_finds_each_kind():
    source = ("import importlib\n"
              "def __getattr__(name):\n"
              "    return importlib.import_module('qcode.project.bridge')\n"
              "def later():\n"
              "    return __import__('qcode.project')\n")
    assert hidden_imports(source) == ["line 2: module __getattr__", "line 3: importlib.import_module()",
                                      "line 5: __import__()"]


def test_no_import_is_hidden_from_the_linter():
    found = [f"{path.relative_to(PACKAGE)}: {hit}" for path in CHECKED_FILES
             for hit in hidden_imports(path.read_text(encoding="utf-8"))]
    assert found == []


def test_no_import_circle_inside_the_checked_trees():
    modules = {_module_name(p): p for p in CHECKED_FILES}
    edges = {name: {t for t in _imports(path) if t in modules and t != name} for name, path in modules.items()}
    for name in modules:  # a package imports its submodules; ignore the package -> child edges of __init__
        if modules[name].name == "__init__.py":
            edges[name] = {t for t in edges[name] if not t.startswith(name + ".")}
    circles = []
    for start in sorted(edges):  # depth-first search for a path back to start
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in sorted(edges[node]):
                if nxt == start:
                    circles.append(" -> ".join([*trail, start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*trail, nxt]))
    assert circles == []


def sizes(source: str) -> tuple[int, dict[str, int]]:
    """A module's line count and the line count of each class it defines (nested ones included)."""
    tree = ast.parse(source)
    classes = {node.name: (node.end_lineno or node.lineno) - node.lineno + 1
               for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
    return len(source.splitlines()), classes


def test_the_size_checker_counts_modules_and_classes():
    lines, classes = sizes("import os\n\nclass A:\n    x = 1\n\n    def f(self):\n        return 2\n")
    assert lines == 7 and classes == {"A": 5}


def test_no_module_over_700_lines_and_no_class_over_400():
    """Issue 18's bars: a module that outgrows 700 lines, or a class 400, is split along its seams."""
    too_big = []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines, classes = sizes(path.read_text(encoding="utf-8"))
        if lines > 700:
            too_big.append(f"{path.relative_to(PACKAGE)}: {lines} lines")
        too_big += [f"{path.relative_to(PACKAGE)}: class {name} {n} lines" for name, n in classes.items() if n > 400]
    assert too_big == []
