# Sourced by scripts/run and scripts/test: finds Python >= 3.11, creates .venv and installs
# the project into it, again only when pyproject.toml (or the extras asked for) changed.

find_python() {
  local candidate
  for candidate in "${UAB_PYTHON:-}" python3.13 python3.12 python3.11 python3 python; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "error: Python 3.11 or newer is needed; install it or point UAB_PYTHON at it." >&2
  return 1
}

ensure_venv() {
  local extras="$1" python stamp
  if [ ! -x .venv/bin/python ]; then
    python=$(find_python)
    echo "Creating .venv with $("$python" --version)..."
    if ! "$python" -m venv .venv; then
      echo "error: could not create a virtual environment (on Debian/Ubuntu: apt-get install python3-venv)." >&2
      return 1
    fi
  fi
  stamp=".venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)-${extras:-base}"
  if [ ! -f "$stamp" ]; then
    echo "Installing ultimate-app-builder${extras:+[$extras]} into .venv..."
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras:+[$extras]}"
    rm -f .venv/.installed-*
    touch "$stamp"
  fi
  export PATH="$PWD/.venv/bin:$PATH"
}
