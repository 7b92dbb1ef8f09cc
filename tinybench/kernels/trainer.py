"""Fine-tuning on the host with the integer kernels: the engine behind ``tinybench train``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from tinybench.kernels.executor import TrainingStep
from tinybench.kernels.host import softmax_ce_loss
from tinybench.models.dataset import Split


@dataclass
class Evaluation:
    loss: float
    accuracy: float
    samples: int


@dataclass
class TrainingRun:
    before: Evaluation | None  # None when not asked for (a scheme search compares runs from one start)
    after: Evaluation
    steps: int
    train_loss: list[float] = field(default_factory=list)  # loss of each step's own forward


def evaluate(step: TrainingStep, split: Split, samples: int) -> Evaluation:
    """Mean cross-entropy and top-1 accuracy of the int8 forward on the first ``samples``."""
    head = step.graph.model.classifier
    n = min(samples, len(split.labels))
    losses, correct = [], 0
    for image, label in zip(split.images[:n], split.labels[:n]):
        logits = step.forward(image)
        losses.append(softmax_ce_loss(logits, head.y.scale, head.y.zero_point, int(label)))
        correct += int(np.argmax(logits) == label)
    return Evaluation(float(np.mean(losses)), correct / n, n)


def train(step: TrainingStep, train_split: Split, test_split: Split, steps: int, eval_samples: int,
          seed: int = 0, progress: Callable[[int], None] | None = None, evaluate_before: bool = True) -> TrainingRun:
    """Run ``steps`` SGD steps (batch 1) over a seeded shuffle of the training split."""
    head = step.graph.model.classifier
    before = evaluate(step, test_split, eval_samples) if evaluate_before else None
    order = np.random.default_rng(seed).permutation(len(train_split.labels))
    losses = []
    for i in range(steps):
        j = order[i % len(order)]
        label = int(train_split.labels[j])
        logits = step.step(train_split.images[j], label)
        losses.append(softmax_ce_loss(logits, head.y.scale, head.y.zero_point, label))
        if progress:
            progress(1)
    return TrainingRun(before, evaluate(step, test_split, eval_samples), steps, losses)
