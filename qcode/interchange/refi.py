"""Moved: REFI-QDA exchange now lives in small modules, and this name re-exports them.

* :mod:`qcode.interchange.model`: the plain objects (:class:`RefiProject`, ...) and GUIDs;
* :mod:`qcode.interchange.xmlsafe`: safe XML parsing and schema validation;
* :mod:`qcode.interchange.codes`: codes and descriptions <-> XML;
* :mod:`qcode.interchange.qdc`: codebook files; :mod:`qcode.interchange.qdpx`: project archives;
* :mod:`qcode.project.bridge`: :func:`export_qdpx` / :func:`import_qdpx` to and from a project store
  (imported on first use: the interchange layer never imports the store).

>>> from qcode.interchange.refi import read_qdc, RefiProject   # still works
"""

from __future__ import annotations

import importlib
from typing import Any

from ..ingest.normalize import OffsetMap
from ..ingest.normalize import normalize_with_offsets as normalise_with_offsets
from .codes import (
    DescriptionFields,
    codebook_to_xml,
    codes_from_xml,
    decode_description,
    encode_description,
    nest_dotted_names,
)
from .codes import codes_to_xml as _codes_xml
from .codes import repair_known_irregularities as _repair_known_irregularities
from .codes import slug as _slug
from .model import (
    CODEBOOK_NS,
    PROJECT_NS,
    QCODE_GUID_NS,
    RefiCoding,
    RefiProject,
    RefiSource,
    RefiUser,
    code_guid,
    norm_guid,
    stable_guid,
)
from .qdc import qdc_bytes, read_qdc, read_qdc_bytes, write_qdc
from .qdpx import check_project, project_to_xml, qdpx_bytes, read_qdpx, write_qdpx
from .xmlsafe import clean_xml_text as _clean_xml_text
from .xmlsafe import describe as _describe
from .xmlsafe import parse_xml, schema_errors, validate_xml
from .xmlsafe import xml_bytes as _xml_bytes

_BRIDGED = ("export_qdpx", "import_qdpx")


def __getattr__(name: str) -> Any:
    if name in _BRIDGED:
        return getattr(importlib.import_module("qcode.project.bridge"), name)
    raise AttributeError(f"module 'qcode.interchange.refi' has no attribute {name!r}")


__all__ = ["RefiUser", "RefiSource", "RefiCoding", "RefiProject", "read_qdc", "write_qdc", "read_qdpx",
           "write_qdpx", "encode_description", "decode_description",
           "norm_guid", "stable_guid", "schema_errors", "validate_xml", "CODEBOOK_NS", "PROJECT_NS",
           "DescriptionFields", "OffsetMap", "QCODE_GUID_NS", "check_project", "code_guid", "codebook_to_xml",
           "codes_from_xml", "nest_dotted_names", "normalise_with_offsets", "parse_xml", "project_to_xml",
           "qdc_bytes", "qdpx_bytes", "read_qdc_bytes", "_clean_xml_text", "_codes_xml", "_describe",
           "_repair_known_irregularities", "_slug", "_xml_bytes"]
