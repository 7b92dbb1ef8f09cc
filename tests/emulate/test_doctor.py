"""doctor_report: what is installed, versions, and install hints for what is missing."""

from __future__ import annotations

import shutil

from tinybench.emulate.doctor import doctor_report, format_report


def test_report_lists_toolchains_and_backends():
    report = doctor_report()
    by_name = {e["name"]: e for e in report}
    for name in ("arm-none-eabi-gcc", "host-gcc", "iss", "qemu", "renode", "renode-test"):
        assert name in by_name
    for e in report:
        assert set(e) == {"name", "kind", "present", "version", "detail", "install_hint"}
        assert (e["install_hint"] is None) == e["present"]
    assert by_name["iss"]["present"] and "unicorn" in by_name["iss"]["version"]
    gcc = by_name["arm-none-eabi-gcc"]
    assert gcc["present"] == (shutil.which("arm-none-eabi-gcc") is not None)
    if not gcc["present"]:
        assert "gcc-arm-none-eabi" in gcc["install_hint"]
    renode = by_name["renode"]
    assert renode["present"] == (shutil.which("renode") is not None)
    if not renode["present"]:
        assert "github.com/renode/renode/releases" in renode["install_hint"]
    if by_name["qemu"]["present"]:
        assert "qemu-plugin" in by_name
        assert by_name["qemu"]["version"].startswith("QEMU emulator version")
    text = format_report(report)
    assert "renode" in text and "iss" in text
