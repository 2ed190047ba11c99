# Sourced by scripts/run, scripts/test and scripts/lint: create .venv and install the project when
# pyproject.toml changed. EXTRAS picks the optional dependencies: scripts/run sets none (no dev tools in
# production), scripts/test and scripts/lint install "dev". The caller's directory is kept in CALLER_DIR.
set -euo pipefail
CALLER_DIR="$(pwd)"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "Plumbline needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1))." >&2
  exit 1
fi
EXTRAS="${EXTRAS-dev}"
VENV="$ROOT/.venv"
STAMP="$VENV/.plumbline-installed"
HASH="$("$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())' < pyproject.toml)"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
HAVE="$(cat "$STAMP" 2>/dev/null || true)"
# A venv installed with dev extras also serves scripts/run; one installed without them does not serve tests.
if [ "$HAVE" != "$HASH-$EXTRAS" ] && { [ -n "$EXTRAS" ] || [ "${HAVE%-*}" != "$HASH" ]; }; then
  echo "Installing Plumbline and its dependencies into .venv ..." >&2
  "$VENV/bin/python" -m pip install -qq --disable-pip-version-check --upgrade pip >&2
  "$VENV/bin/python" -m pip install -qq --disable-pip-version-check -e ".${EXTRAS:+[$EXTRAS]}" >&2
  echo "$HASH-$EXTRAS" > "$STAMP"
fi
