"""Check that installing qcode the way scripts/install.sh does pulls no CUDA (nvidia-*) packages.

Two modes:

``python scripts/check_cpu_install.py``
    Resolves, without installing anything, the requirements that install.sh
    asks for -- ``torch==VERSION`` from PyTorch's CPU index (an extra index,
    5 s timeout, no retries) plus qcode's own dependencies and extras -- under
    ``pip install --isolated --dry-run --report``, so no pip configuration of
    this machine (local wheel folders, mirrors) takes part. Prints what would
    be installed and exits 1 if any nvidia-* package, or a torch whose
    requirements name nvidia-* packages for this platform, is among it.
    ``--index-url``/``--find-links`` choose where packages come from (default:
    PyPI); ``--stand-in-missing`` lets a package the indexes lack be stood in
    for by the metadata of its installed copy (offline runs against a mirror).

``python scripts/check_cpu_install.py --installed``
    Looks at the current environment instead and exits 1 if any nvidia-*
    package is installed or torch is a CUDA build.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

ROOT = Path(__file__).resolve().parents[1]
INSTALL_SH = ROOT / "scripts" / "install.sh"
PYPI = "https://pypi.org/simple"
CUDA_PREFIXES = ("nvidia-", "nvidia_", "cuda-", "triton")


def install_settings(script: Path = INSTALL_SH) -> dict[str, str]:
    """The torch version and CPU index that install.sh asks for (its ``${VAR:-default}`` lines)."""
    text = script.read_text(encoding="utf-8")
    found = {}
    for key in ("TORCH_VERSION", "TORCH_CPU_INDEX"):
        match = re.search(rf"^{key}=\$\{{[A-Z_]+:-([^}}]+)\}}", text, re.MULTILINE)
        if match is None:
            raise SystemExit(f"{script}: no {key}=${{...:-default}} line")
        found[key] = match.group(1)
    return found


def project_requirements(extras: list[str]) -> list[str]:
    """qcode's dependencies plus those of ``extras``, read from pyproject.toml."""
    try:
        import tomllib
    except ImportError:  # Python 3.10: the installed copy's metadata says the same
        wanted = set(extras)
        out = []
        for req in metadata.requires("qcode") or []:
            extra = re.search(r"""extra\s*==\s*['"]([^'"]+)['"]""", req)
            if extra is None or extra.group(1) in wanted:
                out.append(re.sub(r";\s*extra\s*==\s*['\"][^'\"]+['\"]", "", req).strip())
        return out
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = list(project["dependencies"])
    for extra in extras:
        reqs += project.get("optional-dependencies", {}).get(extra, [])
    return reqs


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;@(]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _applies(requirement: str) -> bool:
    """Whether a Requires-Dist line applies on this machine without any extra."""
    from packaging.requirements import Requirement

    marker = Requirement(requirement).marker
    return marker is None or marker.evaluate({"extra": ""})


def cuda_findings(report: dict) -> list[str]:
    """nvidia-*/CUDA packages in a pip report, and torch builds whose requirements name them here."""
    found = []
    for item in report.get("install", []):
        name = item["metadata"]["name"].lower()
        version = item["metadata"]["version"]
        if name.startswith(CUDA_PREFIXES):
            found.append(f"{name} {version}")
        if name == "torch":
            requires = item["metadata"].get("requires_dist") or []
            cuda = sorted({_name(r) for r in requires if _name(r).startswith(CUDA_PREFIXES) and _applies(r)})
            if cuda:
                found.append(f"torch {version} is a CUDA build (requires {', '.join(cuda)})")
    return found


def _stand_in_wheel(name: str, folder: Path) -> bool:
    """Write a metadata-only wheel of the installed ``name`` (its real METADATA) into ``folder``."""
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    canonical = re.sub(r"[-_.]+", "_", dist.metadata["Name"]).lower()
    info = f"{canonical}-{dist.version}.dist-info"
    files = {
        f"{info}/METADATA": dist.read_text("METADATA") or "",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: qcode-check\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in [*files, f"{info}/RECORD"])
    with zipfile.ZipFile(folder / f"{canonical}-{dist.version}-py3-none-any.whl", "w") as wheel:
        for path, text in files.items():
            wheel.writestr(path, text)
    return True


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _offered_locally(name: str, index_urls: list[str], find_links: list[str]) -> bool:
    """Whether a local (``file://``) simple index or a find-links folder has any file of ``name``."""
    canonical = _canonical(name)
    for url in index_urls:
        if url.startswith("file:") and (Path(url2pathname(urlparse(url).path)) / canonical).is_dir():
            return True
    for place in find_links:
        folder = Path(place)
        if folder.is_dir() and any(_canonical(f.name.split("-", 1)[0]) == canonical for f in folder.iterdir()):
            return True
    return False


def resolve(requirements: list[str], index_url: str, extra_index: list[str], find_links: list[str],
            no_deps: bool = False, stand_in_missing: bool = False) -> tuple[dict, list[str]]:
    """pip's resolution of ``requirements`` under an isolated configuration (nothing is installed).

    With ``stand_in_missing``, a package the indexes lack is stood in for by a metadata-only wheel
    of its installed copy, so its real requirements still take part; returns the report and the
    names stood in that the resolution uses. Against a local mirror (a ``file://`` main index),
    every installed package that no local index or folder has is stood in before the first
    resolution, so that pip runs once rather than once per missing package.
    """
    stood_in: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        stand_ins = Path(tmp) / "stand-ins"
        stand_ins.mkdir()
        if stand_in_missing and index_url.startswith("file:"):
            local = [index_url, *extra_index]
            for dist in metadata.distributions():
                name = dist.metadata["Name"]
                if name and name not in stood_in and not _offered_locally(name, local, find_links) \
                        and _stand_in_wheel(name, stand_ins):
                    stood_in.append(name)
        cmd = [sys.executable, "-m", "pip", "install", "--isolated", "--dry-run", "--ignore-installed", "--quiet",
               "--disable-pip-version-check", "--report", str(report), "--index-url", index_url,
               "--timeout", "5", "--retries", "0", "--find-links", str(stand_ins)]
        for url in extra_index:
            cmd += ["--extra-index-url", url]
        for place in find_links:
            cmd += ["--find-links", place]
        if no_deps:
            cmd.append("--no-deps")
        while True:
            proc = subprocess.run([*cmd, *requirements], capture_output=True, text=True)
            if proc.returncode == 0:
                resolved = json.loads(report.read_text(encoding="utf-8"))
                used = {_canonical(item["metadata"]["name"]) for item in resolved.get("install", [])}
                return resolved, [name for name in stood_in if _canonical(name) in used]
            missing = re.search(r"No matching distribution found for ([A-Za-z0-9._-]+)", proc.stderr)
            if not (stand_in_missing and missing and missing.group(1) not in stood_in
                    and _stand_in_wheel(missing.group(1), stand_ins)):
                errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
                raise SystemExit("pip could not resolve the install: " + (" / ".join(errors) or proc.stderr[-500:]))
            stood_in.append(missing.group(1))


def installed_findings() -> list[str]:
    found = []
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name.startswith(CUDA_PREFIXES):
            found.append(f"{name} {dist.version}")
    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        return found
    if "+cu" in torch_version or any(f.startswith("nvidia") for f in found):
        found.append(f"torch {torch_version} is a CUDA build")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--installed", action="store_true", help="check the current environment instead")
    parser.add_argument("--extras", default="test", help="comma-separated extras to resolve (default: test)")
    parser.add_argument("--index-url", default=PYPI, help="the main index (default: PyPI)")
    parser.add_argument("--no-cpu-index", action="store_true", help="leave out install.sh's CPU index and torch pin (what a bare `pip install` gets)")
    parser.add_argument("--extra-index-url", action="append", default=[])
    parser.add_argument("--find-links", action="append", default=[])
    parser.add_argument("--stand-in-missing", action="store_true",
                        help="offline runs against a partial mirror: a package the indexes lack is stood in for by "
                             "a metadata-only wheel of its installed copy (its real requirements)")
    parser.add_argument("--no-deps", action="store_true", help="resolve the named requirements only")
    parser.add_argument("requirement", nargs="*", help="resolve these instead of qcode's requirements")
    args = parser.parse_args(argv)

    if args.installed:
        found = installed_findings()
        for line in found:
            print(f"CUDA package installed: {line}", file=sys.stderr)
        if not found:
            print("no nvidia-* packages installed; torch (if any) is a CPU build")
        return 1 if found else 0

    settings = install_settings()
    extras = [e for e in args.extras.split(",") if e]
    reqs = args.requirement or project_requirements(extras)
    extra_index = list(args.extra_index_url)
    if not args.no_cpu_index:
        reqs = [f"torch=={settings['TORCH_VERSION']}", *reqs]
        extra_index.append(settings["TORCH_CPU_INDEX"])
    report, stood_in = resolve(reqs, args.index_url, extra_index, args.find_links, no_deps=args.no_deps,
                               stand_in_missing=args.stand_in_missing)
    names = sorted(f"{i['metadata']['name']}=={i['metadata']['version']}" for i in report.get("install", []))
    print(json.dumps({"would_install": names, "count": len(names), "stood_in": stood_in}, indent=1))
    found = cuda_findings(report)
    for line in found:
        print(f"CUDA package in the install: {line}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
