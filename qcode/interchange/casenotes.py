"""REFI-QDA cases, variables and notes: written into a ``<Project>`` and read back from one (pure).

* ``<Variables>`` holds one ``Text`` variable per attribute name; each
  ``<Case>`` carries its ``<VariableValue>``\\ s and a ``<SourceRef>`` to every
  source it is found in. qcode's kind of case (speaker or document) rides in a
  ``<?qcode-case {...}?>`` instruction inside the case, which other tools ignore.
* Each memo becomes a ``<Note>`` (its text as ``<PlainTextContent>``) and a
  ``<NoteRef>`` where the standard puts one: at the end of ``<Project>``, in a
  ``<Code>``, a ``<TextSource>`` or a ``<PlainTextSelection>`` (a passage; a
  selection is added when no coding made one). The standard has no note on a
  case, so a case memo is a note carrying a ``<?qcode-memo {...}?>``
  instruction naming its case.
* Reading takes values of any variable type as text, and variable values
  on a source as attributes of that document.

>>> from lxml import etree
>>> root = etree.Element("{urn:QDA-XML:project:1.0}Project", name="p")
>>> add_cases_and_notes(root, ["role"], [RefiCase(stable_guid("c"), "P1", {"role": "nurse"}, by="speaker")], [])
>>> [case.values for case in read_cases(root, {}, [])]
[{'role': 'nurse'}]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from .model import PROJECT_NS, RefiCase, RefiNote, RefiNoteRef, norm_guid, stable_guid
from .xmlsafe import clean_xml_text

CASE_PI = "qcode-case"
MEMO_PI = "qcode-memo"
_NS = PROJECT_NS
#: value elements of a ``<VariableValue>``, any of which is read as text
_VALUE_TAGS = ("TextValue", "BooleanValue", "IntegerValue", "FloatValue", "DateValue", "DateTimeValue")


def _tag(name: str) -> str:
    return f"{{{_NS}}}{name}"


def _pi(target: str, data: Mapping[str, Any]) -> Any:
    from lxml import etree

    text = json.dumps(dict(data), ensure_ascii=True, separators=(",", ":")).replace("?>", "?\\u003e")
    return etree.ProcessingInstruction(target, text)


def _pi_data(el: Any, target: str) -> dict[str, Any]:
    from lxml import etree

    for child in el:
        if isinstance(child, etree._ProcessingInstruction) and child.target == target:
            try:
                data = json.loads(child.text or "{}")
            except ValueError:
                return {}
            return data if isinstance(data, dict) else {}
    return {}


def _insert_after(root: Any, element: Any, after: tuple[str, ...]) -> None:
    """Put ``element`` under ``root`` right after its last child named in ``after`` (else first)."""
    index = 0
    for i, child in enumerate(root):
        if isinstance(child.tag, str) and child.tag in {_tag(n) for n in after}:
            index = i + 1
    root.insert(index, element)


def variable_guid(name: str) -> str:
    """The GUID qcode gives an attribute's ``<Variable>`` (the same in every export)."""
    return stable_guid("variable", name)


# -- write ---------------------------------------------------------------------------------------

def add_cases_and_notes(root: Any, variables: list[str], cases: list[RefiCase], notes: list[RefiNote],
                        when: str | None = None) -> None:
    """Add ``<Variables>``, ``<Cases>``, ``<Notes>`` and the notes' ``<NoteRef>``\\ s to a ``<Project>`` root."""
    from lxml import etree

    if variables:
        variables_el = etree.Element(_tag("Variables"))
        for name in variables:
            etree.SubElement(variables_el, _tag("Variable"), guid=variable_guid(name), name=clean_xml_text(name),
                             typeOfVariable="Text")
        _insert_after(root, variables_el, ("Users", "CodeBook"))
    if cases:
        cases_el = etree.Element(_tag("Cases"))
        for case in cases:
            case_el = etree.SubElement(cases_el, _tag("Case"), guid=case.guid, name=clean_xml_text(case.name))
            if case.by:
                case_el.append(_pi(CASE_PI, {"by": case.by}))
            for name, value in case.values.items():
                value_el = etree.SubElement(case_el, _tag("VariableValue"))
                etree.SubElement(value_el, _tag("VariableRef"), targetGUID=variable_guid(name))
                etree.SubElement(value_el, _tag("TextValue")).text = clean_xml_text(value)
            for source in case.source_guids:
                etree.SubElement(case_el, _tag("SourceRef"), targetGUID=source)
        _insert_after(root, cases_el, ("Users", "CodeBook", "Variables"))
    if notes:
        notes_el = etree.Element(_tag("Notes"))
        for note in notes:
            _note_xml(root, notes_el, note, when)
        _insert_after(root, notes_el, ("Users", "CodeBook", "Variables", "Cases", "Sources"))


def _note_xml(root: Any, notes_el: Any, note: RefiNote, when: str | None) -> None:
    from lxml import etree

    attrs = {"guid": note.guid, "name": clean_xml_text(note.name)}
    for key, value in (("creatingUser", note.user_guid), ("creationDateTime", note.created or when),
                       ("modifiedDateTime", note.modified)):
        if value:
            attrs[key] = value
    note_el = etree.SubElement(notes_el, _tag("Note"), attrs)
    etree.SubElement(note_el, _tag("PlainTextContent")).text = clean_xml_text(note.text)
    extra = dict(note.extra)
    for ref in note.refs:
        if ref.kind == "case":
            extra.update({"target": "case", "case": ref.case, "by": ref.by})
            continue
        holder = _ref_holder(root, ref)
        if holder is not None:
            _add_note_ref(holder, note.guid)
    if extra:
        note_el.insert(0, _pi(MEMO_PI, extra))


def _ref_holder(root: Any, ref: RefiNoteRef) -> Any:
    """The element a ``<NoteRef>`` for ``ref`` goes into (a selection is made when none matches)."""
    from lxml import etree

    if ref.kind == "project":
        return root
    wanted = norm_guid(ref.guid)
    tag = {"code": "Code", "source": "TextSource", "selection": "TextSource"}.get(ref.kind)
    if tag is None:
        return None
    found = next((el for el in root.iter(_tag(tag)) if norm_guid(el.get("guid", "")) == wanted), None)
    if found is None or ref.kind != "selection":
        return found
    for sel in found.iterfind(_tag("PlainTextSelection")):
        if sel.get("startPosition") == str(ref.start) and sel.get("endPosition") == str(ref.end):
            return sel
    count = len(found.findall(_tag("PlainTextSelection")))
    sel = etree.Element(_tag("PlainTextSelection"), guid=stable_guid("note-selection", wanted, str(ref.start),
                                                                     str(ref.end)),
                        startPosition=str(ref.start), endPosition=str(ref.end))
    found.insert(count, sel)
    return sel


def _add_note_ref(holder: Any, guid: str) -> None:
    """A ``<NoteRef>`` in ``holder`` where the schema's order wants it."""
    from lxml import etree

    note_ref = etree.Element(_tag("NoteRef"), targetGUID=guid)
    local = holder.tag.split("}")[-1]
    if local == "Project":
        holder.append(note_ref)
        return
    before = {"Code": ("Code",), "TextSource": ("VariableValue",), "PlainTextSelection": ()}[local]
    for i, child in enumerate(holder):
        if isinstance(child.tag, str) and child.tag in {_tag(n) for n in before}:
            holder.insert(i, note_ref)
            return
    holder.append(note_ref)


# -- read ----------------------------------------------------------------------------------------

def _value_text(value_el: Any) -> str | None:
    for tag in _VALUE_TAGS:
        found = value_el.find(_tag(tag))
        if found is not None:
            return (found.text or "").strip() or None
    return None


def _values(el: Any, variables: Mapping[str, str], warnings: list[str], label: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for value_el in el.iterfind(_tag("VariableValue")):
        ref = value_el.find(_tag("VariableRef"))
        guid = norm_guid(ref.get("targetGUID", "")) if ref is not None else ""
        if guid not in variables:
            warnings.append(f"{label}: line {value_el.sourceline}: a value of unknown variable {guid}; left out")
            continue
        text = _value_text(value_el)
        if text is not None:
            values[variables[guid]] = text
    return values


def read_variables(root: Any) -> dict[str, str]:
    """Normalised variable GUID -> variable name."""
    return {norm_guid(el.get("guid")): (el.get("name") or "").strip() or norm_guid(el.get("guid"))
            for el in root.iterfind(f"{_tag('Variables')}/{_tag('Variable')}")}


def read_cases(root: Any, sources: Mapping[str, str], warnings: list[str], label: str = "project.qde") -> list[RefiCase]:
    """The ``<Case>``\\ s, and each text source's own variable values as a document case.

    ``sources`` maps normalised source GUID -> source name.
    """
    variables = read_variables(root)
    cases: list[RefiCase] = []
    for el in root.iterfind(f"{_tag('Cases')}/{_tag('Case')}"):
        name = (el.get("name") or "").strip() or norm_guid(el.get("guid"))
        refs = tuple(r.get("targetGUID") for r in el.iterfind(_tag("SourceRef")))
        by = str(_pi_data(el, CASE_PI).get("by", ""))
        cases.append(RefiCase(el.get("guid"), name, _values(el, variables, warnings, label), refs,
                              by if by in ("speaker", "document") else ""))
    for el in root.iterfind(f"{_tag('Sources')}/{_tag('TextSource')}"):
        values = _values(el, variables, warnings, label)
        guid = norm_guid(el.get("guid"))
        if values and guid in sources:
            cases.append(RefiCase(el.get("guid"), sources[guid], values, (el.get("guid"),), "document"))
    return cases


def read_notes(root: Any, read_text: Callable[[str, str], str], to_positions: Callable[[str, int, int], tuple[int, int]],
               warnings: list[str], label: str = "project.qde") -> list[RefiNote]:
    """The ``<Note>``\\ s with what each is attached to.

    ``read_text(plainTextPath, where)`` reads a note kept as a file in the
    archive; ``to_positions(source_guid, start, end)`` maps a selection's
    positions to the (normalised) source text.
    """
    refs: dict[str, list[RefiNoteRef]] = {}
    for ref_el in root.iter(_tag("NoteRef")):
        parent = ref_el.getparent()
        local = parent.tag.split("}")[-1]
        if local == "Coding":
            parent = parent.getparent()
            local = parent.tag.split("}")[-1]
        target = norm_guid(ref_el.get("targetGUID", ""))
        if local == "Project":
            ref = RefiNoteRef("project")
        elif local == "Code":
            ref = RefiNoteRef("code", parent.get("guid"))
        elif local == "TextSource" and parent.getparent().tag == _tag("Sources"):
            ref = RefiNoteRef("source", parent.get("guid"))
        elif local == "PlainTextSelection" and parent.getparent().tag == _tag("TextSource"):
            source = parent.getparent().get("guid")
            start, end = to_positions(source, int(parent.get("startPosition")), int(parent.get("endPosition")))
            ref = RefiNoteRef("selection", source, start, end)
        else:
            warnings.append(f"{label}: line {ref_el.sourceline}: a note on a <{local}> is read as a project note")
            ref = RefiNoteRef("project")
        refs.setdefault(target, []).append(ref)
    notes: list[RefiNote] = []
    for el in root.iterfind(f"{_tag('Notes')}/{_tag('Note')}"):
        where = f"{label}: line {el.sourceline}: note {el.get('name') or el.get('guid')!r}"
        content = el.find(_tag("PlainTextContent"))
        if content is not None:
            text = content.text or ""
        elif el.get("plainTextPath"):
            text = read_text(el.get("plainTextPath"), where)
        else:
            warnings.append(f"{where} has no text; left out")
            continue
        own = list(refs.pop(norm_guid(el.get("guid")), []))
        memo = _pi_data(el, MEMO_PI)
        if memo.get("target") == "case" and memo.get("case"):
            own.append(RefiNoteRef("case", by=str(memo.get("by", "")), case=str(memo["case"])))
        extra = {str(k): str(v) for k, v in memo.items() if k not in ("target", "case", "by")}
        notes.append(RefiNote(el.get("guid"), (el.get("name") or "").strip(), text, el.get("creatingUser"),
                              el.get("creationDateTime"), el.get("modifiedDateTime"), tuple(own), extra))
    if refs:
        warnings.append(f"{label}: {sum(map(len, refs.values()))} note reference(s) to notes the file does not hold; "
                        "left out")
    return notes


__all__ = ["CASE_PI", "MEMO_PI", "add_cases_and_notes", "read_cases", "read_notes", "read_variables",
           "variable_guid"]
