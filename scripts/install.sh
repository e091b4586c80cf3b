#!/usr/bin/env bash
# Create .venv and install qcode with its test extras, CPU-only torch first.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# The CPU wheel lies on local disk; a bare `torch` requirement would pull a multi-GB CUDA build.
python -m pip install -q torch==2.13.0
python -m pip install -q -e ".[test]"
echo "qcode installed in .venv ($(python -c 'import qcode; print(qcode.__version__)'))"
