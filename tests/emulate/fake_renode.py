"""A stand-in for the `renode` command line, for testing tinybench's Renode backend plumbing
where Renode cannot be installed. NOT Renode: it reads the per-run script the backend writes,
checks that it includes renode/run.resc, runs the ELF on tinybench's own ISS, writes the UART
file, and answers the monitor commands the backend types (ExecutedInstructions, PC, quit).
The real integration is tested by test_renode.py's real-Renode tests where `renode` exists.
"""

import re
import sys
from pathlib import Path


def main(argv):
    if "--version" in argv:
        print("Renode, version 0.0.0 (tinybench fake for tests)")
        return 0
    assert argv[:4] == ["--console", "--disable-xwt", "--plain", "-e"], argv
    script = Path(re.match(r"include @(.+)", argv[4]).group(1))
    text = script.read_text()
    var = dict(re.findall(r"^\$(\w+)=@(.+)$", text, re.M))
    run_resc = Path(re.search(r"^include @(.+)$", text, re.M).group(1))
    resc = run_resc.read_text()
    assert "sysbus.uart CreateFileBackend $uart_out true" in resc and "\nstart" in resc
    assert Path(var["platform"]).is_file()

    from tinybench.emulate import get_backend
    from tinybench.emulate.elfinfo import ElfInfo

    elf = ElfInfo.load(var["elf"])
    r = get_backend("iss").run(var["elf"], elf.target_name, instruction_budget=20_000_000)
    Path(var["uart_out"]).write_text(r.uart)
    print("(tinybench) ", flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        print(f"(tinybench) {cmd}", flush=True)
        if cmd == "sysbus.cpu ExecutedInstructions":
            print(r.instructions, flush=True)
        elif cmd == "sysbus.cpu PC":
            print(f"0x{(r.fault_pc or 0):X}", flush=True)
        elif cmd == "quit":
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
