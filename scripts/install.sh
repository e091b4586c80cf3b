#!/usr/bin/env bash
# Create .venv and install qcode with its test extras, CPU-only torch first.
set -euo pipefail
cd "$(dirname "$0")/.."
# qcode serve's browser tests drive Debian's chromium (Playwright's own browser download cannot work offline)
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# the team-project tests start a real PostgreSQL server (Debian's binaries, a throwaway data folder)
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# The CPU wheel lies on local disk; a bare `torch` requirement would pull a multi-GB CUDA build.
python -m pip install -q torch==2.13.0
python -m pip install -q -e ".[test,docs]"
echo "qcode installed in .venv ($(python -c 'import qcode; print(qcode.__version__)'))"
