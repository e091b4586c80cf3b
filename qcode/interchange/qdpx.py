"""REFI-QDA project archives (``.qdpx``): read into a plain :class:`RefiProject`, written from one.

Nothing is extracted to disk; every archive is opened through
:class:`qcode.safezip.SafeZip` (member names, sizes, zip bombs),
every ``project.qde`` is parsed safely and validated against the REFI schema,
and every archive written is validated before it is written (atomically).
Positions count Unicode code points of the plain text, which is what Python
``str`` indices count, so a coding's ``(start, end)`` is ``text[start:end]``.

>>> from qcode.codebook.model import Code, Codebook
>>> from qcode.interchange.model import code_guid
>>> proj = RefiProject("demo", [RefiUser(stable_guid("user", "al"), "al")], Codebook("demo", [Code("a", "Access")]),
...                    [RefiSource(stable_guid("source", "s"), "s.txt", "hello world")], [])
>>> proj.codings.append(RefiCoding(proj.sources[0].guid, 0, 5, code_guid("demo", proj.codebook.codes[0]),
...                                proj.users[0].guid))
>>> import io, zipfile
>>> sorted(zipfile.ZipFile(io.BytesIO(qdpx_bytes(proj))).namelist())[0]
'project.qde'
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .._io import atomic_write_bytes
from ..codebook.model import Code, Codebook
from ..errors import CodebookError, InterchangeError
from ..ingest.normalize import OffsetMap, normalize_text, normalize_with_offsets
from ..limits import current as current_limits
from ..safezip import SafeZip, ZipLimits, check_member_name
from ..version import __version__
from .casenotes import add_cases_and_notes, read_cases, read_notes, read_variables
from .codes import (
    apply_codebook_meta,
    codebook_meta_pi,
    codes_from_xml,
    codes_to_xml,
    nest_dotted_names,
    read_codebook_meta,
    repair_known_irregularities,
    slug,
)
from .model import PROJECT_NS, RefiCoding, RefiProject, RefiSource, RefiUser, norm_guid, stable_guid
from .xmlsafe import clean_xml_text, describe, parse_xml, validate_xml, xml_bytes


def _decode_source(data: bytes, label: str, source_name: str, fallback: str | None,
                   warnings: list[str]) -> str:
    """Decode a source's plain text: UTF-8 (BOM dropped); UTF-16 with a BOM; else ``fallback`` or an error."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        warnings.append(f"{label}: source {source_name!r} is UTF-16; decoded as such")
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if fallback:
            warnings.append(f"{label}: source {source_name!r} is not UTF-8 (byte 0x{data[exc.start]:02x} at offset "
                            f"{exc.start}); decoded as {fallback}: check its text")
            try:
                return data.decode(fallback)
            except (UnicodeDecodeError, LookupError) as exc2:
                raise InterchangeError(f"{label}: source {source_name!r} cannot be decoded as {fallback}: {exc2}") \
                    from None
        raise InterchangeError(f"{label}: source {source_name!r} is not UTF-8 (byte 0x{data[exc.start]:02x} at "
                               f"offset {exc.start}); re-export it as UTF-8 or name its encoding "
                               "(--source-encoding cp1252)") from None


def _normalise_source(text: str, label: str, name: str, nfc: bool,
                      warnings: list[str]) -> tuple[str, OffsetMap | None]:
    """Line breaks to ``\\n`` (and, with ``nfc``, accents composed as qcode's ingest does), positions mapped."""
    new, mapping = normalize_with_offsets(text, compose=nfc)
    if nfc and new != normalize_text(text):  # composition across characters: keep the text uncomposed
        new, mapping = normalize_with_offsets(text, compose=False)
        warnings.append(f"{label}: source {name!r}: text kept without Unicode (NFC) composition, "
                        "which would have needed context")
    if mapping is not None:
        what = "line breaks and accents" if nfc else "line breaks"
        warnings.append(f"{label}: source {name!r}: {what} normalised as qcode does "
                        "(positions adjusted to the same characters)")
    return new, mapping


def _member_for_path(zf: SafeZip, plain_path: str, label: str, where: str) -> str:
    """The archive member that a ``plainTextPath`` points at; external paths are refused."""
    if plain_path.startswith("internal://"):
        rel = plain_path[len("internal://"):]
        clean = check_member_name(rel, f"{label}: {where} plainTextPath")
        for candidate in (f"sources/{clean}", clean):
            found = zf.find(candidate)
            if found:
                return found
        raise InterchangeError(f"{label}: {where}: plainTextPath {plain_path!r} is not in the archive "
                               f"(no sources/{clean})")
    raise InterchangeError(f"{label}: {where}: plainTextPath {plain_path!r} points outside the archive "
                           "(only internal:// sources can be imported)")


def _find_project_member(zf: SafeZip, label: str) -> str:
    root_qde = [n for n in zf.names() if "/" not in n and n.lower().endswith(".qde")]
    if "project.qde" in root_qde:
        return "project.qde"
    if len(root_qde) == 1:
        return root_qde[0]
    raise InterchangeError(f"{label}: no project.qde at the top of the archive (not a REFI-QDA .qdpx)")


def refuse_repeated_guids(root, where: str) -> None:
    """Refuse a project in which two elements of any kind (users, sources, selections, codings, codes,
    sets, notes, cases, variables) carry one GUID: references to it would reach the wrong one."""
    seen: dict[str, Any] = {}
    for el in root.iter():
        guid = el.get("guid") if isinstance(el.tag, str) else None
        if not guid:
            continue
        key = norm_guid(guid)
        first = seen.setdefault(key, el)
        if first is not el:
            kind = first.tag.split("}")[-1]
            raise InterchangeError(f"{where} line {el.sourceline}: {describe(el)} repeats the GUID of the "
                                   f"<{kind}> on line {first.sourceline}; each element needs its own GUID")


def _users(root, label: str) -> list[RefiUser]:
    users = []
    for el in root.iter(f"{{{PROJECT_NS}}}User"):
        name = next(v.strip() for v in (el.get("name"), el.get("id"), el.get("guid")) if v and v.strip())
        users.append(RefiUser(guid=el.get("guid"), name=name))
    names = [u.name for u in users]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:  # two users with one name: keep them apart
        users = [RefiUser(u.guid, f"{u.name} ({norm_guid(u.guid)[:8]})") if u.name in dupes else u for u in users]
    return users


def _read_sources(root, zf: SafeZip, label: str, qde: str, encoding_fallback: str | None, nfc: bool,
                  warnings: list[str]) -> tuple[list[RefiSource], dict[str, OffsetMap | None], list[Any]]:
    """Text sources (with their texts) and the ``<TextSource>`` elements they came from."""
    sources, maps, elements = [], {}, []
    from_qcode = (root.get("origin") or "").startswith("qcode ")
    used_names: set[str] = set()
    skipped = {}
    for kind in ("PictureSource", "PDFSource", "AudioSource", "VideoSource"):
        n = len(root.findall(f".//{{{PROJECT_NS}}}{kind}"))
        if n:
            skipped[kind] = n
    if skipped:
        warnings.append(f"{label}: skipped non-text sources: " + ", ".join(f"{n} {k}" for k, n in skipped.items()))
    n_sources = sum(1 for _ in root.iterfind(f"{{{PROJECT_NS}}}Sources/{{{PROJECT_NS}}}TextSource"))
    if n_sources > current_limits().documents:
        raise InterchangeError(f"{label}: {n_sources} text sources, more than {current_limits().documents} "
                               f"({current_limits().hint('documents')})")
    for el in root.iterfind(f"{{{PROJECT_NS}}}Sources/{{{PROJECT_NS}}}TextSource"):
        where = f"{qde} line {el.sourceline}: {describe(el)}"
        name = next(v.strip() for v in (el.get("name"), el.get("guid")) if v and v.strip())
        content = el.find(f"{{{PROJECT_NS}}}PlainTextContent")
        path = el.get("plainTextPath")
        if content is not None and path:
            warnings.append(f"{label}: {where} has both PlainTextContent and plainTextPath; used the file")
        if path:
            member = _member_for_path(zf, path, label, where)
            text = _decode_source(zf.read(member), f"{label}: {member}", name, encoding_fallback, warnings)
        elif content is not None:
            text = content.text or ""
        else:
            raise InterchangeError(f"{label}: {where} has neither PlainTextContent nor plainTextPath")
        if from_qcode:  # qcode wrote it from a project: the text is exactly the document's
            mapping = None
        else:
            text, mapping = _normalise_source(text, label, name, nfc, warnings)
        if not text.strip():
            warnings.append(f"{label}: source {name!r} has no text")
        unique = name
        n = 1
        while unique in used_names:
            n += 1
            unique = f"{name} ({n})"
        if unique != name:
            warnings.append(f"{label}: two sources are called {name!r}; the second is imported as {unique!r}")
        used_names.add(unique)
        sources.append(RefiSource(guid=el.get("guid"), name=unique, text=text))
        maps[norm_guid(el.get("guid"))] = mapping
        elements.append(el)
    return sources, maps, elements


def _selection_user(sel, coding, source_el, root) -> str | None:
    for el, attr in ((coding, "creatingUser"), (sel, "creatingUser"), (source_el, "creatingUser"),
                     (root, "creatingUserGUID")):
        value = el.get(attr)
        if value:
            return value
    return None


def _read_codings(root, sources: list[RefiSource], source_els: list, maps: dict, code_ids: dict[str, str],
                  users: list[RefiUser], label: str, qde: str, warnings: list[str]) -> tuple[list[RefiCoding], list[RefiUser]]:
    """Check and collect every ``PlainTextSelection/Coding`` of the text sources."""
    codings: list[RefiCoding] = []
    known_users = {norm_guid(u.guid) for u in users}
    extra_users: dict[str, RefiUser] = {}
    whole_source, empty = 0, 0
    for source, el in zip(sources, source_els):
        mapping = maps[norm_guid(source.guid)]
        raw_len = mapping.old_length if mapping is not None else len(source.text)
        whole_source += len(el.findall(f"{{{PROJECT_NS}}}Coding"))
        for sel in el.iterfind(f"{{{PROJECT_NS}}}PlainTextSelection"):
            where = f"{label}: {qde} line {sel.sourceline}: {describe(sel)}"
            start, end = int(sel.get("startPosition")), int(sel.get("endPosition"))
            if start < 0 or end < 0:
                raise InterchangeError(f"{where} has a negative position ({start}, {end})")
            if start > end:
                raise InterchangeError(f"{where} startPosition {start} is after endPosition {end}")
            if end > raw_len:
                raise InterchangeError(f"{where} endPosition {end} is past the end of source {source.name!r} "
                                       f"({raw_len} characters)")
            if mapping is not None:
                start, end = mapping.floor[start], mapping.ceil[end]
            if start == end:
                empty += 1
                continue
            for coding in sel.iterfind(f"{{{PROJECT_NS}}}Coding"):
                ref = coding.find(f"{{{PROJECT_NS}}}CodeRef").get("targetGUID")
                if norm_guid(ref) not in code_ids:
                    raise InterchangeError(f"{label}: {qde} line {coding.sourceline}: {describe(coding)} refers to "
                                           f"code {ref}, which is not in the codebook")
                user = _selection_user(sel, coding, el, root)
                if user is None:
                    user = stable_guid("user", "unknown")
                    extra_users.setdefault(norm_guid(user), RefiUser(user, "unknown"))
                elif norm_guid(user) not in known_users and norm_guid(user) not in extra_users:
                    extra_users[norm_guid(user)] = RefiUser(user, f"user-{norm_guid(user)[:8]}")
                    warnings.append(f"{label}: {qde} line {coding.sourceline}: coding user {user} is not among "
                                    f"<Users>; imported as coder 'user-{norm_guid(user)[:8]}'")
                created = coding.get("creationDateTime") or sel.get("creationDateTime")
                codings.append(RefiCoding(source_guid=source.guid, start=start, end=end, code_guid=ref,
                                          user_guid=user, guid=sel.get("guid"), created=created))
    if whole_source:
        warnings.append(f"{label}: skipped {whole_source} codings of whole sources (not of a text selection)")
    if empty:
        warnings.append(f"{label}: skipped {empty} empty selections (startPosition == endPosition)")
    return codings, list(extra_users.values())


def read_qdpx(path: str | Path, encoding_fallback: str | None = None,
              limits: ZipLimits | None = None, nfc: bool = False) -> RefiProject:
    """Read, check and validate a REFI-QDA project archive into a :class:`RefiProject`.

    Nothing is extracted to disk. Raises :class:`InterchangeError` naming the
    archive member, line and element for: a file that is not a zip or lacks
    ``project.qde``; XML that is not well-formed or not valid; a source that is
    missing, outside the archive, or not UTF-8 (unless ``encoding_fallback``
    names its encoding); a selection outside its source; a code reference to an
    unknown GUID; member names that could escape a folder; zip bombs.

    Source texts keep their characters exactly; in files not written by qcode ``\\r\\n``, ``\\r``
    and Unicode line separators become ``\\n`` (positions moved to match).
    ``nfc=True`` also composes accents (NFC) as qcode's ingest does, moving
    positions to the same characters (a selection that ends inside a composed
    character is widened to the whole character).

    Example
    -------
    >>> import pathlib, tempfile
    >>> from qcode.codebook.model import Code, Codebook
    >>> proj = RefiProject("demo", [RefiUser(stable_guid("user", "al"), "al")], Codebook("demo", [Code("a", "Access")]),
    ...                    [RefiSource(stable_guid("source", "s"), "s.txt", "hello world")], [])
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "demo.qdpx"
    >>> _ = write_qdpx(proj, path)
    >>> back = read_qdpx(path)
    >>> len(back.codebook), [u.name for u in back.users], back.sources[0].text
    (1, ['al'], 'hello world')
    """
    path = Path(path)
    label = str(path)
    if not path.is_file():
        raise InterchangeError(f"{path}: no such file")
    warnings: list[str] = []
    with SafeZip(str(path), label, limits) as zf:
        qde = _find_project_member(zf, label)
        root = parse_xml(zf.read(qde), f"{label}: {qde}")
        if root.tag != f"{{{PROJECT_NS}}}Project":
            raise InterchangeError(f"{label}: {qde} line {root.sourceline}: root element is "
                                   f"<{root.tag.split('}')[-1]}>, expected <Project> in namespace {PROJECT_NS}")
        warnings += repair_known_irregularities(root, PROJECT_NS, f"{label}: {qde}")
        validate_xml(root, "project", f"{label}: {qde}")
        refuse_repeated_guids(root, f"{label}: {qde}")
        users = _users(root, label)
        codes_el = root.find(f"{{{PROJECT_NS}}}CodeBook/{{{PROJECT_NS}}}Codes")
        codes: list[Code] = []
        cb_el = root.find(f"{{{PROJECT_NS}}}CodeBook")
        meta = read_codebook_meta(cb_el, f"{label}: {qde}", warnings) if cb_el is not None else None
        if codes_el is not None:
            codes, more = codes_from_xml(codes_el, PROJECT_NS, f"{label}: {qde}", root.get("name"))
            warnings += more
            codes, more = nest_dotted_names(codes, f"{label}: {qde}")
            warnings += more
        name = root.get("name") or path.stem
        try:
            codebook = Codebook(name=slug(name), codes=codes, title=name,
                                source=f"REFI-QDA project {path.name}" + (f" (from {root.get('origin')})"
                                                                        if root.get("origin") else ""))
            if meta is not None:
                codebook = apply_codebook_meta(codebook, meta, None, f"{label}: {qde}", warnings)
        except CodebookError as exc:
            raise InterchangeError(f"{label}: {exc}") from None
        sources, maps, source_els = _read_sources(root, zf, label, qde, encoding_fallback, nfc, warnings)
        code_ids = {norm_guid(c.guid): c.id for c in codes if c.guid is not None}
        codings, extra_users = _read_codings(root, sources, source_els, maps, code_ids, users, label, qde, warnings)
        variables = list(dict.fromkeys(read_variables(root).values()))
        cases = read_cases(root, {norm_guid(s.guid): s.name for s in sources}, warnings, f"{label}: {qde}")

        def note_text(plain_path: str, where: str) -> str:
            member = _member_for_path(zf, plain_path, label, where)
            return _decode_source(zf.read(member), f"{label}: {member}", where, encoding_fallback, warnings)

        def to_positions(source_guid: str, start: int, end: int) -> tuple[int, int]:
            mapping = maps.get(norm_guid(source_guid))
            if mapping is None or not 0 <= start <= end <= mapping.old_length:
                return start, end
            return mapping.floor[start], mapping.ceil[end]

        notes = read_notes(root, note_text, to_positions, warnings, f"{label}: {qde}")
    return RefiProject(name=name, users=users + extra_users, codebook=codebook, sources=sources,
                       codings=codings, origin=root.get("origin") or "", warnings=warnings, variables=variables,
                       cases=cases, notes=notes)


# -- .qdpx: write ------------------------------------------------------------------------------------

def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def project_to_xml(proj: RefiProject, when: str | None = None):
    """The ``<Project>`` root of ``project.qde`` for ``proj`` (sources referenced as ``internal://<guid>.txt``)."""
    from lxml import etree

    when = when or _now()
    ns = PROJECT_NS
    root = etree.Element(f"{{{ns}}}Project", nsmap={None: ns}, name=clean_xml_text(proj.name),
                         origin=f"qcode {__version__}", creationDateTime=when)
    if proj.users:
        users_el = etree.SubElement(root, f"{{{ns}}}Users")
        for user in proj.users:
            etree.SubElement(users_el, f"{{{ns}}}User", guid=user.guid, name=clean_xml_text(user.name))
    if proj.codebook.codes:
        cb_el = etree.SubElement(root, f"{{{ns}}}CodeBook")
        cb_el.append(codebook_meta_pi(proj.codebook))
        codes_to_xml(etree.SubElement(cb_el, f"{{{ns}}}Codes"), proj.codebook, ns, proj.warnings)
    by_source: dict[str, list[RefiCoding]] = {}
    for coding in proj.codings:
        by_source.setdefault(norm_guid(coding.source_guid), []).append(coding)
    if proj.sources:
        sources_el = etree.SubElement(root, f"{{{ns}}}Sources")
        for source in proj.sources:
            src_el = etree.SubElement(sources_el, f"{{{ns}}}TextSource", guid=source.guid,
                                      name=clean_xml_text(source.name),
                                      plainTextPath=f"internal://{norm_guid(source.guid)}.txt",
                                      creationDateTime=when)
            _selections_xml(src_el, source, by_source.get(norm_guid(source.guid), []), when)
    add_cases_and_notes(root, proj.variables, proj.cases, proj.notes, when)
    return root


def _selections_xml(src_el, source: RefiSource, codings: list[RefiCoding], when: str) -> None:
    """One ``<PlainTextSelection>`` per (start, end, user), holding one ``<Coding>`` per code."""
    from lxml import etree

    ns = PROJECT_NS
    groups: dict[tuple[int, int, str], list[RefiCoding]] = {}
    for coding in sorted(codings, key=lambda c: (c.start, c.end, norm_guid(c.user_guid))):
        groups.setdefault((coding.start, coding.end, norm_guid(coding.user_guid)), []).append(coding)
    for (start, end, user), group in groups.items():
        sel_guid = stable_guid("selection", norm_guid(source.guid), str(start), str(end), user)
        first = group[0]
        sel = etree.SubElement(src_el, f"{{{ns}}}PlainTextSelection", guid=sel_guid, startPosition=str(start),
                               endPosition=str(end), creatingUser=first.user_guid,
                               creationDateTime=first.created or when)
        done: set[str] = set()
        for coding in group:
            if norm_guid(coding.code_guid) in done:
                continue
            done.add(norm_guid(coding.code_guid))
            cod = etree.SubElement(sel, f"{{{ns}}}Coding", guid=stable_guid("coding", sel_guid, coding.code_guid),
                                   creatingUser=coding.user_guid, creationDateTime=coding.created or when)
            etree.SubElement(cod, f"{{{ns}}}CodeRef", targetGUID=coding.code_guid)


def check_project(proj: RefiProject) -> None:
    """Raise if ``proj`` refers to unknown sources, codes or users, or has positions outside a source."""
    sources = proj.source_by_guid()
    codes = proj.code_ids()
    users = proj.user_names()
    for coding in proj.codings:
        source = sources.get(norm_guid(coding.source_guid))
        if source is None:
            raise InterchangeError(f"coding {coding} refers to unknown source {coding.source_guid}")
        if norm_guid(coding.code_guid) not in codes:
            raise InterchangeError(f"coding in source {source.name!r} refers to unknown code {coding.code_guid}")
        if norm_guid(coding.user_guid) not in users:
            raise InterchangeError(f"coding in source {source.name!r} refers to unknown user {coding.user_guid}")
        if not 0 <= coding.start < coding.end <= len(source.text):
            raise InterchangeError(f"coding ({coding.start}, {coding.end}) is outside source {source.name!r} "
                                   f"({len(source.text)} characters)")


def qdpx_bytes(proj: RefiProject, when: str | None = None) -> bytes:
    """The bytes of a validated .qdpx archive for ``proj``."""
    lim = current_limits()
    if len(proj.sources) > lim.documents or len(proj.sources) + 1 > lim.zip_members:
        raise InterchangeError(f"{proj.name}: {len(proj.sources)} documents, more than a .qdpx qcode can read back "
                               f"holds ({lim.hint('documents')})")  # the writer and the reader share the limits
    check_project(proj)
    root = project_to_xml(proj, when)
    validate_xml(root, "project", "project.qde (as written)")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", xml_bytes(root))
        for source in proj.sources:
            zf.writestr(f"sources/{norm_guid(source.guid)}.txt", source.text.encode("utf-8"))
    return buf.getvalue()


def write_qdpx(proj: RefiProject, path: str | Path) -> Path:
    """Write ``proj`` as a .qdpx archive (``project.qde`` + ``sources/<guid>.txt``), validated, atomically."""
    path = Path(path)
    atomic_write_bytes(path, qdpx_bytes(proj))
    return path


__all__ = ["check_project", "project_to_xml", "qdpx_bytes", "read_qdpx", "write_qdpx"]
