"""The install asks for CPU-only torch explicitly, and a resolution under an isolated pip
configuration contains no nvidia-* package (scripts/install.sh, scripts/check_cpu_install.py).

The resolution tests need an index: PyPI where the network reaches it; here, offline, the
machine's local mirror stands in for PyPI (it carries the CUDA torch build, nvidia-* packages
and all) and its wheel folder for PyTorch's CPU index. Without either they are skipped.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "check_cpu_install.py"
MIRROR = [Path("/opt/pypi/simple"), Path("/opt/pypi-more/simple")]
CPU_WHEELS = Path("/opt/wheels")


def _check_module():
    spec = importlib.util.spec_from_file_location("check_cpu_install", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _mirror_args() -> list[str]:
    if not MIRROR[0].is_dir():
        pytest.skip("no local package mirror to resolve against")
    args = ["--index-url", MIRROR[0].as_uri()]
    for extra in MIRROR[1:]:
        if extra.is_dir():
            args += ["--extra-index-url", extra.as_uri()]
    return args


def test_install_script_asks_for_the_cpu_torch_from_an_extra_index_that_fails_fast():
    settings = _check_module().install_settings()
    assert settings["TORCH_CPU_INDEX"].rstrip("/").endswith("/whl/cpu")
    assert re.fullmatch(r"\d+\.\d+\.\d+", settings["TORCH_VERSION"])
    text = (ROOT / "scripts" / "install.sh").read_text(encoding="utf-8")
    torch_lines = [line for line in text.splitlines() if "pip install" in line and '"torch==' in line]
    assert len(torch_lines) == 1
    line = torch_lines[0]
    assert '--extra-index-url "$TORCH_CPU_INDEX"' in line and '"torch==$TORCH_VERSION"' in line
    assert "--index-url " not in line.replace("--extra-index-url", "")  # the machine's own indexes stay in play
    assert "--timeout 5" in line and "--retries 0" in line
    assert text.index(line) < text.index('pip install -q -e ".[$EXTRAS]"')  # torch first, then qcode


def test_this_environment_has_no_cuda_packages():
    out = subprocess.run([sys.executable, str(SCRIPT), "--installed"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_cuda_findings_read_a_pip_report():
    check = _check_module()
    cuda_torch = {"metadata": {"name": "torch", "version": "2.14.1", "requires_dist": [
        'nvidia-cudnn-cu13==9.1; platform_system == "Linux"', "filelock", 'triton==3.5; platform_system == "Linux"']}}
    cpu_torch = {"metadata": {"name": "torch", "version": "2.13.0+cpu", "requires_dist": ["filelock", "sympy>=1.13"]}}
    nvidia = {"metadata": {"name": "nvidia-cublas-cu12", "version": "12.1"}}
    assert check.cuda_findings({"install": [cpu_torch]}) == []
    found = check.cuda_findings({"install": [nvidia, cuda_torch]})
    assert found[0] == "nvidia-cublas-cu12 12.1"
    if sys.platform == "linux":
        assert found[1].startswith("torch 2.14.1 is a CUDA build (requires nvidia-cudnn-cu13, triton)")


@pytest.mark.slow
def test_isolated_resolution_of_the_install_has_no_nvidia_package():
    if not CPU_WHEELS.is_dir() or not list(CPU_WHEELS.glob("torch-*+cpu-*.whl")):
        pytest.skip("no local CPU torch wheel to stand in for PyTorch's CPU index")
    out = subprocess.run(
        [sys.executable, str(SCRIPT), *_mirror_args(), "--find-links", str(CPU_WHEELS), "--stand-in-missing",
         "--extras", "test"],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout)
    assert report["count"] > 50
    assert not [n for n in report["would_install"] if n.startswith(("nvidia", "triton"))]
    assert [n for n in report["would_install"] if n.startswith("torch==")] == ["torch==2.13.0+cpu"]


@pytest.mark.slow
def test_the_check_catches_the_cuda_build_a_bare_torch_resolves_to():
    out = subprocess.run(
        [sys.executable, str(SCRIPT), *_mirror_args(), "--no-cpu-index", "--no-deps", "torch"],
        capture_output=True, text=True, timeout=600,
    )
    if out.returncode == 0 and "+cpu" in out.stdout:
        pytest.skip("the mirror serves only a CPU torch")
    assert out.returncode == 1, out.stderr[-2000:]
    assert "is a CUDA build" in out.stderr and "nvidia-" in out.stderr


def test_jupyter_comes_with_the_notebook_extra():
    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    names = {re.split(r"[<>=\[ ;]", req, maxsplit=1)[0] for req in extras["notebook"]}
    assert {"notebook", "ipykernel"} <= names
