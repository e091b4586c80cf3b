"""Every code block of the docs and the README runs, in order, page by page; the site builds strictly.

A page's ```python blocks share one namespace and its ```bash blocks run in the same folder, in the
order they appear, in a fresh temporary folder where `corpora/` is the repository's. Blocks that
need a file create it; `.venv` is the running interpreter's virtual environment, so
`source .venv/bin/activate` works there too. ```text blocks show output and are not run. The only blocks left out are the
install commands: `scripts/install.sh`, which CI itself runs, and blocks whose every command makes an
environment or installs packages (`python3 -m venv`, `pip install`/`uninstall`, `uv venv`/`uv pip`),
which need the network and would change the environment the tests run in; ```powershell blocks are
Windows commands, which Linux cannot run. Both are allowed only on the install pages (`INSTALL_PAGES`),
so that no other page can leave a block out. Pages that load the real model are marked slow.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import ROOT

DOCS = ROOT / "docs"
README = ROOT / "README.md"
PAGES = [README, *sorted(DOCS.rglob("*.md"))]
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
RUN = {"python", "bash"}
SHOWN = {"text", "pycon", "yaml"}
OTHER_OS = {"powershell"}
INSTALL_PAGES = {ROOT / "README.md", DOCS / "getting-started.md"}
INSTALL_COMMAND = re.compile(r"(?:python3? -m venv|(?:python3? -m )?pip (?:install|uninstall)|uv (?:venv|pip)"
                             r"|source \.venv/bin/activate)\b")
USES_MODEL = re.compile(r"Suggester\(|load_embedder\(|qcode suggest|suggest_corpus\(|learn_from\(|qcode (?:quotes|report)\b")


def blocks(page: Path) -> list[tuple[str, str, int]]:
    text = page.read_text(encoding="utf-8")
    return [(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(text)]


def installs(code: str) -> bool:
    """Whether a block only installs: it runs scripts/install.sh, or each of its commands makes an environment
    or installs packages."""
    if "scripts/install.sh" in code:
        return True
    commands = [c.strip() for line in code.splitlines() for c in re.sub(r"#.*", "", line).split("&&") if c.strip()]
    return bool(commands) and all(INSTALL_COMMAND.match(c) for c in commands)


def runnable(page: Path) -> list[tuple[str, str, int]]:
    return [(lang, code, line) for lang, code, line in blocks(page) if lang in RUN and not installs(code)]


def _param(page: Path):
    marks = [pytest.mark.slow] if any(USES_MODEL.search(code) for _, code, _ in runnable(page)) else []
    return pytest.param(page, marks=marks, id=str(page.relative_to(ROOT)))


DRIVER = textwrap.dedent("""
    import json, subprocess, sys
    blocks = json.load(open(sys.argv[1], encoding="utf-8"))
    namespace = {"__name__": "__main__"}
    for lang, code, line in blocks:
        print(f"--- {lang} block at line {line}", flush=True)
        try:
            if lang == "python":
                exec(compile(code, f"{sys.argv[2]}:{line}", "exec"), namespace)
            else:
                subprocess.run(["bash", "-eu", "-c", code], check=True, stdin=subprocess.DEVNULL)
        except BaseException as exc:
            sys.stdout.flush()
            print(f"FAILED: {lang} block at {sys.argv[2]}:{line}: {exc!r}", file=sys.stderr)
            raise
""")


def run_page(page: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    (folder / "corpora").symlink_to(ROOT / "corpora", target_is_directory=True)
    if sys.prefix != sys.base_prefix:
        (folder / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    (folder / "blocks.json").write_text(json.dumps(runnable(page)), encoding="utf-8")
    (folder / "driver.py").write_text(DRIVER, encoding="utf-8")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               PYTHONPATH=str(ROOT), COLUMNS="100")
    return subprocess.run([sys.executable, "driver.py", "blocks.json", str(page.relative_to(ROOT))],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
@pytest.mark.parametrize("page", [_param(p) for p in PAGES if runnable(p)])
def test_the_code_blocks_of_a_page_run_in_order(page, tmp_path, request):
    result = request.getfixturevalue("readme_run")[1] if page == README else run_page(page, tmp_path)
    assert result.returncode == 0, f"{page.name}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


def test_every_code_block_is_run_or_is_output():
    for page in PAGES:
        for lang, code, line in blocks(page):
            where = f"{page.relative_to(ROOT)}:{line}"
            assert lang, f"{where}: a code block without a language"
            assert lang in RUN | SHOWN | OTHER_OS, \
                f"{where}: ```{lang} is neither run (python, bash) nor output (text) nor Windows (powershell)"
            if lang in OTHER_OS or (lang in RUN and installs(code)):
                assert page in INSTALL_PAGES, f"{where}: a block that is not run, outside the install pages"
            if lang == "text":
                assert not re.search(r"^\$ ", code, re.M), f"{where}: a command in a text block (make it ```bash)"


def test_only_install_blocks_are_left_out():
    assert installs("bash scripts/install.sh && .venv/bin/qcode suggest corpora/demo")
    assert installs("python3 -m venv .venv && source .venv/bin/activate\npip install -e .   # or .[notebook]")
    assert installs("uv venv && uv pip install --torch-backend cpu -e .")
    assert not installs("pip install -e . && qcode suggest corpora/demo")
    assert not installs("qcode init my-study  # then pip install it")
    assert not installs("# pip install\n")
    left_out = {(page.name, lang) for page in PAGES for lang, code, _ in blocks(page)
                if lang in OTHER_OS or (lang in RUN and installs(code))}
    assert ("getting-started.md", "powershell") in left_out
    assert {name for name, _ in left_out} <= {p.name for p in INSTALL_PAGES}


def test_no_page_is_left_with_a_todo():
    left = [f"{page.relative_to(ROOT)}:{n}" for page in PAGES
            for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1) if "TODO" in line]
    assert left == [], "write the content instead of a TODO"


def test_the_page_runner_reports_a_failing_block(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# t\n\n```python\nx = 1\n```\n\n```bash\ntest \"$(cat missing.txt)\" = 1\n```\n",
                    encoding="utf-8")
    original = runnable(page)
    assert [lang for lang, _, _ in original] == ["python", "bash"]
    work = tmp_path / "work"
    work.mkdir()
    (work / "corpora").symlink_to(ROOT / "corpora", target_is_directory=True)
    (work / "blocks.json").write_text(json.dumps(original), encoding="utf-8")
    (work / "driver.py").write_text(DRIVER, encoding="utf-8")
    result = subprocess.run([sys.executable, "driver.py", "blocks.json", "page.md"], cwd=work,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "bash block at page.md:7" in result.stderr


def _hooks():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import docs_hooks
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    return docs_hooks


def test_every_command_is_in_the_cli_reference_table():
    table = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `(qcode [a-z]+(?: [a-z]+)?)", table, re.M))
    commands = {name for name in _hooks().command_names() if name.count(" ") >= 1}
    leaves = {c for c in commands if not any(other.startswith(c + " ") for other in commands)}
    assert leaves - listed == set(), "commands missing from docs/reference/cli.md"
    assert listed - commands == set(), "the table lists commands that do not exist"


def test_every_public_name_resolves_for_the_api_page():
    import qcode

    names = dict(_hooks().public_names())
    assert set(names) == {n for n in qcode.__all__ if not n.startswith("_")}
    assert all(path.startswith("qcode") for path in names.values())


def test_the_benchmarks_page_renders_every_results_file():
    hooks = _hooks()
    page = (DOCS / "benchmarks.md").read_text(encoding="utf-8")
    used = set(re.findall(r"<!-- bench: ([\w-]+)", page))
    files = {p.stem for p in (ROOT / "bench" / "results").glob("*.json")}
    assert used == files
    rendered = hooks.fill(page)
    assert "<!-- bench:" not in rendered
    assert "| 1,000,000 units, 5 values | nominal | 1.00 s | 0.25 s | 4.0× |" in rendered
    with pytest.raises(hooks.DocsError, match="no such results file"):
        hooks.fill("<!-- bench: no-such-bench -->")


def test_a_malformed_results_file_is_refused(tmp_path, monkeypatch):
    hooks = _hooks()
    monkeypatch.setattr(hooks, "RESULTS", tmp_path)
    monkeypatch.setattr(hooks, "ROOT", tmp_path)
    (tmp_path / "x.json").write_text(json.dumps({"script": "s", "machine": "m", "tables": [
        {"id": "t", "columns": ["a", "b"], "rows": [[1, 2], [3]]}]}), encoding="utf-8")
    with pytest.raises(hooks.DocsError, match="row 2 has 1 cells"):
        hooks.render_bench("x")


def test_bench_record_writes_what_the_page_reads(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from record import Results
    finally:
        sys.path.remove(str(ROOT / "bench"))
    results = Results("demo", script="bench/bench_demo.py", machine="test machine")
    results.table("t", "A table", ["case", "seconds"], [["one", 0.5], ["two", 1.25]], align="lr")
    results.save(tmp_path)
    hooks = _hooks()
    monkeypatch.setattr(hooks, "RESULTS", tmp_path)
    text = hooks.render_bench("demo")
    assert "| one | 0.5 |" in text and "test machine" in text and "python bench/bench_demo.py" in text


@pytest.mark.slow
def test_the_site_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs", reason="the docs extra is not installed (pip install -e '.[docs]')")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                            cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    api = (tmp_path / "site" / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    assert "load_codebook" in api and "Suggester" in api
    cli = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    assert "qcode suggest" in cli and "--codebook" in cli
