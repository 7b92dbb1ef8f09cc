"""Lifetime analysis: from a training graph's op list to arena buffers with live ranges.

Kept apart from placement (as TFLM keeps AllocationInfo apart from its planners) so every
planner sees the same buffers. A buffer holds one or more tensors at fixed offsets inside it:
an op that may write its output over an input (``TrainOp.inplace``) does so when that input
dies at the op. The op's ``overlap`` attribute says how far below the input the output must
start (0 for element-wise ops; a few rows for a convolution streaming over its input, see
``tinybench.graph.training.stream_overlap``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from tinybench.graph.training import Category, TrainingGraph
from tinybench.plan.planners import covered

#: Every buffer starts on a 4-byte boundary so int32 gradients and accumulators load as words.
ALIGNMENT = 4


def align(n: int, to: int = ALIGNMENT) -> int:
    return (n + to - 1) // to * to


@dataclass
class Part:
    """One tensor inside a buffer: its offset in the buffer, its size and live range."""

    offset: int
    size: int
    first: int
    last: int
    category: Category


@dataclass
class Buffer:
    """Tensors placed together: a chain of in-place ops writing over their inputs.

    The planner moves a buffer as a whole but checks each part against others only while
    that part is live, so a chain costs what its live tensors need at each op, not the
    largest tensor it ever held.
    """

    parts: dict[str, Part] = field(default_factory=dict)

    @property
    def first(self) -> int:
        return min(p.first for p in self.parts.values())

    @property
    def last(self) -> int:
        return max(p.last for p in self.parts.values())

    @property
    def tensors(self) -> dict[str, int]:
        return {name: p.offset for name, p in self.parts.items()}

    def live_at(self, op: int) -> bool:
        return any(p.first <= op <= p.last for p in self.parts.values())

    def extent_at(self, op: int) -> int:
        """Bytes of this buffer live at op ``op`` (parts that overlap count once)."""
        return covered([(p.offset, p.size) for p in self.parts.values() if p.first <= op <= p.last])

    def category_at(self, op: int) -> Category:
        """Category of the newest tensor live in the buffer at op ``op``."""
        live = [p for p in self.parts.values() if p.first <= op <= p.last]
        return max(live, key=lambda p: p.first).category

    def add(self, name: str, offset: int, nbytes: int, category: Category, first: int, last: int) -> None:
        """Place ``name`` at ``offset`` (may be negative: the other parts move up)."""
        if offset < 0:
            for p in self.parts.values():
                p.offset -= offset
            offset = 0
        self.parts[name] = Part(offset, align(nbytes), first, last, category)


def tensor_lifetimes(graph: TrainingGraph) -> dict[str, tuple[int, int]]:
    """First op that writes (or first reads) and last op that reads, per arena tensor."""
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for i, op in enumerate(graph.ops):
        for t in op.outputs:
            first.setdefault(t, i)
            last[t] = max(last.get(t, i), i)
        for t in op.inputs:
            first.setdefault(t, i)
            last[t] = i
    return {t: (first[t], last[t]) for t in first}


def buffers(graph: TrainingGraph, inplace: bool | Collection[int] = True) -> list[Buffer]:
    """Arena buffers of ``graph``; in-place ops share their input's buffer: all of them
    (``inplace=True``), none (``False``) or those at the given op indices."""
    lives = tensor_lifetimes(graph)
    owner: dict[str, Buffer] = {}
    result: list[Buffer] = []

    def new_buffer(name: str) -> Buffer:
        t = graph.tensors[name]
        buf = Buffer()
        buf.add(name, 0, t.nbytes, t.category, *lives[name])
        result.append(buf)
        return buf

    for i, op in enumerate(graph.ops):
        for t in op.inputs:  # tensors first seen as inputs: the model input and scratch
            if t not in owner:
                owner[t] = new_buffer(t)
        for pos, t in enumerate(op.outputs):
            if t in owner:
                continue
            src = op.inplace if pos == 0 else None
            chains = inplace if isinstance(inplace, bool) else i in inplace
            if chains and src is not None and lives[src][1] == i:
                buf = owner[src]
                buf.add(t, buf.parts[src].offset - op.attrs.get("overlap", 0), graph.tensors[t].nbytes,
                        graph.tensors[t].category, *lives[t])
                owner[t] = buf
            else:
                owner[t] = new_buffer(t)
    return result


def live_bytes(bufs: list[Buffer], n_ops: int) -> list[int]:
    """Arena bytes live at each op (a buffer counts the span of its parts live there)."""
    live = [0] * n_ops
    delta = [0] * (n_ops + 1)  # single tensors: +size where they start, -size after they end
    for b in bufs:
        if len(b.parts) == 1:
            (p,) = b.parts.values()
            delta[p.first] += p.size
            delta[p.last + 1] -= p.size
        else:
            for i in range(b.first, b.last + 1):
                live[i] += b.extent_at(i)
    run = 0
    for i in range(n_ops):
        run += delta[i]
        live[i] += run
    return live


def needed_inplace_ops(graph: TrainingGraph, floor: int) -> set[int]:
    """Ops whose in-place write is needed to keep ``floor``, the live-bytes floor with every
    in-place write taken.

    An in-place write saves bytes only at its own op (the input dies there and the output
    starts there), but it ties the output to its input's place; an op where the two fit side
    by side under the floor is better left free for the planner.
    """
    free = live_bytes(buffers(graph, inplace=False), len(graph.ops))
    return {i for i, b in enumerate(free) if b > floor}
