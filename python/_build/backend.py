# SPDX-License-Identifier: MIT
"""A PEP 517 build backend for the buddy package, standard library only.

It builds the C library with CMake (the repository's own build, so the same
flags and sources) and puts it in the wheel beside the ctypes package, so
`import buddy` needs no BUDDY_LIBRARY. It needs cmake and a C compiler, and
nothing from a package index: `pip install ./python` works offline.
"""
import base64
import hashlib
import os
import re
import shutil
import subprocess
import sysconfig
import tempfile
import zipfile
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent  # python/
ROOT = PACKAGE.parent                              # the repository
NAME = "buddy"


def _version():
    text = (ROOT / "CMakeLists.txt").read_text()
    return re.search(r"project\(buddy VERSION (\d+\.\d+\.\d+)", text).group(1)


def _tag():
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return f"py3-none-{platform}"


def _metadata():
    summary = "A binary buddy allocator: ranges, heaps and the seed's BuddyMemoryManager"
    return (f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {_version()}\nSummary: {summary}\n"
            "License: MIT\nRequires-Python: >=3.8\n")


def _build_library(work):
    """Builds libbuddy.so with CMake in `work`; returns its path."""
    if shutil.which("cmake") is None:
        raise RuntimeError("building buddy needs cmake and a C compiler (apt-get install cmake gcc)")
    build = Path(work) / "build"
    subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                    "-DBUDDY_BUILD_TESTS=OFF", "-DBUDDY_BUILD_TOOLS=OFF", "-DBUDDY_BUILD_BENCH=OFF",
                    "-DBUDDY_INSTALL=OFF"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", str(build), "--target", "buddy_shared", "-j", "2"],
                   check=True, stdout=subprocess.DEVNULL)
    built = sorted(build.glob("libbuddy.so.*.*.*")) or sorted(build.glob("libbuddy.*"))
    if not built:
        raise RuntimeError(f"the CMake build made no libbuddy in {build}")
    return built[0]


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _write_wheel(directory, files):
    """Writes a wheel of `files` ({name in the wheel: bytes}); returns its file name."""
    dist_info = f"{NAME}-{_version()}.dist-info"
    files = dict(files)
    files[f"{dist_info}/METADATA"] = _metadata().encode()
    files[f"{dist_info}/WHEEL"] = (f"Wheel-Version: 1.0\nGenerator: buddy _build/backend.py\n"
                                   f"Root-Is-Purelib: false\nTag: {_tag()}\n").encode()
    files[f"{dist_info}/top_level.txt"] = f"{NAME}\n".encode()
    record = [_record_line(name, data) for name, data in files.items()]
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel_name = f"{NAME}-{_version()}-{_tag()}.whl"
    with zipfile.ZipFile(Path(directory) / wheel_name, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if name.endswith(".so") else 0o644) << 16
            wheel.writestr(info, data)
    return wheel_name


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = {f"{NAME}/{path.name}": path.read_bytes()
             for path in sorted((PACKAGE / NAME).iterdir()) if path.suffix in (".py", ".typed")}
    with tempfile.TemporaryDirectory() as work:
        files[f"{NAME}/libbuddy.so"] = _build_library(work).read_bytes()
    return _write_wheel(wheel_directory, files)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """An editable install: a .pth file puts python/ on the path; the library is
    built into python/buddy/ (git ignores it) so the package finds it there."""
    with tempfile.TemporaryDirectory() as work:
        shutil.copyfile(_build_library(work), PACKAGE / NAME / "libbuddy.so")
    return _write_wheel(wheel_directory, {f"_{NAME}_editable.pth": f"{PACKAGE}\n".encode()})
