"""Exchange commands: ``qcode codebook import``, ``qcode codebook export`` and ``qcode import``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..project.ref import ProjectRef, project_ref
from .app import app, codebook_app


def _warn(warnings: list[str]) -> None:
    for line in warnings:
        typer.echo(f"warning: {line}", err=True)


@codebook_app.command("import")
def import_codebook(
    file: Path = typer.Argument(..., help="A REFI-QDA codebook file (.qdc)."),
    name: Optional[str] = typer.Option(None, "--name", "-n", help="Name of the codebook (default: the file name)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Where to write it: .yaml or .json "
                                                                 "(default: NAME.yaml here)."),
    force: bool = typer.Option(False, "--force", help="Overwrite --out if it exists."),
) -> None:
    """Convert a REFI-QDA codebook (.qdc from NVivo, ATLAS.ti, MAXQDA, ...) to a qcode codebook file.

    Hierarchy, descriptions, colours and GUIDs are kept; oddities of the file are printed as warnings.

    Example: qcode codebook import team-codes.qdc --name team --out team.yaml
    """
    from ..codebook.io import save_codebook
    from ..errors import InterchangeError
    from ..interchange.qdc import read_qdc

    if file.suffix.lower() != ".qdc":
        raise InterchangeError(f"{file}: expected a .qdc file (for a .qdpx project use `qcode import PROJECT FILE`)")
    warnings: list[str] = []
    cb = read_qdc(file, name=name, warnings=warnings)
    out = out or Path(f"{cb.name}.yaml")
    if out.exists() and not force:
        raise InterchangeError(f"{out}: already exists (use --force to overwrite, or --out another file)")
    save_codebook(cb, out)
    _warn(warnings)
    typer.echo(f"wrote {out}: codebook {cb.name!r}, {len(cb)} codes ({len(cb.leaves())} leaves, "
               f"{len(cb.roots())} top-level)")


@codebook_app.command("export")
def export_codebook(
    name: str = typer.Argument(..., help="A shipped codebook name, a .yaml/.json/.qdc file, or a project (its folder "
                                          "or postgresql:// URL)."),
    out: Path = typer.Option(..., "--out", "-o", help="The .qdc file to write."),
) -> None:
    """Write a codebook as a REFI-QDA codebook file (.qdc), validated against the REFI schema.

    Inclusion/exclusion criteria and examples travel in each code's description.

    Example: qcode codebook export mcn-sst --out mcn-sst.qdc
    """
    from ..codebook import load_codebook
    from ..errors import InterchangeError
    from ..interchange.qdc import write_qdc

    if out.suffix.lower() != ".qdc":
        raise InterchangeError(f"{out}: the output must be a .qdc file")
    ref = ProjectRef.parse(name)
    if ref.is_url or Path(name).is_dir():
        from ..project import open_project

        with open_project(ref.target) as project:
            cb = project.codebook
    else:
        cb = load_codebook(name)
    warnings = write_qdc(cb, out)
    _warn(warnings)
    typer.echo(f"wrote {out}: {len(cb)} codes")


@app.command("import")
def import_into_project(
    project: ProjectRef = typer.Argument(..., parser=project_ref, help="The project folder (created for .qdpx/.qdc if "
                                         "it holds no project), or a postgresql:// URL."),
    file: Path = typer.Argument(..., help="A .qdpx project, .qdc codebook, or .csv/.xlsx of codings."),
    coder: Optional[str] = typer.Option(None, "--coder", help="Spreadsheets: the coder of rows that name none."),
    shape: Optional[str] = typer.Option(None, "--shape", help="Spreadsheets: long or wide (default: detect)."),
    sheet: Optional[str] = typer.Option(None, "--sheet", help=".xlsx: the sheet to read (default: the first)."),
    source_encoding: Optional[str] = typer.Option(None, "--source-encoding",
                                                  help=".qdpx: decode sources that are not UTF-8 with this "
                                                       "encoding (e.g. cp1252), with a warning."),
    name: Optional[str] = typer.Option(None, "--name", help=".qdc: the codebook's name (default: file name)."),
    nfc: bool = typer.Option(False, "--nfc", help=".qdpx: compose accents (NFC) in source texts as qcode's ingest "
                                                  "does; positions move to the same characters."),
    map_coder: Optional[list[str]] = typer.Option(None, "--map-coder", help=".qdpx: FILE_USER=LOCAL_CODER, for a user "
                                                  "named like a local coder with another GUID (repeatable)."),
) -> None:
    """Import another tool's work into a project, all or nothing (by extension: .qdpx, .qdc, .csv, .xlsx).

    A .qdpx brings its sources (documents), users (coders), codebook and codings;
    a .qdc merges its codes into the project's codebook; a spreadsheet adds codings.

    Example: qcode import my-study nvivo-export.qdpx
    """
    from ..errors import InterchangeError
    from ..project.bridge import import_file

    mapping: dict[str, str] = {}
    for item in map_coder or []:
        user, sep, local = item.partition("=")
        if not sep or not user.strip() or not local.strip():
            raise InterchangeError(f"--map-coder {item!r}: expected FILE_USER=LOCAL_CODER")
        mapping[user.strip()] = local.strip()
    summary = import_file(project.target, file, coder=coder, shape=shape, sheet=sheet,
                          encoding_fallback=source_encoding, codebook_name=name, nfc=nfc, map_coder=mapping)
    _warn(summary.get("warnings", []))
    parts = []
    docs = summary.get("documents")
    if docs:
        parts.append(f"{len(docs['new'])} new, {len(docs['changed'])} changed, "
                     f"{len(docs['unchanged'])} unchanged documents")
    if "segments" in summary:
        parts.append(f"{summary['segments']} new turn segments (speaker turns found in the text)")
    if "codes_added" in summary:
        parts.append(f"{summary['codes_added']} codes added")
    if summary.get("coders"):
        parts.append(f"coders {', '.join(summary['coders'])}")
    if "codings" in summary:
        parts.append(f"{summary['codings']} codings recorded"
                     + (f" ({summary['already_present']} already present)" if summary.get("already_present") else ""))
    if summary.get("cases"):
        parts.append(f"{summary['cases']} cases ({summary.get('attribute_changes', 0)} attribute values changed)")
    if summary.get("memos"):
        parts.append(f"{summary['memos']} memos")
    typer.echo(f"imported {file} into {project}: " + "; ".join(parts))
