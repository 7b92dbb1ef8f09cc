// tinybench: measurements of one firmware run under Renode, written to a results file.
//
// Loaded by run.resc with `include @tinybench_probe.cs` (Renode compiles it on the fly), it adds
// two monitor commands to every CPU:
//
//   sysbus.cpu TinybenchProbe @results.txt
//       Hooks the first instruction of the firmware's `tb_mark` (if the ELF has one) and of
//       `tb_end`. At each call of tb_mark(event) it records the event id (r0) and
//       ExecutedInstructions, i.e. the instructions executed before tb_mark's first one; at
//       tb_end(status) it records the status (r0) and the count, and writes the file.
//   sysbus.cpu TinybenchSnapshot
//       Writes the file now (for a run that did not end: the PC says where it is).
//
// Why a file and not the monitor: Renode's console interleaves asynchronous log lines with
// monitor answers, so numbers read from it can be corrupted. The file is written whole to a
// temporary name and then renamed, so a reader never sees half of it. Its lines:
//
//   tinybench-probe 1
//   mark <event> <instructions>        (one per tb_mark call, in order)
//   end <status> <instructions>        (when tb_end was reached)
//   state <ended|running> pc=0x<hex> instructions=<n>
//
// Renode has no cycle model, so nothing here is a cycle count.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Antmicro.Renode.Exceptions;
using Antmicro.Renode.Peripherals;
using Antmicro.Renode.Peripherals.CPU;

namespace Antmicro.Renode.Tinybench
{
    public static class TinybenchProbeExtensions
    {
        public static void TinybenchProbe(this ICpuSupportingGdb cpu, string resultsPath)
        {
            if(probes.ContainsKey(cpu))
            {
                throw new RecoverableException("TinybenchProbe is already attached to this CPU");
            }
            var probe = new Probe(cpu, resultsPath);
            probes[cpu] = probe;
            var symbols = cpu.GetMachine().SystemBus.GetLookup(cpu);
            if(symbols.TryGetSymbolsByName("tb_mark", out var marks))
            {
                foreach(var symbol in marks)
                {
                    cpu.AddHook(symbol.Start.RawValue & ~1UL, (c, pc) => probe.Mark());
                }
            }
            if(!symbols.TryGetSymbolsByName("tb_end", out var ends))
            {
                throw new RecoverableException("the loaded ELF has no tb_end symbol: not a tinybench firmware");
            }
            foreach(var symbol in ends)
            {
                cpu.AddHook(symbol.Start.RawValue & ~1UL, (c, pc) => probe.End());
            }
            probe.Write();
        }

        public static void TinybenchSnapshot(this ICpuSupportingGdb cpu)
        {
            if(!probes.TryGetValue(cpu, out var probe))
            {
                throw new RecoverableException("TinybenchProbe is not attached to this CPU");
            }
            probe.Write();
        }

        private static readonly Dictionary<ICpuSupportingGdb, Probe> probes = new Dictionary<ICpuSupportingGdb, Probe>();

        private class Probe
        {
            public Probe(ICpuSupportingGdb cpu, string path)
            {
                this.cpu = cpu;
                this.path = Path.GetFullPath(path);
            }

            public void Mark()
            {
                marks.Add(new KeyValuePair<ulong, ulong>(cpu.GetRegister(0).RawValue, cpu.ExecutedInstructions));
            }

            public void End()
            {
                endStatus = cpu.GetRegister(0).RawValue;
                endInstructions = cpu.ExecutedInstructions;
                ended = true;
                Write();
            }

            public void Write()
            {
                var text = new StringBuilder();
                text.Append("tinybench-probe 1\n");
                foreach(var mark in marks)
                {
                    text.AppendFormat("mark {0} {1}\n", mark.Key, mark.Value);
                }
                if(ended)
                {
                    text.AppendFormat("end {0} {1}\n", endStatus, endInstructions);
                }
                text.AppendFormat("state {0} pc=0x{1:X} instructions={2}\n", ended ? "ended" : "running",
                                  cpu.PC.RawValue, cpu.ExecutedInstructions);
                var temporary = path + ".tmp";
                File.WriteAllText(temporary, text.ToString());
                if(File.Exists(path))
                {
                    File.Replace(temporary, path, null);
                }
                else
                {
                    File.Move(temporary, path);
                }
            }

            private readonly ICpuSupportingGdb cpu;
            private readonly string path;
            private readonly List<KeyValuePair<ulong, ulong>> marks = new List<KeyValuePair<ulong, ulong>>();
            private bool ended;
            private ulong endStatus;
            private ulong endInstructions;
        }
    }
}
