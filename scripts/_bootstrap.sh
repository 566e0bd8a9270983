# Shared by scripts/test and scripts/start (sourced, from the repository root):
# create .venv with python3 if missing and (re)install the project with its test extra
# when the venv is new or pyproject.toml changed since the last install.

PYTHON="${PYTHON:-python3}"
stamp=".venv/.pyproject.sha256"

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "SEUS needs Python 3.11 or newer as '$PYTHON' (set PYTHON=... to choose another)." >&2
    exit 1
fi

if [ ! -x .venv/bin/python ]; then
    echo "Creating .venv with $("$PYTHON" --version)..." >&2
    "$PYTHON" -m venv .venv
    rm -f "$stamp"
fi

wanted="$(.venv/bin/python -c 'import hashlib; print(hashlib.sha256(open("pyproject.toml", "rb").read()).hexdigest())')"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    echo "Installing the project and its test tools into .venv..." >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
    echo "$wanted" > "$stamp"
fi
