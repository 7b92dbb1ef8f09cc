"""Which toolchains and emulator backends are usable here, with versions and install hints.

``doctor_report()`` returns one dict per component::

    {"name": "qemu", "kind": "backend", "present": True, "version": "QEMU emulator ...",
     "detail": "...", "install_hint": None}

``install_hint`` is None when the component is present.
"""

from __future__ import annotations

import shutil

from tinybench.codegen.build import find_gcc, toolchain_version
from tinybench.emulate.base import BACKENDS, get_backend
from tinybench.emulate.qemu import build_plugin
from tinybench.emulate.renode import INSTALL_HINT as RENODE_HINT
from tinybench.emulate.renode import check_platforms
from tinybench.external import first_output_line

HINTS = {
    "arm-none-eabi-gcc": ("apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi "
                          "(Debian/Ubuntu package names)"),
    "host-gcc": "apt-get install gcc (builds the QEMU instruction-counting plugin)",
    "qemu": "apt-get install qemu-system-arm",
    "qemu-plugin": "needs the host gcc and a qemu-system-arm built with TCG plugin support "
                   "(Debian's is)",
    "iss": "pip install unicorn capstone numba",
    "renode": RENODE_HINT,
    "renode-platforms": "see the error: renode/platforms/*.repl are written for Renode 1.15",
    "renode-test": ("ships with Renode (portable package: renode-test next to renode); its "
                    "Python requirements pin robotframework 6.1: pip install -r "
                    "<renode>/tests/requirements.txt"),
}


def _entry(name: str, kind: str, present: bool, version: str | None, detail: str) -> dict:
    return {"name": name, "kind": kind, "present": present, "version": version,
            "detail": detail, "install_hint": None if present else HINTS.get(name)}


def doctor_report(build_qemu_plugin: bool = True, load_renode_platforms: bool = True
                  ) -> list[dict]:
    """Presence, version and install hint of every toolchain and backend tinybench uses.

    ``build_qemu_plugin``: compile the QEMU plugin if it is not cached yet (a second or so),
    so that the report says whether instruction counting under QEMU works.
    ``load_renode_platforms``: load each of tinybench's Renode platforms in the Renode found
    (about 5 s each), so that the report says whether they work with that Renode.
    """
    report = []
    gcc = find_gcc()
    report.append(_entry("arm-none-eabi-gcc", "toolchain", gcc is not None,
                         toolchain_version(), gcc or "not on PATH"))
    host = shutil.which("gcc") or shutil.which("cc")
    report.append(_entry("host-gcc", "toolchain", host is not None,
                         first_output_line([host, "--version"]) if host else None,
                         host or "not on PATH"))
    for name in sorted(BACKENDS):
        backend = get_backend(name)
        ok, why = backend.available()
        report.append(_entry(name, "backend", ok, backend.version() if ok else None,
                             backend.description if ok else why))
        if name == "qemu" and ok:
            if build_qemu_plugin:
                path, msg = build_plugin()
                report.append(_entry("qemu-plugin", "component", path is not None,
                                     None, f"{path} ({msg})" if path else msg))
        if name == "renode" and ok and load_renode_platforms:
            report.append(_renode_platforms_entry(backend._exe()))
    rt = shutil.which("renode-test")
    report.append(_entry("renode-test", "tool", rt is not None, None,
                         rt or "not on PATH (runs renode/tests/*.robot)"))
    return report


def _renode_platforms_entry(exe: str) -> dict:
    loaded = check_platforms(exe)
    detail = "; ".join(f"{target}: " + ("loads" if error is None else f"does not load: {error}")
                       for target, error in loaded.items())
    return _entry("renode-platforms", "component", all(e is None for e in loaded.values()),
                  None, detail)


def format_report(report: list[dict]) -> str:
    lines = []
    for e in report:
        mark = "ok " if e["present"] else "-- "
        ver = f" [{e['version']}]" if e["version"] else ""
        lines.append(f"{mark}{e['name']:<18} {e['kind']:<9}{ver} {e['detail']}")
        if e["install_hint"]:
            lines.append(f"{'':22}install: {e['install_hint']}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(format_report(doctor_report()))
