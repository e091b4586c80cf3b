"""A broken YAML codebook is refused in one line that names the line and what is likely wrong, in plain words
instead of the parser's ("expected <block end>, but found '<block sequence start>'") (issue 11, defect 10)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from qcode.codebook.io import read_codebook_file
from qcode.errors import CodebookError
from qcode.safeyaml import describe_yaml_error

HEAD = "name: study\ncodes:\n  - id: funding\n    name: Funding\n"

CASES = {
    "item-out-of-line": (HEAD + "   - id: staffing\n     name: Staffing\n",
                         5, "indented 3 spaces, which lines up with nothing above"),
    "key-out-of-line": (HEAD + "  - id: staffing\n    name: Staffing\n   definition: People.\n",
                        7, "indented 3 spaces"),
    "key-at-the-dash": (HEAD + "  definition: Money.\n", 5, "indented like the '- ' of the list items above"),
    "key-too-deep": (HEAD + "      definition: Money.\n", 5, "indented more than line 4, which already has a value"),
    "tab": (HEAD + "\tdefinition: Money.\n", 5, "a tab in the indentation"),
    "missing-colon": (HEAD.replace("name: Funding", "name Funding") + "    definition: Money.\n",
                      4, "no ':' after the key"),
    "second-colon": (HEAD + "    definition: Money: who pays\n", 5, "a second ': ' in one line"),
    "unclosed-quote": (HEAD + "    definition: \"Money\n    examples: [a]\n", 5, "quote that is never closed"),
    "unclosed-list": (HEAD + "    examples: [one, two\n    definition: d\n", 5, "'[' not closed by ']'"),
    "text-after-quote": (HEAD + "    definition: \"Money\" and more\n", 5, "text after a closing quote"),
    "at-sign": (HEAD + "    definition: @money\n", 5, "cannot start with '@'"),
}
JARGON = ("<block", "expected <", "scanning", "while parsing", "token", "simple key")


@pytest.mark.parametrize("name", sorted(CASES))
def test_yaml_errors_name_the_line_and_the_likely_mistake(tmp_path, name):
    text, line, hint = CASES[name]
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CodebookError) as info:
        read_codebook_file(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}, line {line}: not valid YAML: "), message
    assert hint in message, message
    assert not any(word in message for word in JARGON), message


@pytest.mark.parametrize("loader", [yaml.SafeLoader, getattr(yaml, "CSafeLoader", yaml.SafeLoader)])
def test_both_parsers_get_the_same_explanation(loader):
    text = CASES["item-out-of-line"][0]
    with pytest.raises(yaml.YAMLError) as info:
        list(yaml.parse(text, Loader=loader))
    assert describe_yaml_error(text, info.value)[0] == 5
    assert "indented 3 spaces" in describe_yaml_error(text, info.value)[1]


@pytest.mark.slow
def test_the_cli_prints_the_explanation_on_one_line_with_exit_2(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(CASES["item-out-of-line"][0], encoding="utf-8")
    result = subprocess.run([sys.executable, "-c", "from qcode.cli import main; main()", "codebook", "show", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "line 5: not valid YAML: indented 3 spaces" in lines[0], result.stderr


# -- issue 22, item 17: errors at the line of the mistake, not where the parser noticed it -------------

def _long_codebook(*edits: tuple[int, str, str]) -> str:
    lines = ("name: study\ncodes:\n" + "".join(f"  - id: c{i}\n    name: Code {i}\n    definition: Def {i}.\n"
                                                for i in range(12))).splitlines()
    for index, old, new in edits:
        assert old in lines[index - 1]
        lines[index - 1] = lines[index - 1].replace(old, new)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("text", "line", "hint"), [
    (_long_codebook((26, "Def", '"Def'), (38, "Def 11.", '"Def 11."')), 26, "runs on to line 38"),
    (_long_codebook((26, "Def", "'Def"), (38, "Def 11.", "'Def 11: more'")), 26, "runs on to line 38"),
    (_long_codebook((26, "definition", "defintion")), 26, "unknown field(s) ['defintion']"),
    (_long_codebook((27, "c8", "c2")), 27, "duplicate code id 'c2' (first used on line 9)"),
])
def test_errors_point_at_the_line_of_the_mistake(tmp_path, text, line, hint):
    path = tmp_path / "book.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CodebookError) as info:
        read_codebook_file(path)
    assert str(info.value).startswith(f"{path}, line {line}: "), str(info.value)
    assert hint in str(info.value)
