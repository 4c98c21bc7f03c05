#!/usr/bin/env bash
# Install the third-party CSMS backends of the interop tests (tests/test_interop.py), one virtual
# environment each under .venv-interop/<name>, with every package pinned in
# tests/interop/requirements-<name>.txt. They are test-only peers: nothing of evsed imports them, and
# the tests run them as subprocesses with these environments' own interpreters.
#
# Idempotent: an environment whose stamp matches its requirements file is left as it is; any other is
# rebuilt from scratch (python3 -m venv --clear). pip runs --isolated so that only its default index
# (PyPI) is used, not a local wheel directory or extra index a machine's pip configuration may name.
# Needs no standard input. PYTHON chooses the interpreter (default python3, 3.11 or newer).
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-python3}"
BACKENDS=(ocpp-csms ocpp-broker)

install_backend() {
    local name="$1"
    local requirements="tests/interop/requirements-$name.txt"
    local venv=".venv-interop/$name"
    local stamp="$venv/requirements.sha256"
    local wanted
    wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
    if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
        echo "interop backend=$name venv=$venv state=up-to-date"
        return
    fi
    echo "interop backend=$name venv=$venv state=installing"
    "$PYTHON" -m venv --clear "$venv"
    "$venv/bin/python" -m pip install --isolated --no-input --disable-pip-version-check -q \
        -r "$requirements" </dev/null
    "$venv/bin/python" -m pip check --isolated
    echo "$wanted" >"$stamp"
    echo "interop backend=$name venv=$venv state=installed"
}

for backend in "${BACKENDS[@]}"; do
    install_backend "$backend"
done
