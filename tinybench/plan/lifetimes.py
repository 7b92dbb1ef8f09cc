"""Lifetime analysis: from a training graph's op list to arena buffers with live ranges.

Kept apart from placement (as TFLM keeps AllocationInfo apart from its planners) so every
planner sees the same buffers. A buffer holds one or more tensors at fixed offsets inside it:
an op that may write its output over an input (``TrainOp.inplace``) does so when that input
dies at the op. The op's ``overlap`` attribute says how far below the input the output must
start (0 for element-wise ops; a few rows for a convolution streaming over its input, see
``tinybench.graph.training.stream_overlap``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tinybench.graph.training import Category, TrainingGraph

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
        """Bytes this buffer spans at op ``op`` (0 if nothing in it is live)."""
        live = [p for p in self.parts.values() if p.first <= op <= p.last]
        if not live:
            return 0
        return max(p.offset + p.size for p in live) - min(p.offset for p in live)

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


def buffers(graph: TrainingGraph, inplace: bool = True) -> list[Buffer]:
    """Arena buffers of ``graph``; with ``inplace`` in-place ops share their input's buffer."""
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
            if inplace and src is not None and lives[src][1] == i:
                buf = owner[src]
                buf.add(t, buf.parts[src].offset - op.attrs.get("overlap", 0), graph.tensors[t].nbytes,
                        graph.tensors[t].category, *lives[t])
                owner[t] = buf
            else:
                owner[t] = new_buffer(t)
    return result
