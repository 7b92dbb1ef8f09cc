"""A stand-in for the `renode` command line, for testing tinybench's Renode backend plumbing
where Renode cannot be installed. NOT Renode: it reads the per-run script the backend writes,
checks that it includes renode/run.resc (which must load the probe and attach it), runs the ELF
on tinybench's own ISS, writes the UART file and a results file in the probe's format, and
answers the monitor commands the backend types (pause, TinybenchSnapshot, quit).

A platform file containing the line `// fake-renode: fail` makes it print the error Renode 1.15
printed for a platform that did not load (copied from a real run) and wait for input, as
Renode does. The real integration is tested by test_renode.py's real-Renode tests.
"""

import re
import sys
from pathlib import Path

E15 = """There was an error executing command 'machine LoadPlatformDescription $platform'
Error E15: Ambiguous choice of default interrupt.
There are the following properties of GPIO type available: [IRQ, ReceiveDmaRequest].
At {platform}:30:5:
    -> nvic@37
    ^
"""


def probe_text(marks, end, state, pc, instructions) -> str:
    lines = ["tinybench-probe 1"] + [f"mark {e} {n}" for e, n in marks]
    if end is not None:
        lines.append(f"end {end[0]} {end[1]}")
    lines.append(f"state {state} pc=0x{pc:X} instructions={instructions}")
    return "\n".join(lines) + "\n"


def main(argv):
    if "--version" in argv:
        print("Renode, version 0.0.0 (tinybench fake for tests)")
        return 0
    assert argv[:5] == ["--console", "--disable-xwt", "--plain", "--hide-log", "-e"], argv
    script = Path(re.match(r"include @(.+)", argv[5]).group(1))
    text = script.read_text()
    var = dict(re.findall(r"^\$(\w+)=@(.+)$", text, re.M))
    assert re.search(r"^logFile @.+$", text, re.M)
    run_resc = Path(re.search(r"^include @(.+)$", text, re.M).group(1))
    resc = run_resc.read_text()
    for line in ("include $ORIGIN/tinybench_probe.cs", "sysbus.cpu TinybenchProbe $results",
                 "sysbus.uart CreateFileBackend $uart_out true", "\nstart"):
        assert line in resc, line
    assert (run_resc.parent / "tinybench_probe.cs").is_file()
    platform = Path(var["platform"])
    print(f"(monitor) include @{script}", flush=True)
    if "// fake-renode: fail" in platform.read_text():
        print(E15.format(platform=platform), end="", flush=True)
        return answer_monitor(lambda: None)

    from tinybench.emulate import get_backend
    from tinybench.emulate.elfinfo import ElfInfo

    elf = ElfInfo.load(var["elf"])
    r = get_backend("iss").run(var["elf"], elf.target_name, instruction_budget=20_000_000)
    results = Path(var["results"])
    marks = [(m.event, m.instructions) for m in r.markers]
    if r.report.end_status is not None:
        end = (("ok", "fault", "error").index(r.report.end_status), r.instructions)
        results.write_text(probe_text(marks, end, "ended", 0, r.instructions))
    else:
        results.write_text(probe_text(marks, None, "running", 0, 0))
    Path(var["uart_out"]).write_text(r.uart)
    print("Starting emulation...", flush=True)

    def snapshot():
        results.write_text(probe_text(marks, None, "running", r.fault_pc or 0, r.instructions))

    return answer_monitor(snapshot)


def answer_monitor(snapshot) -> int:
    for line in sys.stdin:
        cmd = line.strip()
        print(f"(tinybench) {cmd}", flush=True)
        if cmd == "sysbus.cpu TinybenchSnapshot":
            snapshot()
        elif cmd == "quit":
            print("Renode is quitting", flush=True)
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
