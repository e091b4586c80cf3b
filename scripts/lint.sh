#!/usr/bin/env bash
# CI lint step: ruff (style and likely bugs), mypy (types over qcode/), import-linter (the layering rules).
# Runs all three and fails if any of them fails. Needs the dev extra: pip install -e ".[dev]"
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
for tool in ruff mypy lint-imports; do
    if [ ! -x "$BIN/$tool" ]; then
        echo "lint: $BIN/$tool not found; install the dev extra: $BIN/pip install -e '.[dev]'" >&2
        exit 2
    fi
done
status=0
echo "== ruff"
"$BIN/ruff" check . || status=1
echo "== mypy"
"$BIN/mypy" || status=1
echo "== import-linter"
"$BIN/lint-imports" --no-cache || status=1
exit "$status"
