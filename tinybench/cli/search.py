"""Search the sparse-update scheme that learns most within an SRAM (and latency) budget.

Contribution analysis (short fine-tuning runs on Dask, cached and resumable), then a search over
schemes maximising summed contribution with predicted peak SRAM and latency within the budgets;
writes the best scheme as a TOML file and the contribution table as Parquet. ``--verify``
fine-tunes the found scheme (and ``--compare``) over seeds and runs one step in firmware."""

from __future__ import annotations

import argparse
import functools
import re
from pathlib import Path

from tinybench.bench.search import find_scheme, predicted_peak, summary, verify
from tinybench.bench.search_contribution import AnalysisSetup
from tinybench.bench.search_dask import dask_client
from tinybench.bench.search_space import Budget
from tinybench.cli.options import integer_in, positive_real
from tinybench.cli.output import format_table, print_json
from tinybench.codegen.firmware import KERNEL_SETS
from tinybench.codegen.targets import TARGETS
from tinybench.errors import TinybenchError
from tinybench.estimate.calibration import CalibrationError

_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|k)?\s*", re.I)


def _size(text: str) -> int:
    """Bytes: 123456, 120KB / 120KiB / 120k (1024 bytes each)."""
    m = _SIZE.fullmatch(text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected bytes such as 131072 or 128KB, got {text!r}")
    value = float(m.group(1)) * (1024 if m.group(2) and m.group(2).lower() != "b" else 1)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 byte, got {text!r}")
    return int(value)


def add_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="shipped model name or model file")
    p.add_argument("--target", required=True, choices=sorted(TARGETS))
    budget = p.add_mutually_exclusive_group(required=True)
    budget.add_argument("--sram-budget", type=_size, metavar="SIZE", help="peak SRAM, bytes or KB (1024)")
    budget.add_argument("--sram-budget-of", metavar="SCHEME",
                        help="the predicted peak SRAM of this scheme (e.g. 99kb) is the budget")
    p.add_argument("--latency-budget", type=positive_real("milliseconds"), metavar="MS",
                   help="predicted latency of one step on the target, ms (needs the kernel set's calibration)")
    p.add_argument("--kernels", choices=KERNEL_SETS, default="reference",
                   help="C kernel set predicted and run (default %(default)s: calibrated on both targets)")
    p.add_argument("--steps", type=integer_in(1), default=AnalysisSetup.steps,
                   help="SGD steps of each fine-tuning run (default %(default)s)")
    p.add_argument("--eval-samples", type=integer_in(1), default=AnalysisSetup.eval_samples,
                   help="test images each run is scored on (default %(default)s)")
    p.add_argument("--layers", type=integer_in(1, 16), default=AnalysisSetup.layers,
                   help="candidate weight layers (default %(default)s)")
    p.add_argument("--seed", type=integer_in(0), default=0, help="head, data order and search seed")
    p.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler (default: a local cluster)")
    p.add_argument("--workers", type=integer_in(1, 64), default=2, help="local cluster processes (default %(default)s)")
    p.add_argument("--out", type=Path, default=None, help="folder of the table and the scheme file "
                   "(default results/generated/search under the current folder)")
    p.add_argument("--name", default="search", help="name of the found scheme (default %(default)s)")
    p.add_argument("--verify", action="store_true", help="fine-tune the found scheme over seeds and run it in firmware")
    p.add_argument("--compare", metavar="SCHEME", help="with --verify: also verify this scheme (e.g. the published 99kb)")
    p.add_argument("--verify-seeds", type=integer_in(2), default=3, help="seeds of --verify (default %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    quiet = args.quiet or args.json
    if args.latency_budget is not None:
        _require_calibration(args.target, args.kernels)
    sram = args.sram_budget
    if sram is None:
        sram = int(predicted_peak(args.model, args.sram_budget_of, args.target, args.kernels)["peak_sram_bytes"])
    budget = Budget(sram, args.latency_budget)
    setup = AnalysisSetup(steps=args.steps, eval_samples=args.eval_samples, layers=args.layers, seed=args.seed)
    out_dir = args.out or Path("results") / "generated" / "search"
    out_dir.mkdir(parents=True, exist_ok=True)
    clients = functools.partial(dask_client, args.scheduler, args.workers)
    found = find_scheme(args.model, args.target, args.kernels, budget, setup, clients, out_dir, args.name, quiet)
    result = summary(found, budget, args.target, args.kernels)
    if args.verify:
        schemes = {"found": str(found.scheme_path)}
        if args.compare:
            schemes["compare"] = args.compare
        result["verification"] = verify(args.model, args.target, schemes, args.verify_seeds, setup, clients, quiet)
    if args.json:
        print_json({"status": "ok", **result})
        return 0
    _print(result)
    return 0


def _require_calibration(target: str, kernels: str) -> None:
    from tinybench.estimate.batch import _calibration

    try:
        _calibration(target, kernels)
    except CalibrationError as err:
        raise TinybenchError(f"--latency-budget: no latency budget possible without a calibration of the "
                             f"{kernels} kernels on {target} ({err}); use --kernels reference") from None


def _print(r: dict) -> None:
    p, s = r["predicted"], r["search"]
    print(f"{r['model']} on {r['target']} ({r['kernels']} kernels): SRAM budget {r['budget']['sram_bytes']:,} B"
          + (f", latency budget {r['budget']['latency_ms']:g} ms" if r["budget"]["latency_ms"] else ""))
    print(f"contribution table: {r['table_file']} ({r['analysis']['runs']} runs, {r['analysis']['cached_runs']} cached)")
    print(f"search: {s['method']}, {s['evaluated']:,} of {s['space_size']:,} candidates screened in {s['seconds']:.1f} s "
          f"({1000 * s['seconds_per_candidate']:.1f} ms each)")
    if r["admits_everything"]:
        print("the budget admits every candidate of the space: the answer is the best-scoring scheme overall")
    sc = r["scheme"]
    print(f"best scheme: {r['scheme_file']}: n_bias_update {sc['n_bias_update']}, weights {sc['manual_weight_idx']} "
          f"at {[f'{x:g}' for x in sc['weight_update_ratio']]}")
    print(f"predicted: peak SRAM {p['peak_sram_bytes']:,} B (smallest feasible {r['smallest_feasible_sram_bytes']:,} B), "
          f"latency {p['latency_ms']:.1f} ms/step, summed contribution {100 * r['contribution']:+.1f} points")
    for label, v in r.get("verification", {}).items():
        print(format_table(["scheme", "accuracy", "status", "peak SRAM measured", "cycles measured"], [[
            f"{label} ({v['scheme']})", f"{100 * v['accuracy_mean']:.1f} ± {100 * v['accuracy_std']:.1f}%",
            v["firmware_status"], f"{v['measured_peak_sram_bytes'] or 0:,}", f"{v['measured_cycles'] or 0:,}"]]))
