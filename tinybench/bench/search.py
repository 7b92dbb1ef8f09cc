"""``tinybench search``: the co-design loop of the paper, as one call.

1. Contribution analysis (:mod:`tinybench.bench.search_contribution`): short fine-tuning runs on
   Dask, cached, stored as Parquet.
2. Search (:mod:`tinybench.bench.search_space`): the candidate of largest summed contribution
   whose predicted peak SRAM and latency fit the budgets.
3. The best scheme as a TOML file (:func:`scheme_toml`), accepted wherever a scheme is.
4. Verification (:func:`verify`): fine-tune it (and a scheme to compare with) over several seeds
   on Dask, and run one step of each in firmware for measured SRAM and cycles.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from tinybench.bench.search_contribution import AnalysisSetup, analyse, fine_tune_scheme, write_table
from tinybench.bench.search_space import Budget, BudgetError, Candidate, Evaluator, SearchResult, Space, search, too_small
from tinybench.errors import TinybenchError
from tinybench.estimate.batch import Configuration, estimate_configurations
from tinybench.graph.schemes import Scheme, get_scheme
from tinybench.models.zoo import DEFAULT_TRAIN_CLASSES, load_model


def predicted_peak(source: str, scheme: str, target: str, kernels: str) -> dict:
    """The estimator's prediction of a named scheme (for a budget given as a scheme)."""
    row = estimate_configurations([Configuration(source, scheme, target, kernels, steps=1)]).iloc[0]
    if row.status != "ok":
        raise TinybenchError(f"cannot predict scheme {scheme!r} on {target}: {row.reason}")
    return row.to_dict()


def scheme_toml(scheme: Scheme, model: str, comments: list[str]) -> str:
    """A scheme file (tinybench.graph.schemes' format), ratios written as fractions."""
    ratios = ", ".join(f'"{Fraction(r).limit_denominator(64)}"' for r in scheme.weight_update_ratio)
    lines = [f"# {c}" for c in comments] + [
        f'name = "{scheme.name}"', f'model = "{model}"', f"n_bias_update = {scheme.n_bias_update}",
        f"manual_weight_idx = [{', '.join(str(i) for i in scheme.manual_weight_idx)}]",
        f"weight_update_ratio = [{ratios}]", 'classifier = "full"']
    return "\n".join(lines) + "\n"


@dataclass
class Found:
    table: object  # the contribution table (DataFrame)
    table_path: Path
    result: SearchResult
    scheme: Scheme
    scheme_path: Path
    evaluator: Evaluator


def find_scheme(source: str, target: str, kernels: str, budget: Budget, setup: AnalysisSetup, client_factory,
                out_dir: Path, name: str, quiet: bool = False) -> Found:
    """Steps 1-3: analyse (or read the cache), search, write the table and the scheme file."""
    model = load_model(source, num_classes=DEFAULT_TRAIN_CLASSES, seed=setup.seed)
    check_feasible(source, target, kernels, budget, setup)  # before any fine-tuning
    table = analyse(model, setup, client_factory, quiet=quiet)
    table_path = write_table(table, out_dir / f"{model.name}-contributions.parquet")
    space = Space.from_table(table)
    config = Configuration(source, "", target, kernels, steps=1, lr=setup.lr, qas=setup.qas)
    evaluator = Evaluator(source, space, config, latency=budget.latency_ms is not None)
    result = search(evaluator, budget, seed=setup.seed)
    scheme = result.best.scheme(space.layers, name)
    p = result.predicted
    comments = [f"found by tinybench search for {model.name} on {target} ({kernels} kernels), "
                f"SRAM budget {budget.sram_bytes:,} B" + (f", latency budget {budget.latency_ms:g} ms"
                                                          if budget.latency_ms is not None else ""),
                f"predicted peak SRAM {p['peak_sram_bytes']:,} B, latency {p['latency_ms']:.1f} ms/step, "
                f"summed contribution {100 * p['score']:+.1f} points ({result.method} search, seed {setup.seed})"]
    scheme_path = out_dir / f"{model.name}-{name}.toml"
    scheme_path.write_text(scheme_toml(replace(scheme, model=None), model.name, comments))
    return Found(table, table_path, result, scheme, scheme_path, evaluator)


def check_feasible(source: str, target: str, kernels: str, budget: Budget, setup: AnalysisSetup) -> None:
    """Refuse a budget below the smallest step (the frozen forward and the classifier update)."""
    model = load_model(source, num_classes=DEFAULT_TRAIN_CLASSES, seed=setup.seed)
    space = Space(len(model.convs) - 1, (), (), {0: 0.0}, {})
    config = Configuration(source, "", target, kernels, steps=1, lr=setup.lr, qas=setup.qas)
    smallest = Evaluator(source, space, config, latency=budget.latency_ms is not None).exact(Candidate(0, ()))
    if not budget.admits(smallest):
        raise BudgetError(too_small(budget, smallest, source))


def verify(source: str, target: str, schemes: dict[str, str], seeds: int, setup: AnalysisSetup, client_factory,
           quiet: bool = False) -> dict[str, dict]:
    """Fine-tune each scheme (label -> spec) from ``seeds`` seeds (not the analysis' seed) for ``setup.steps`` steps, and
    run one step of each in firmware under iss: accuracy mean and std, measured peak SRAM and cycles."""
    from tinybench.bench.cell import CellConfig, run_cell
    from tinybench.bench.search_dask import map_tasks

    tasks = []
    for label, spec in schemes.items():
        for seed in verification_seeds(setup.seed, seeds):
            model = load_model(source, num_classes=DEFAULT_TRAIN_CLASSES, seed=seed)
            tasks.append((label, seed, get_scheme(spec, model), replace(setup, seed=seed), model))
    accuracy: dict[str, dict[int, float]] = {label: {} for label in schemes}
    with client_factory() as client:
        for task, result in map_tasks(client, _verify_task, tasks, desc="verification training", quiet=quiet):
            accuracy[task[0]][task[1]] = result["accuracy"]
    out = {}
    for label, spec in schemes.items():
        cell = run_cell(CellConfig(source, spec, target, steps=1, kernels="reference"))
        acc = np.array([accuracy[label][seed] for seed in sorted(accuracy[label])])
        out[label] = {"scheme": spec, "accuracy_mean": float(acc.mean()), "accuracy_std": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
                      "accuracies": acc.tolist(), "seeds": sorted(accuracy[label]), "steps": setup.steps, "eval_samples": setup.eval_samples,
                      "firmware_status": cell.status, "firmware_reason": cell.reason,
                      "measured_peak_sram_bytes": cell.measured.get("peak_sram_bytes"),
                      "measured_cycles": cell.measured.get("cycles"),
                      "predicted_peak_sram_bytes": cell.predicted.get("peak_sram_bytes"),
                      "predicted_cycles": cell.predicted.get("cycles")}
    return out


def verification_seeds(analysis_seed: int, count: int) -> list[int]:
    """Seeds other than the analysis' (its head, data order and test split chose the scheme)."""
    return [analysis_seed + 1 + i for i in range(count)]


def _verify_task(label: str, seed: int, scheme: Scheme, setup: AnalysisSetup, model) -> dict:
    return fine_tune_scheme(scheme, setup, model)


def summary(found: Found, budget: Budget, target: str, kernels: str) -> dict:
    r = found.result
    return {"model": found.table.attrs["provenance"]["model"], "target": target, "kernels": kernels,
            "budget": asdict(budget), "scheme_file": str(found.scheme_path), "table_file": str(found.table_path),
            "scheme": {"n_bias_update": found.scheme.n_bias_update, "manual_weight_idx": list(found.scheme.manual_weight_idx),
                       "weight_update_ratio": list(found.scheme.weight_update_ratio)},
            "predicted": _clean(r.predicted), "contribution": r.predicted["score"],
            "search": {"method": r.method, "space_size": r.space_size, "evaluated": r.evaluated,
                       "seconds": r.seconds, "seconds_per_candidate": found.evaluator.seconds / max(1, len(found.evaluator.seen))},
            "smallest_feasible_sram_bytes": r.smallest["peak_sram_bytes"], "admits_everything": r.admits_everything,
            "analysis": {"runs": len(found.table), "cached_runs": int(found.table.cached.sum()),
                         "run_seconds": float(found.table.seconds.sum()), "setup": found.table.attrs["provenance"]["setup"]}}


def _clean(d: dict) -> dict:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}
