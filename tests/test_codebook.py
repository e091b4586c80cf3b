"""Seeded codebooks, codebook files (YAML/JSON round trip and validation) and ``qcode codebook``.

Everything here runs against the real shipped files and real temporary files:
no mocks. The CLI is exercised in a subprocess, so the error boundary in
``qcode.cli.main`` (one line on stderr, exit code 2) is what is tested.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qcode.codebook import (
    Code,
    Codebook,
    builtin_codebook_names,
    codebook_from_dict,
    load_codebook,
    read_codebook_file,
    save_codebook,
)
from qcode.errors import CodebookError

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT.parent / "shared" / "seed" / "paper-mcn-childrens-palliative-care.md"
DEV_QUOTES = ROOT.parent / "shared" / "eval" / "dev_quotes.json"

# name -> (number of roots, number of codable leaves)
SHIPPED = {"mcn-sst": (6, 19), "npt": (4, 4), "clinical-networks": (2, 18)}

MCN_DOMAINS = {
    "goals": "Goals and metrics",
    "people": "People",
    "infrastructure": "Infrastructure",
    "technology": "Technology",
    "culture": "Culture",
    "processes": "Processes and procedures",
}

MCN_THEMES = {
    "goals.shared-vision": "Shared vision for the MCN",
    "goals.outcome-measures": "Lack of outcome measures and measurement of outcomes",
    "goals.too-broad": "Having goals that are too broad",
    "goals.competing-goals": "Competing organisational goals",
    "people.varied-knowledge": "Varied knowledge about the Network",
    "people.limited-role": "Role in palliative care is limited for some",
    "people.staff-shortage": "Shortage of palliative care staff",
    "infrastructure.funding": "Insufficient funding for the MCN",
    "infrastructure.geography": "A challenging geography",
    "infrastructure.coordinator": "Importance of the Network coordinator",
    "technology.data-sharing": "No current solution for sharing patient data",
    "technology.recording-systems": "Different recording systems impede MCN evaluation",
    "culture.definitions": "Different definitions of paediatric palliative care",
    "culture.funding-priority": "Palliative care not a priority for funding",
    "culture.org-cultures": "Organisational cultures differ",
    "processes.governance": "A governing structure that fosters collaboration",
    "processes.variable-involvement": "Variable involvement of member organisations in governance",
    "processes.best-practice": "A mechanism for developing and sharing best practice",
    "processes.training": "Training that is well received but limited",
}

CODE_ID_IN_TEXT = re.compile(r"\b[a-z]+\.[a-z]+(?:-[a-z]+)*\b")


# -- the shipped codebooks ---------------------------------------------------------

def test_every_shipped_codebook_is_listed():
    assert set(SHIPPED) <= set(builtin_codebook_names())


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_codebook_loads_by_name_with_expected_shape(name):
    cb = load_codebook(name)
    n_roots, n_leaves = SHIPPED[name]
    assert cb.name == name
    assert len(cb.roots()) == n_roots
    assert len(cb.leaves()) == n_leaves
    assert cb.title and cb.description and cb.source
    assert re.fullmatch(r"[0-9a-f]{16}", cb.version)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_leaf_is_fully_described(name):
    cb = load_codebook(name)
    # mcn-sst was enriched (issue 12): ten examples a leaf, and an exclusion for each near sibling
    (fewest_excl, most_excl), (fewest_ex, most_ex) = {"mcn-sst": ((2, 5), (10, 10))}.get(name, ((2, 3), (4, 6)))
    for code in cb.leaves():
        assert len(code.definition.split()) >= 12, code.id
        assert 3 <= len(code.inclusion) <= 5, code.id
        assert fewest_excl <= len(code.exclusion) <= most_excl, code.id
        assert fewest_ex <= len(code.examples) <= most_ex, code.id
        assert all(text.strip() for text in code.inclusion + code.exclusion + code.examples), code.id


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_root_has_a_definition(name):
    for code in load_codebook(name).roots():
        assert code.definition.strip(), code.id


@pytest.mark.parametrize("name", ["mcn-sst", "clinical-networks"])
def test_hierarchical_codebooks_put_every_leaf_under_a_root(name):
    cb = load_codebook(name)
    root_ids = {c.id for c in cb.roots()}
    for code in cb.leaves():
        assert code.parent in root_ids, code.id
        # ids are namespaced by their root, so a suggestion rolls up by prefix too
        assert code.id.split(".")[0] == code.parent, code.id


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_exclusion_criteria_point_only_at_existing_codes(name):
    """An exclusion that says "use X instead" must name a code that exists (and not itself)."""
    cb = load_codebook(name)
    for code in cb.leaves():
        for text in code.exclusion:
            for ref in CODE_ID_IN_TEXT.findall(text):
                assert ref in cb, f"{code.id}: exclusion names unknown code {ref!r}"
                assert ref != code.id, f"{code.id}: exclusion points at itself"


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_examples_are_not_repeated_across_codes(name):
    examples = [e for code in load_codebook(name) for e in code.examples]
    assert len(examples) == len(set(examples))


def test_mcn_sst_has_exactly_the_papers_domains_and_themes():
    cb = load_codebook("mcn-sst")
    assert {c.id: c.name for c in cb.roots()} == MCN_DOMAINS
    assert {c.id: c.name for c in cb.leaves()} == MCN_THEMES
    assert [c.id for c in cb.leaves()] == list(MCN_THEMES)  # the paper's order
    assert cb.root_of("technology.recording-systems").name == "Technology"
    assert cb.find("a challenging geography").id == "infrastructure.geography"
    assert "10.1186/s12904-021-00712-7" in cb.source


def test_npt_has_the_four_constructs():
    cb = load_codebook("npt")
    assert [c.name for c in cb.leaves()] == [
        "Coherence", "Cognitive participation", "Collective action", "Reflexive monitoring"]
    assert all(c.id.startswith("npt.") for c in cb)
    assert "May" in cb.source and "Finch" in cb.source


def test_clinical_networks_has_ten_enablers_and_eight_barriers():
    cb = load_codebook("clinical-networks")
    assert len(cb.children("enablers")) == 10
    assert len(cb.children("barriers")) == 8
    assert "Brown" in cb.source


def _shingles(text: str, n: int) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9]+", text.lower().replace("\u2019", "").replace("'", ""))
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def _described_texts(name: str):
    for code in load_codebook(name):
        for text in (code.definition, *code.inclusion, *code.exclusion, *code.examples):
            yield code.id, text


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_codebook_text_is_not_copied_from_the_paper(name):
    """No run of 8 words in a definition, criterion or example appears in the seed paper."""
    if not PAPER.exists():
        pytest.skip(f"seed paper not found at {PAPER}")
    paper = _shingles(PAPER.read_text(encoding="utf-8"), 8)
    for code_id, text in _described_texts(name):
        assert not (_shingles(text, 8) & paper), f"{code_id}: {text!r} repeats the paper"


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_codebook_text_does_not_echo_the_papers_quotations(name):
    """Participant quotations are evaluation data: not even 5 words in a row may reappear."""
    if not DEV_QUOTES.exists():
        pytest.skip(f"evaluation quotes not found at {DEV_QUOTES}")
    quotes = [q["text"] for q in json.loads(DEV_QUOTES.read_text(encoding="utf-8"))]
    assert quotes
    quoted = set().union(*(_shingles(q, 5) for q in quotes))
    for code_id, text in _described_texts(name):
        assert not (_shingles(text, 5) & quoted), f"{code_id}: {text!r} echoes a quotation"


# -- round trip --------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_codebook_round_trips_through_save_and_load(tmp_path, name, suffix):
    original = load_codebook(name)
    path = save_codebook(original, tmp_path / f"copy{suffix}")
    again = load_codebook(path)
    assert again == original
    assert again.to_dict() == original.to_dict()
    assert again.version == original.version
    assert [c.id for c in again.leaves()] == [c.id for c in original.leaves()]


def _tricky_codebook() -> Codebook:
    return Codebook(
        name="tricky",
        title="Titles: with colons # and hashes",
        description="Line one.\nLine two, with 'quotes' and \"double quotes\".",
        source="Ünïcödé source — 2025",
        codes=[
            Code(id="yes", name="no", definition="null", inclusion=("- starts with a dash", "007", "true"),
                 examples=("{not: a mapping}", "[not, a, list]", "multi\nline"), color="#ff8800",
                 guid="6f1c2d3e-0000-4000-8000-000000000001"),
            Code(id="yes.child", name="Enfant & café", parent="yes", exclusion=("@at", "%percent", "*star")),
            Code(id="123", name="  leading and trailing spaces  "),
        ],
    )


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_awkward_strings_survive_a_round_trip(tmp_path, suffix):
    original = _tricky_codebook()
    again = load_codebook(save_codebook(original, tmp_path / f"tricky{suffix}"))
    assert again == original
    assert again.version == original.version
    assert again["yes"].color == "#ff8800"
    assert again["yes.child"].parent == "yes"


def test_version_changes_when_any_field_changes():
    cb = load_codebook("mcn-sst")
    first = cb.leaves()[0]
    edited = cb.replace_codes(
        Code(**{**first.__dict__, "examples": (*first.examples, "one more")}) if c.id == first.id else c
        for c in cb.codes)
    assert edited.version != cb.version
    assert cb.replace_codes(cb.codes).version == cb.version


_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30)
_clean = _text.filter(lambda s: s.strip() == s and s.strip())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(_clean, min_size=1, max_size=4, unique=True), definition=_clean,
       examples=st.lists(_text, max_size=3))
def test_generated_codebooks_round_trip(tmp_path, names, definition, examples):
    codes = [Code(id=f"c{i}", name=n, parent="c0" if i else None, definition=definition,
                  examples=tuple(examples)) for i, n in enumerate(names)]
    original = Codebook(name="gen", codes=codes)
    for suffix in (".yaml", ".json"):
        again = load_codebook(save_codebook(original, tmp_path / f"gen{suffix}"))
        assert again == original, suffix
        assert again.version == original.version


# -- validation errors ---------------------------------------------------------------

BAD_FILES = {
    "duplicate-id.yaml": (
        "name: bad\ncodes:\n  - id: a\n    name: A\n    children:\n      - id: b\n        name: B\n"
        "  - id: b\n    name: Again\n",
        ["line 8", "duplicate code id 'b'"]),
    "unknown-parent.yaml": (
        "codes:\n  - id: a\n    name: A\n  - id: b\n    name: B\n    parent: nowhere\n",
        ["line 4", "'b'", "unknown parent 'nowhere'"]),
    "cycle.yaml": (
        "codes:\n  - id: a\n    name: A\n    parent: c\n  - id: b\n    name: B\n    parent: a\n"
        "  - id: c\n    name: C\n    parent: b\n",
        ["line 2", "cycle", "a -> c -> b -> a"]),
    "empty-name.yaml": (
        "codes:\n  - id: a\n    name: A\n  - id: b\n    name: ''\n",
        ["line 4", "'b'", "empty name"]),
    "blank-name.yaml": (
        "codes:\n  - id: a\n    name: '   '\n",
        ["line 2", "'a'", "empty name"]),
    "missing-name.yaml": (
        "codes:\n  - id: a\n    definition: no name here\n",
        ["line 2", "'a'", "missing name"]),
    "missing-id.yaml": (
        "codes:\n  - name: Nameless\n",
        ["line 2", "'Nameless'", "missing id"]),
    "malformed.yaml": (
        "name: bad\ncodes:\n  - id: a\n    name: A\n   definition: wrong indent\n",
        ["line 5", "not valid YAML"]),
    "unclosed.yaml": (
        "codes:\n  - id: a\n    name: \"never closed\n",
        ["not valid YAML"]),
    "unknown-field.yaml": (
        "codes:\n  - id: a\n    name: A\n    colour: red\n",
        ["line 4", "'a'", "unknown field", "colour"]),  # the key's own line (issue 22)
    "wrong-parent.yaml": (
        "codes:\n  - id: a\n    name: A\n    children:\n      - id: b\n        name: B\n        parent: z\n",
        ["line 5", "'b'", "nested under 'a'", "'z'"]),
    "bad-examples.yaml": (
        "codes:\n  - id: a\n    name: A\n    examples: {one: two}\n",
        ["line 2", "examples", "list of strings"]),
    "no-codes.yaml": ("name: nothing\n", ["missing 'codes'"]),
    "empty.yaml": ("  \n\n", ["empty"]),
    "duplicate-id.json": (
        '{\n  "codes": [\n    {"id": "a", "name": "A"},\n    {"id": "a", "name": "B"}\n  ]\n}\n',
        ["line 4", "duplicate code id 'a'"]),
    "malformed.json": ('{\n  "codes": [\n    {"id": "a", "name": "A",}\n  ]\n}\n', ["line 3", "not valid JSON"]),
    "codebook.txt": ("codes: []\n", ["unknown codebook format", ".txt"]),
}


@pytest.mark.parametrize("filename", sorted(BAD_FILES))
def test_bad_codebook_file_gives_one_line_error_naming_file_and_place(tmp_path, filename):
    text, expected = BAD_FILES[filename]
    path = tmp_path / filename
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CodebookError) as info:
        read_codebook_file(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    for fragment in expected:
        assert fragment in message, (fragment, message)


def test_validation_also_guards_codebooks_built_in_code():
    with pytest.raises(CodebookError, match=r"duplicate code id 'x'"):
        Codebook(name="inline", codes=[Code(id="x", name="X"), Code(id="x", name="Y")])
    with pytest.raises(CodebookError, match=r"cycle in the hierarchy: x -> x"):
        Codebook(name="inline", codes=[Code(id="x", name="X", parent="x")])
    with pytest.raises(CodebookError, match=r"'y' has unknown parent 'x'"):
        codebook_from_dict({"codes": [{"id": "y", "name": "Y", "parent": "x"}]}, where="dict")


def test_missing_file_and_unknown_name_are_codebook_errors(tmp_path):
    with pytest.raises(CodebookError, match="no such codebook file"):
        load_codebook(tmp_path / "absent.yaml")
    with pytest.raises(CodebookError) as info:
        load_codebook("no-such-codebook")
    message = str(info.value)
    assert "'no-such-codebook'" in message and "mcn-sst" in message and "\n" not in message


def test_a_bad_file_is_not_half_written_over_a_good_one(tmp_path):
    """save() is atomic: a format error leaves the existing file untouched."""
    good = save_codebook(load_codebook("npt"), tmp_path / "npt.yaml")
    before = good.read_bytes()
    with pytest.raises(CodebookError):
        save_codebook(load_codebook("npt"), tmp_path / "npt.xml")
    assert good.read_bytes() == before
    assert not (tmp_path / "npt.xml").exists()


# -- the command line --------------------------------------------------------------

def qcode(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qcode", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_cli_codebook_list_shows_every_shipped_codebook():
    result = qcode("codebook", "list")
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    for name, (_, n_leaves) in SHIPPED.items():
        assert name in lines
        assert f"{n_leaves} codes" in lines[name]


def test_cli_codebook_show_prints_the_tree():
    result = qcode("codebook", "show", "mcn-sst")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    cb = load_codebook("mcn-sst")
    assert cb.version in out and "19 codable codes" in out
    for code_id, name in {**MCN_DOMAINS, **MCN_THEMES}.items():
        assert f"{name} [{code_id}]" in out
    # themes are indented under their domain
    assert "\n  - Shared vision for the MCN [goals.shared-vision]" in out
    assert "example:" not in out


def test_cli_codebook_show_full_includes_criteria_and_examples():
    result = qcode("codebook", "show", "npt", "--full")
    assert result.returncode == 0, result.stderr
    example = load_codebook("npt")["npt.coherence"].examples[0]
    assert f"example: {example}" in result.stdout
    assert "include:" in result.stdout and "exclude:" in result.stdout


def test_cli_codebook_show_accepts_a_file(tmp_path):
    path = save_codebook(_tricky_codebook(), tmp_path / "tricky.json")
    result = qcode("codebook", "show", str(path))
    assert result.returncode == 0, result.stderr
    assert "Enfant & café [yes.child]" in result.stdout


def test_cli_unknown_codebook_is_one_line_error_exit_2():
    result = qcode("codebook", "show", "no-such-codebook")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: unknown codebook 'no-such-codebook'")


def test_cli_malformed_codebook_file_is_one_line_error_exit_2(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("codes:\n  - id: a\n    name: A\n  - id: a\n    name: B\n", encoding="utf-8")
    result = qcode("codebook", "show", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [f"error: {path}, line 4: duplicate code id 'a' (first used on line 2)"]
