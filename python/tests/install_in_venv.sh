#!/bin/sh
# SPDX-License-Identifier: MIT
# install_in_venv.sh PYTHON SOURCE WORK: makes a fresh virtual environment in
# WORK, runs `pip install --no-index SOURCE/python` in it (offline: the build
# backend is in the tree), then imports buddy from another folder with no
# BUDDY_LIBRARY and no path hack, and uses it. Exits 77 (skipped) with the
# reason where this Python cannot make a virtual environment with pip.
set -eu
python=$1 source=$2 work=$3
rm -rf "$work"
if ! why=$("$python" -m venv "$work/venv" 2>&1); then
    echo "skipped: $python cannot make a virtual environment with pip (python3-venv?):"
    echo "$why" | tail -n 2
    exit 77
fi
"$work/venv/bin/python" -m pip install --no-index --disable-pip-version-check -q "$source/python"
mkdir -p "$work/elsewhere"
cd "$work/elsewhere"
env -u BUDDY_LIBRARY -u PYTHONPATH "$work/venv/bin/python" - <<'PY'
import buddy, pathlib, sys
where = pathlib.Path(buddy.library_path).resolve()
assert pathlib.Path(sys.prefix).resolve() in where.parents, where  # the copy the wheel installed
m = buddy.BuddyMemoryManager(32)
assert (m.malloc(4), m.malloc(9), str(m)) == (0, 16, "((([0:4](4:4))(8:8))[16:16])")
with buddy.Heap(bytearray(1 << 16)) as heap:
    heap.free(heap.malloc(100))
print(f"buddy {buddy.__version__} installed and imported from {where}")
PY
