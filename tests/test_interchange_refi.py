"""REFI-QDA interchange: .qdc codebooks and .qdpx projects, read, written, validated, imported, exported."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from qcode.codebook import Code, Codebook, builtin_codebook_names, load_codebook
from qcode.document import Document, Turn
from qcode.errors import InterchangeError
from qcode.interchange.codes import decode_description, encode_description
from qcode.interchange.model import PROJECT_NS, RefiCoding, RefiProject, RefiSource, RefiUser, code_guid, norm_guid
from qcode.interchange.qdc import read_qdc, write_qdc
from qcode.interchange.qdpx import read_qdpx, write_qdpx
from qcode.project import init_project
from qcode.project.bridge import export_qdpx, import_qdpx
from qcode.safezip import ZipLimits

DATA = Path(__file__).parent / "data" / "interchange"
SHARED = Path(__file__).parents[1].parent / "shared"
NVIVO = SHARED / "refi-qda" / "nvivo_project.qdpx"
VENDORED = Path(__file__).parents[1] / "qcode" / "data" / "refi-qda"

# accents (precomposed and combining), a BMP symbol, non-BMP emoji and a ZWJ family, maths letters
TRICKY = ("Café ☕ — naïve résumé.\nP1: I felt 😀 then 😢, e\u0301 combining.\n"
          "P2: 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 is fine, my 👩\u200d👩\u200d👧 too; 中文 also.\n")


def schema(name: str) -> etree.XMLSchema:
    """The vendored schema, loaded independently of the code under test."""
    return etree.XMLSchema(etree.parse(str(VENDORED / name)))


def qdpx_project_xml(path: Path):
    with zipfile.ZipFile(path) as zf:
        return etree.fromstring(zf.read("project.qde"))


def make_qdpx(path: Path, qde: str | bytes, members: dict[str, bytes] | None = None) -> Path:
    """A .qdpx written by hand, as another tool might."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", qde.encode("utf-8") if isinstance(qde, str) else qde)
        for name, data in (members or {}).items():
            zf.writestr(name, data)
    return path


USER = "11111111-1111-4111-8111-111111111111"
CODE_A = "22222222-2222-4222-8222-222222222222"
SRC = "33333333-3333-4333-8333-333333333333"


def simple_qde(start: int = 0, end: int = 5, code_ref: str = CODE_A, extra_source: str = "",
               plain_path: str = f"internal://{SRC}.txt") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Other tool" origin="hand-made">
  <Users><User guid="{USER}" name="nora"/></Users>
  <CodeBook><Codes><Code guid="{CODE_A}" name="Access" isCodable="true"/></Codes></CodeBook>
  <Sources>
    <TextSource guid="{SRC}" name="Interview 1" plainTextPath="{plain_path}">
      <PlainTextSelection guid="44444444-4444-4444-8444-444444444444" startPosition="{start}" endPosition="{end}"
                          creatingUser="{USER}">
        <Coding guid="55555555-5555-4555-8555-555555555555" creatingUser="{USER}">
          <CodeRef targetGUID="{code_ref}"/>
        </Coding>
      </PlainTextSelection>
    </TextSource>{extra_source}
  </Sources>
</Project>
"""


# -- codebooks ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", builtin_codebook_names())
def test_shipped_codebooks_export_valid_qdc_and_come_back_whole(tmp_path, name):
    cb = load_codebook(name)
    out = tmp_path / f"{name}.qdc"
    assert write_qdc(cb, out) == []
    assert schema("Codebook.xsd").validate(etree.parse(str(out)))
    back = read_qdc(out, name=cb.name)
    assert [c.id for c in back.codes] == [c.id for c in cb.codes]  # same codes, in the codebook's order
    for code in cb.codes:
        got = back[code.id]
        assert (got.name, got.parent, got.definition, got.inclusion, got.exclusion, got.examples, got.color) == \
            (code.name, code.parent, code.definition, code.inclusion, code.exclusion, code.examples, code.color)
        assert got.guid == code_guid(cb.name, code)


def test_code_keeps_its_guid_across_export_and_reimport(tmp_path):
    cb = Codebook("study", [Code("a", "Access", guid="{ABCDEF01-2345-4789-ABCD-EF0123456789}"),
                            Code("a.cost", "Cost", parent="a")])
    write_qdc(cb, tmp_path / "one.qdc")
    once = read_qdc(tmp_path / "one.qdc", name="study")
    assert once["a"].guid == "{ABCDEF01-2345-4789-ABCD-EF0123456789}"
    generated = once["a.cost"].guid
    assert generated and norm_guid(generated) != norm_guid(once["a"].guid)
    write_qdc(once, tmp_path / "two.qdc")
    twice = read_qdc(tmp_path / "two.qdc", name="study")
    assert [c.guid for c in twice.codes] == [c.guid for c in once.codes]
    # deterministic: another export of the original makes the same GUIDs
    write_qdc(cb, tmp_path / "three.qdc")
    assert read_qdc(tmp_path / "three.qdc")["a.cost"].guid == generated


def test_description_block_is_readable_text(tmp_path):
    cb = Codebook("s", [Code("funding", "Funding", definition="Money.", inclusion=("budgets", "grants"),
                             exclusion=("staff shortages",), examples=("We bid every year.",))])
    write_qdc(cb, tmp_path / "s.qdc")
    text = (tmp_path / "s.qdc").read_text(encoding="utf-8")
    assert "include: budgets" in text and "exclude: staff shortages" in text
    assert "example: We bid every year." in text


item = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n\\:"),
               max_size=40).filter(lambda s: s.strip() == s and s != "")


@settings(max_examples=150, deadline=None)
@given(definition=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n\\:"),
                          max_size=80).map(str.strip),
       inclusion=st.lists(item, max_size=3), exclusion=st.lists(item, max_size=3),
       examples=st.lists(item, max_size=3), with_marker=st.booleans())
def test_description_encoding_round_trips(definition, inclusion, exclusion, examples, with_marker):
    if with_marker:  # a definition that itself contains the marker line must survive
        definition = f"{definition}\n-- qcode --\nid: fake".strip()
    code = Code("x.y", "X", definition=definition, inclusion=tuple(inclusion), exclusion=tuple(exclusion),
                examples=tuple(examples))
    got = decode_description(encode_description(code))
    assert (got.definition, got.qcode_id, got.inclusion, got.exclusion, got.examples) == \
        (definition, "x.y", tuple(inclusion), tuple(exclusion), tuple(examples))


def test_foreign_description_is_all_definition():
    assert decode_description("Just a memo: with a colon.\ninclude: not ours").definition == \
        "Just a memo: with a colon.\ninclude: not ours"


def test_flat_dotted_codebook_is_nested_and_oddities_reported():
    warnings: list[str] = []
    cb = read_qdc(DATA / "flat_dotted.qdc", warnings=warnings)
    by_name = {c.name: c for c in cb.codes}
    assert by_name["Barriers.Funding"].parent == by_name["Barriers"].id
    assert by_name["Barriers.Funding.Short-term"].parent == by_name["Barriers.Funding"].id
    assert by_name["Enablers.Leadership"].parent == by_name["Enablers"].id
    assert by_name["Other.Stray"].parent is None  # no code called 'Other'
    assert by_name["Barriers"].guid == "{6B4D8E1A-0C2F-4E11-9A3B-1C2D3E4F5A60}"
    assert by_name["Barriers"].color == "#C00000" and by_name["Barriers"].definition == "Things that get in the way."
    joined = "\n".join(warnings)
    assert "empty <Sets/>" in joined and "line 16" in joined
    assert "dotted names" in joined and "lack isCodable" in joined


def test_nested_codebook_keeps_hierarchy_accents_and_reports_sets():
    warnings: list[str] = []
    cb = read_qdc(DATA / "nested_accents.qdc", warnings=warnings)
    assert [(c.name, cb.get(c.parent).name if c.parent else None) for c in cb.codes] == [
        ("Accès aux soins", None), ("Coût", "Accès aux soins"), ("Délais 🕒", "Accès aux soins"), ("Confiance", None)]
    assert cb.find("Coût").definition.startswith("Argent")
    assert any("sets are not kept" in w and "Pilot" in w for w in warnings)


@pytest.mark.parametrize("fixture, expected", [
    ("not_well_formed.qdc", "line 5: not well-formed XML"),
    ("invalid_guid.qdc", "line 5: not valid REFI-QDA codebook XML: Element 'Code', attribute 'guid'"),
])
def test_bad_codebook_files_name_file_and_line(fixture, expected):
    with pytest.raises(InterchangeError) as err:
        read_qdc(DATA / fixture)
    assert str(DATA / fixture) in str(err.value) and expected in str(err.value)
    assert "\n" not in str(err.value)


def test_codebook_with_duplicate_guids_is_refused(tmp_path):
    path = tmp_path / "dup.qdc"
    path.write_text(f"""<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>
<Code guid="{CODE_A}" name="A" isCodable="true"/>
<Code guid="{CODE_A.upper()}" name="B" isCodable="true"/></Codes></CodeBook>""", encoding="utf-8")
    with pytest.raises(InterchangeError, match=r"line 3: <Code guid=.*> repeats the GUID of the code on line 2"):
        read_qdc(path)


def test_xml_entities_are_not_expanded(tmp_path):
    path = tmp_path / "xxe.qdc"
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET", encoding="utf-8")
    path.write_text(f"""<?xml version="1.0"?>
<!DOCTYPE CodeBook [<!ENTITY leak SYSTEM "file://{secret}">]>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>
<Code guid="{CODE_A}" name="A" isCodable="true"><Description>&leak;</Description></Code></Codes></CodeBook>""",
                    encoding="utf-8")
    with pytest.raises(InterchangeError, match="DOCTYPE"):
        read_qdc(path)


# -- .qdpx from plain objects ----------------------------------------------------------------------

def tricky_project() -> RefiProject:
    cb = Codebook("t", [Code("feel", "Feelings", guid=CODE_A), Code("feel.joy", "Joy", parent="feel")])
    users = [RefiUser(USER, "nora"), RefiUser("66666666-6666-4666-8666-666666666666", "otto")]
    src = RefiSource(SRC, "Interview 1", TRICKY)
    spans = [(TRICKY.index("😀"), TRICKY.index("😀") + 1), (TRICKY.index("e\u0301"), TRICKY.index("e\u0301") + 2),
             (TRICKY.index("👩"), TRICKY.index("too")), (0, 4), (TRICKY.index("𝔘"), TRICKY.index(" is"))]
    codings = [RefiCoding(SRC, s, e, code_guid("t", cb.codes[i % 2]), users[i % 2].guid)
               for i, (s, e) in enumerate(spans)]
    return RefiProject("tricky", users, cb, [src], codings)


def test_written_qdpx_is_schema_valid_and_positions_count_code_points(tmp_path):
    proj = tricky_project()
    path = write_qdpx(proj, tmp_path / "t.qdpx")
    root = qdpx_project_xml(path)
    assert schema("Project.xsd").validate(root), schema("Project.xsd").error_log
    ns = {"q": PROJECT_NS}
    with zipfile.ZipFile(path) as zf:
        text = zf.read(f"sources/{SRC}.txt").decode("utf-8")
    assert text == TRICKY
    spans = sorted((int(s.get("startPosition")), int(s.get("endPosition")))
                   for s in root.iterfind(".//q:PlainTextSelection", ns))
    assert spans == sorted((c.start, c.end) for c in proj.codings)
    emoji = TRICKY.index("😀")
    assert (emoji, emoji + 1) in spans  # one position per code point, not per UTF-16 unit or byte
    assert len("😀".encode("utf-16-le")) // 2 == 2 and len("😀".encode()) == 4


def test_qdpx_plain_round_trip_is_exact(tmp_path):
    proj = tricky_project()
    back = read_qdpx(write_qdpx(proj, tmp_path / "t.qdpx"))
    assert back.sources[0].text == TRICKY
    assert back.users == proj.users
    got = sorted((c.start, c.end, norm_guid(c.code_guid), norm_guid(c.user_guid)) for c in back.codings)
    want = sorted((c.start, c.end, norm_guid(c.code_guid), norm_guid(c.user_guid)) for c in proj.codings)
    assert got == want
    for c in back.codings:
        assert back.sources[0].text[c.start:c.end] == TRICKY[c.start:c.end]
    assert [c.id for c in back.codebook.codes] == ["feel", "feel.joy"]
    assert back.codebook["feel"].guid == CODE_A


def test_windows_line_ends_from_another_tool_keep_the_coded_text(tmp_path):
    text = "Q: hi\r\nP1: waiting lists\r\nend"
    start = text.index("waiting")
    path = make_qdpx(tmp_path / "crlf.qdpx", simple_qde(start, start + len("waiting lists")),
                     {f"sources/{SRC}.txt": text.encode("utf-8")})
    proj = read_qdpx(path)
    c = proj.codings[0]
    assert "\r" not in proj.sources[0].text
    assert proj.sources[0].text[c.start:c.end] == "waiting lists"
    assert any("line breaks normalised" in w for w in proj.warnings)


def test_plain_text_content_inline_source_is_read(tmp_path):
    qde = simple_qde(0, 5).replace(f' plainTextPath="internal://{SRC}.txt">',
                                   '><PlainTextContent>Hello world</PlainTextContent>')
    proj = read_qdpx(make_qdpx(tmp_path / "inline.qdpx", qde))
    assert proj.sources[0].text == "Hello world" and proj.codings[0].end == 5


# -- bad .qdpx files ----------------------------------------------------------------------------------

def good_members(text: str = "Hello there, world") -> dict[str, bytes]:
    return {f"sources/{SRC}.txt": text.encode("utf-8")}


@pytest.mark.parametrize("build, message", [
    (lambda p: p.write_bytes(b"PK\x03\x04 not really a zip"), "not a zip archive"),
    (lambda p: make_qdpx(p, "x").unlink() or _zip_without_project(p), "no project.qde"),
    (lambda p: make_qdpx(p, simple_qde().replace("<Codes>", "<Codes><Oops>"), good_members()),
     "project.qde line 4: not well-formed XML: Opening and ending tag mismatch: Oops"),
    (lambda p: make_qdpx(p, simple_qde().replace(' endPosition="5"', ""), good_members()),
     "project.qde line 8: not valid REFI-QDA project XML: Element 'PlainTextSelection': "
     "The attribute 'endPosition' is required"),
    (lambda p: make_qdpx(p, simple_qde(3, 900), good_members()),
     "project.qde line 8: <PlainTextSelection guid=44444444-4444-4444-8444-444444444444> endPosition 900 is past "
     "the end of source 'Interview 1' (18 characters)"),
    (lambda p: make_qdpx(p, simple_qde(9, 3), good_members()), "startPosition 9 is after endPosition 3"),
    (lambda p: make_qdpx(p, simple_qde(code_ref="77777777-7777-4777-8777-777777777777"), good_members()),
     "line 9: <Coding guid=55555555-5555-4555-8555-555555555555> refers to code "
     "77777777-7777-4777-8777-777777777777, which is not in the codebook"),
    (lambda p: make_qdpx(p, simple_qde(), {}), "plainTextPath 'internal://33333333-3333-4333-8333-333333333333.txt' "
                                               "is not in the archive"),
    (lambda p: make_qdpx(p, simple_qde(plain_path="absolute:///etc/passwd"), good_members()),
     "points outside the archive"),
    (lambda p: make_qdpx(p, simple_qde(plain_path="internal://../../etc/passwd"), good_members()),
     "escapes the archive folder"),
    (lambda p: make_qdpx(p, simple_qde(), {**good_members(), "../evil.txt": b"x"}),
     "archive member '../evil.txt' escapes the archive folder"),
    (lambda p: make_qdpx(p, simple_qde(), {**good_members(), "/abs/evil.txt": b"x"}), "has an absolute path"),
    (lambda p: make_qdpx(p, simple_qde(), {f"sources/{SRC}.txt": "Héllo wörld".encode("cp1252")}),
     "source 'Interview 1' is not UTF-8 (byte 0xe9 at offset 1)"),
    (lambda p: make_qdpx(p, "<Project xmlns='urn:QDA-XML:codebook:1.0' name='x'/>"),
     "root element is <Project>, expected <Project> in namespace urn:QDA-XML:project:1.0"),
])
def test_bad_qdpx_is_refused_with_a_one_line_error_naming_file_and_element(tmp_path, build, message):
    path = tmp_path / "bad.qdpx"
    build(path)
    with pytest.raises(InterchangeError) as err:
        read_qdpx(path)
    text = str(err.value)
    assert str(path) in text and message in text, text
    assert "\n" not in text


def _zip_without_project(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")


def test_non_utf8_source_can_be_decoded_with_a_named_encoding_and_a_warning(tmp_path):
    text = "Héllo wörld, ça va"
    path = make_qdpx(tmp_path / "latin.qdpx", simple_qde(0, 5), {f"sources/{SRC}.txt": text.encode("cp1252")})
    proj = read_qdpx(path, encoding_fallback="cp1252")
    assert proj.sources[0].text == text
    assert proj.sources[0].text[proj.codings[0].start:proj.codings[0].end] == "Héllo"
    assert any("not UTF-8" in w and "cp1252" in w for w in proj.warnings)


def test_zip_bomb_is_refused_by_ratio_and_by_total_size(tmp_path):
    bomb = make_qdpx(tmp_path / "bomb.qdpx", simple_qde(), {f"sources/{SRC}.txt": b"a" * (40 << 20)})
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(InterchangeError, match="expands more than 200 times its compressed size"):
        read_qdpx(bomb)
    small = make_qdpx(tmp_path / "big.qdpx", simple_qde(), good_members("x" * 5000))
    with pytest.raises(InterchangeError, match="archive expands past 4000 bytes in total"):
        read_qdpx(small, limits=ZipLimits(max_total_bytes=4000))


def test_zip_bomb_lying_about_its_size_is_still_caught(tmp_path):
    """A member that declares 100 bytes but inflates to 8 MiB is not accepted."""
    path = make_qdpx(tmp_path / "liar.qdpx", simple_qde(), {f"sources/{SRC}.txt": b"b" * (8 << 20)})
    data = bytearray(path.read_bytes())
    name = f"sources/{SRC}.txt".encode()
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        pos = data.find(signature)
        while pos != -1:
            if data[pos + name_at:pos + name_at + len(name)] == name:
                data[pos + size_at:pos + size_at + 4] = struct.pack("<I", 100)
            pos = data.find(signature, pos + 4)
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo(f"sources/{SRC}.txt").file_size == 100  # the lie is in place
    with pytest.raises(InterchangeError) as err:
        read_qdpx(path)
    assert str(path) in str(err.value)


# -- the real NVivo export -------------------------------------------------------------------------------

needs_nvivo = pytest.mark.skipif(not NVIVO.is_file(), reason=f"shared fixture {NVIVO} is absent")


@needs_nvivo
def test_nvivo_export_reads_with_its_hierarchy_and_users():
    proj = read_qdpx(NVIVO)
    cb = proj.codebook
    assert len(cb) == 262
    assert sorted(u.name for u in proj.users) == ["chrisp", "cp"]
    assert proj.origin.startswith("NVivo")
    root = qdpx_project_xml(NVIVO)
    ns = {"q": PROJECT_NS}
    top = root.findall("q:CodeBook/q:Codes/q:Code", ns)
    assert sorted(c.id for c in cb.roots()) == sorted(cb.get(c.id).id for c in cb.roots())
    assert len(cb.roots()) == len(top)
    # every code's parent is the code its element sits in
    parent_guid = {c.get("guid"): c.getparent().get("guid") for c in root.iterfind(".//q:Code", ns)}
    for code in cb.codes:
        want = parent_guid[code.guid]
        assert (cb[code.parent].guid if code.parent else None) == want
    assert len(proj.sources) == 2


@needs_nvivo
def test_nvivo_export_imports_into_a_project_and_exports_back_valid(tmp_path):
    project = init_project(tmp_path / "p")
    summary = import_qdpx(project, NVIVO)
    assert summary["codes_added"] == 262
    assert project.coders() == ["chrisp", "cp"]
    assert len(project.codebook) == 262 and len(project.documents()) == 2
    out = tmp_path / "again.qdpx"
    export_qdpx(project, out)
    assert schema("Project.xsd").validate(qdpx_project_xml(out))
    again = read_qdpx(out)
    assert {norm_guid(c.guid) for c in again.codebook.codes} == \
        {norm_guid(c.guid) for c in read_qdpx(NVIVO).codebook.codes}
    assert {norm_guid(u.guid) for u in again.users} == {norm_guid(u.guid) for u in read_qdpx(NVIVO).users}


# -- project store round trip ------------------------------------------------------------------------------

def seeded_project(path: Path):
    cb = Codebook("demo", [Code("access", "Access", definition="Getting in.", inclusion=("queues",),
                                color="#ff0000"),
                           Code("access.cost", "Cost", parent="access", examples=("It costs £5",)),
                           Code("trust", "Trust")])
    project = init_project(path, codebook=cb)
    other = "Second doc: no emoji here, just text.\nSecond line."
    project.add_documents([Document("int1.txt", TRICKY, [Turn(0, len(TRICKY))]),
                           Document("site b/int2.txt", other, [Turn(0, len(other))])])
    i = TRICKY.index("😀")
    project.code_span("alice", "int1.txt", i, i + 1, "access.cost")
    project.code_span("alice", "int1.txt", 0, 4, "access")
    j = TRICKY.index("👩")
    project.code_span("bob", "int1.txt", j, TRICKY.index(" too"), "trust")
    k = TRICKY.index("e\u0301")
    project.code_span("bob", "int1.txt", k, k + 2, "access")
    project.code_span("bob", "int1.txt", 0, 4, "access")
    project.code_span("bob", "site b/int2.txt", 0, 10, "trust")
    project.code_span("alice", "site b/int2.txt", 12, 20, "trust", verdict="accept")
    project.code_span("alice", "site b/int2.txt", 12, 20, "trust", verdict="reject")  # change of mind
    return project


COLS = ["doc_id", "start", "end", "text", "code_id", "coder"]


def test_project_export_then_import_reproduces_offsets_texts_codes_and_coders(tmp_path):
    src = seeded_project(tmp_path / "src")
    out = tmp_path / "study.qdpx"
    export_qdpx(src, out)
    assert schema("Project.xsd").validate(qdpx_project_xml(out))
    dst = init_project(tmp_path / "dst")
    summary = import_qdpx(dst, out)
    assert summary["codings"] == 6 and summary["warnings"] == []
    want = src.codings()[COLS].sort_values(COLS).reset_index(drop=True)
    got = dst.codings()[COLS].sort_values(COLS).reset_index(drop=True)
    assert got.equals(want)
    for row in got.itertuples():
        assert dst.document_text(row.doc_id)[row.start:row.end] == row.text
    assert dst.document_text("int1.txt") == TRICKY
    assert dst.coders() == ["alice", "bob"]
    for code in src.codebook.codes:
        got_code = dst.codebook[code.id]
        assert (got_code.name, got_code.parent, got_code.definition, got_code.inclusion, got_code.examples,
                got_code.color) == (code.name, code.parent, code.definition, code.inclusion, code.examples,
                                    code.color)
        assert got_code.guid == code_guid("demo", code)


def test_reimport_is_idempotent_and_second_export_keeps_guids(tmp_path):
    src = seeded_project(tmp_path / "src")
    export_qdpx(src, tmp_path / "a.qdpx")
    dst = init_project(tmp_path / "dst")
    import_qdpx(dst, tmp_path / "a.qdpx")
    events = len(dst.decisions())
    again = import_qdpx(dst, tmp_path / "a.qdpx")
    assert again["codings"] == 0 and again["already_present"] == 6
    assert len(dst.decisions()) == events
    export_qdpx(dst, tmp_path / "b.qdpx")
    a, b = read_qdpx(tmp_path / "a.qdpx"), read_qdpx(tmp_path / "b.qdpx")
    assert [c.guid for c in a.codebook.codes] == [c.guid for c in b.codebook.codes]
    assert {norm_guid(u.guid) for u in a.users} == {norm_guid(u.guid) for u in b.users}
    assert {norm_guid(s.guid) for s in a.sources} == {norm_guid(s.guid) for s in b.sources}


def test_import_into_existing_project_merges_codes_by_name_and_keeps_both_coders(tmp_path):
    project = init_project(tmp_path / "p", codebook=Codebook("ours", [Code("acc", "Access")]))
    text = "Hello there, world"
    project.add_documents([Document("Interview 1", text, [Turn(0, len(text))])])
    project.code_span("alice", "Interview 1", 0, 5, "acc")
    path = make_qdpx(tmp_path / "theirs.qdpx", simple_qde(0, 5), good_members(text))
    summary = import_qdpx(project, path)
    assert summary["codes_added"] == 0 and summary["documents"]["unchanged"] == ["Interview 1"]
    assert project.codebook["acc"].guid == CODE_A  # matched by name, takes the other tool's GUID
    codings = project.codings()
    assert sorted(codings["coder"]) == ["alice", "nora"]
    assert set(codings["code_id"]) == {"acc"}


def test_failed_import_changes_nothing_in_the_project(tmp_path):
    project = seeded_project(tmp_path / "p")
    before = (project.codebook.version, project.coders(), len(project.decisions()), len(project.documents()))
    second = f"""
    <TextSource guid="88888888-8888-4888-8888-888888888888" name="Interview 2">
      <PlainTextContent>short</PlainTextContent>
      <PlainTextSelection guid="99999999-9999-4999-8999-999999999999" startPosition="0" endPosition="50">
        <Coding guid="aaaaaaaa-9999-4999-8999-999999999999" creatingUser="{USER}"><CodeRef targetGUID="{CODE_A}"/></Coding>
      </PlainTextSelection>
    </TextSource>"""
    path = make_qdpx(tmp_path / "half.qdpx", simple_qde(0, 5, extra_source=second), good_members())
    with pytest.raises(InterchangeError, match="endPosition 50 is past the end of source 'Interview 2'"):
        import_qdpx(project, path)
    after = (project.codebook.version, project.coders(), len(project.decisions()), len(project.documents()))
    assert after == before


def test_failure_inside_the_store_rolls_back_everything(tmp_path):
    """A problem only the store can see (a coder name it refuses) undoes codebook, documents and coders."""
    project = init_project(tmp_path / "p")
    path = make_qdpx(tmp_path / "x.qdpx", simple_qde(0, 5).replace('name="nora"', 'name="no&#9;ra"'),
                     good_members())
    with pytest.raises(Exception) as err:
        import_qdpx(project, path)
    assert "control characters" in str(err.value)
    assert project.coders() == [] and len(project.documents()) == 0
    assert project.codebooks().empty


def test_stale_codings_are_left_out_of_an_export_with_a_warning(tmp_path):
    project = seeded_project(tmp_path / "p")
    changed = "Second doc, rewritten."
    project.add_documents([Document("site b/int2.txt", changed, [Turn(0, len(changed))])])
    out = tmp_path / "x.qdpx"
    summary = export_qdpx(project, out)
    assert summary["codings"] == 5
    assert any("earlier versions" in w for w in summary["warnings"])
    back = read_qdpx(out)
    assert {s.name: s.text for s in back.sources}["site b/int2.txt"] == changed


def test_agreement_between_a_qcode_coder_and_a_coder_from_another_tool(tmp_path):
    """The point of import: compare a coder who worked elsewhere with one who worked in qcode."""
    from qcode import agreement

    text = "P1: The waiting list is long 😀 and the bus costs too much.\nP2: Ça coûte cher."
    project = init_project(tmp_path / "p", codebook=Codebook("ours", [Code("acc", "Access"), Code("cost", "Cost")]))
    project.add_documents([Document("Interview 1", text, [Turn(0, len(text))])])
    wait = (text.index("The waiting"), text.index(" and the bus"))
    bus = (text.index("the bus"), text.index(".\nP2"))
    project.code_span("alice", "Interview 1", *wait, "acc")
    project.code_span("alice", "Interview 1", *bus, "cost")

    def other_tool_file(name: str, cost_span: tuple[int, int]) -> Path:
        cost_guid = "77777777-7777-4777-8777-777777777777"
        qde = simple_qde(*wait).replace(
            "</Codes>", f'<Code guid="{cost_guid}" name="Cost" isCodable="true"/></Codes>').replace(
            "</TextSource>", f"""<PlainTextSelection guid="12121212-1212-4212-8212-121212121212"
              startPosition="{cost_span[0]}" endPosition="{cost_span[1]}" creatingUser="{USER}">
              <Coding guid="13131313-1313-4313-8313-131313131313" creatingUser="{USER}">
              <CodeRef targetGUID="{cost_guid}"/></Coding></PlainTextSelection></TextSource>""")
        return make_qdpx(tmp_path / name, qde, good_members(text))

    import_qdpx(project, other_tool_file("same.qdpx", bus))
    lengths = {"Interview 1": len(text)}
    same = agreement.report(project.codings(), unit="character", n_boot=0, doc_lengths=lengths)
    assert same.coders == ["alice", "nora"]
    assert list(same.per_code.set_index("code").loc[["acc", "cost"], "percent_agreement"]) == [1.0, 1.0]

    other = init_project(tmp_path / "q", codebook=project.codebook)
    other.add_documents([Document("Interview 1", text, [Turn(0, len(text))])])
    other.code_span("alice", "Interview 1", *wait, "acc")
    other.code_span("alice", "Interview 1", *bus, "cost")
    import_qdpx(other, other_tool_file("differ.qdpx", (text.index("Ça"), len(text))))
    differ = agreement.report(other.codings(), unit="character", n_boot=0, doc_lengths=lengths)
    table = differ.per_code.set_index("code")
    assert table.loc["acc", "percent_agreement"] == 1.0 and table.loc["cost", "percent_agreement"] < 1.0


unicode_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)),
                       min_size=1, max_size=300)


@settings(max_examples=60, deadline=None)
@given(text=unicode_text, cuts=st.lists(st.tuples(st.integers(0, 300), st.integers(1, 40)), min_size=1, max_size=6))
def test_any_text_and_spans_survive_write_and_read_exactly(tmp_path_factory, text, cuts):
    spans = sorted({(min(s, len(text) - 1), min(min(s, len(text) - 1) + n, len(text))) for s, n in cuts})
    cb = Codebook("h", [Code("c", "C")])
    proj = RefiProject("h", [RefiUser(USER, "nora")], cb, [RefiSource(SRC, "doc", text)],
                       [RefiCoding(SRC, s, e, code_guid("h", cb.codes[0]), USER) for s, e in spans])
    path = write_qdpx(proj, tmp_path_factory.mktemp("h") / "h.qdpx")
    back = read_qdpx(path)
    assert back.sources[0].text == text
    assert sorted((c.start, c.end) for c in back.codings) == spans


def test_nfc_option_composes_accents_and_moves_positions_to_the_same_characters(tmp_path):
    text = "Cafe\u0301 nai\u0308ve\u2028fin"  # decomposed é and ï, a Unicode line separator
    qde = simple_qde(0, 5).replace("</TextSource>", f"""
      <PlainTextSelection guid="12121212-1212-4212-8212-121212121212" startPosition="{text.index('na')}"
          endPosition="{text.index('ve') - 1}" creatingUser="{USER}">
        <Coding guid="13131313-1313-4313-8313-131313131313" creatingUser="{USER}"><CodeRef targetGUID="{CODE_A}"/></Coding>
      </PlainTextSelection></TextSource>""")
    path = make_qdpx(tmp_path / "nfd.qdpx", qde, {f"sources/{SRC}.txt": text.encode("utf-8")})
    kept = read_qdpx(path)
    assert kept.sources[0].text == text.replace("\u2028", "\n")  # default: characters kept as written
    composed = read_qdpx(path, nfc=True)
    from qcode.ingest.normalize import normalize_text

    assert composed.sources[0].text == normalize_text(text) == "Café naïve\nfin"
    spans = sorted(composed.sources[0].text[c.start:c.end] for c in composed.codings)
    # 0..5 covered 'Cafe' + the accent: still the whole 'Café'; the second ended inside the composed i: widened to 'naï'
    assert spans == ["Café", "naï"]


def test_hand_edited_qcode_block_keeps_the_added_words(tmp_path):
    path = tmp_path / "edited.qdc"
    path.write_text(f"""<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>
<Code guid="{CODE_A}" name="Access" isCodable="true"><Description>Getting in.

-- qcode --
id: access
include: queues
Added in NVivo by Sam: also covers parking.
</Description></Code></Codes></CodeBook>""", encoding="utf-8")
    warnings: list[str] = []
    code = read_qdc(path, warnings=warnings).codes[0]
    assert (code.id, code.inclusion) == ("access", ("queues",))
    assert code.definition == "Getting in.\nAdded in NVivo by Sam: also covers parking."
    assert any("kept in the definition" in w for w in warnings)


def test_archive_with_two_members_of_one_name_is_refused(tmp_path):
    import warnings as pywarnings

    path = tmp_path / "twice.qdpx"
    with pywarnings.catch_warnings():
        pywarnings.simplefilter("ignore")  # zipfile warns about the duplicate name it is asked to write
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("project.qde", simple_qde())
            zf.writestr(f"sources/{SRC}.txt", "Hello there, world")
            zf.writestr(f"sources/{SRC}.txt", "Something else entirely")
    with pytest.raises(InterchangeError, match="archive holds two members named 'sources/3333"):
        read_qdpx(path)


def test_the_old_shim_paths_are_gone():
    """qcode is unreleased: moved names live at one path only, so nothing re-exports them silently."""
    import importlib

    import qcode
    import qcode.interchange

    for old in ("qcode.interchange.refi", "qcode.interchange.safezip", "qcode.interchange._store_bridge"):
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(old)
    assert not hasattr(qcode.interchange, "export_qdpx")  # the store's side lives in qcode.project.bridge
    assert qcode.read_qdc is read_qdc and qcode.export_qdpx is export_qdpx and qcode.import_qdpx is import_qdpx


def test_interchange_never_imports_the_project_store():
    import ast

    folder = Path(__file__).parents[1] / "qcode" / "interchange"
    offenders = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                target = ("." * node.level) + (node.module or "")
                names = [target]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            if any(n.startswith(("qcode.project", "..project")) for n in names):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


def test_loading_a_qdc_codebook_goes_through_the_reader_registry(tmp_path):
    from qcode.codebook import CODEBOOK_READERS, load_codebook

    assert CODEBOOK_READERS[".qdc"] is read_qdc  # registered by qcode.interchange.qdc itself
    path = tmp_path / "cb.qdc"
    write_qdc(load_codebook("mcn-sst"), path)
    assert load_codebook(path).version == read_qdc(path).version

