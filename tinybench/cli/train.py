"""Fine-tune a model on the host with the integer kernels (offline digits task), with or without QAS."""

from __future__ import annotations

import argparse
import sys

from tinybench.cli.options import integer_in, positive_real
from tinybench.cli.output import format_table, print_json
from tinybench.graph.schemes import get_scheme, resolve
from tinybench.graph.training import Schedule, compile_training
from tinybench.kernels.executor import DEFAULT_LR, TrainingStep, host_c_kernels, numba_kernels
from tinybench.kernels.trainer import train
from tinybench.models.dataset import digits
from tinybench.models.zoo import load_model
from tinybench.plan.memory import plan_memory


def add_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="shipped model name or model file")
    p.add_argument("--scheme", required=True, help="published scheme, full, bias-only, last-K or a .toml file")
    p.add_argument("--steps", type=integer_in(0), default=200, help="SGD steps, batch 1 (default %(default)s)")
    p.add_argument("--lr", type=positive_real("a learning rate", 100.0), default=DEFAULT_LR,
                   help="learning rate, in (0, 100] (default %(default)s)")
    p.add_argument("--no-qas", action="store_true", help="plain int8 SGD, without quantization-aware scaling")
    p.add_argument("--eval-samples", type=integer_in(1), default=200,
                   help="test images evaluated before and after (default %(default)s)")
    p.add_argument("--kernels", choices=["numba", "c"], default="numba", help="kernel set on the host")
    p.add_argument("--schedule", choices=[s.value for s in Schedule], default=Schedule.REORDERED.value)
    p.add_argument("--seed", type=integer_in(0), default=0, help="seed of the new head and the data order")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    model = load_model(args.model, num_classes=10, seed=args.seed)
    graph = compile_training(model, resolve(get_scheme(args.scheme, model), model), args.schedule)
    kernels = numba_kernels() if args.kernels == "numba" else host_c_kernels()
    step = TrainingStep(plan_memory(graph), kernels, lr=args.lr, qas=not args.no_qas)
    size = model.input_shape[0]
    train_split, test_split = digits(size=size, seed=args.seed)
    from tqdm import tqdm

    with tqdm(total=args.steps, desc="training", unit="step", file=sys.stderr, disable=args.json) as bar:
        result = train(step, train_split, test_split, args.steps, args.eval_samples, args.seed, bar.update)
    summary = {
        "model": model.name, "scheme": graph.scheme.scheme.label, "steps": args.steps, "lr": args.lr,
        "qas": not args.no_qas, "kernels": args.kernels, "task": "digits (scikit-learn), 10 classes",
        "eval_samples": result.before.samples,
        "before": {"loss": result.before.loss, "accuracy": result.before.accuracy},
        "after": {"loss": result.after.loss, "accuracy": result.after.accuracy},
    }
    if args.json:
        print_json(summary)
        return 0
    print(f"{model.name} {summary['scheme']}, {args.steps} steps, lr {args.lr}, "
          f"{'QAS' if summary['qas'] else 'no QAS'}, {args.kernels} kernels, {result.before.samples} test images")
    print(format_table(["", "loss", "accuracy"], [
        ["before", f"{result.before.loss:.3f}", f"{100 * result.before.accuracy:.1f}%"],
        ["after", f"{result.after.loss:.3f}", f"{100 * result.after.accuracy:.1f}%"]]))
    return 0
