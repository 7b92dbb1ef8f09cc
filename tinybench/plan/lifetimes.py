"""Lifetime analysis: from a training graph's op list to arena buffers with live ranges.

Kept apart from placement (as TFLM keeps AllocationInfo apart from its planners) so every
planner sees the same buffers. A buffer holds one or more tensors at fixed offsets inside it:
an op that may write its output over an input (``TrainOp.inplace``) does so when that input
dies at the op. The op's ``overlap`` attribute says how far below the input the output must
start (0 for element-wise ops; a few rows for a convolution streaming over its input, see
``tinybench.graph.training.stream_overlap``).

A tensor that ops touch in byte ranges (``TrainOp.slices``: the row bands of a tiled prefix)
is split at those ranges into segments, each live only from the first to the last op that
touches it: the step input frees its rows as the bands pass, and the tensor the bands
assemble holds only the rows written so far.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from tinybench.graph.training import Category, TrainingGraph
from tinybench.plan.planners import covered, live_extents

#: Every buffer starts on a 4-byte boundary so int32 gradients and accumulators load as words.
ALIGNMENT = 4


def align(n: int, to: int = ALIGNMENT) -> int:
    return (n + to - 1) // to * to


@dataclass
class Part:
    """Bytes of one tensor (all of it, or a segment) inside a buffer, and their live range."""

    tensor: str
    offset: int  # in the buffer
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

    tensors: dict[str, int] = field(default_factory=dict)  # tensor -> its offset in the buffer
    parts: list[Part] = field(default_factory=list)

    @property
    def first(self) -> int:
        return min(p.first for p in self.parts)

    @property
    def last(self) -> int:
        return max(p.last for p in self.parts)

    def live_parts(self, op: int) -> list[Part]:
        return [p for p in self.parts if p.first <= op <= p.last]

    def live_at(self, op: int) -> bool:
        return bool(self.live_parts(op))

    def extent_at(self, op: int) -> int:
        """Bytes of this buffer live at op ``op`` (parts that overlap count once)."""
        return covered([(p.offset, p.size) for p in self.live_parts(op)])

    def category_at(self, op: int) -> Category:
        """Category of the newest tensor live in the buffer at op ``op``."""
        return max(self.live_parts(op), key=lambda p: p.first).category

    def add(self, name: str, offset: int, category: Category, segments: list[tuple[int, int, int, int]]) -> None:
        """Place ``name`` at ``offset`` (may be negative: the others move up) with its
        segments ``(offset in the tensor, size, first, last)``."""
        if offset < 0:
            for p in self.parts:
                p.offset -= offset
            self.tensors = {t: o - offset for t, o in self.tensors.items()}
            offset = 0
        self.tensors[name] = offset
        self.parts += [Part(name, offset + rel, size, first, last, category) for rel, size, first, last in segments]


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


def segments(graph: TrainingGraph, lives: dict[str, tuple[int, int]]) -> dict[str, list[tuple[int, int, int, int]]]:
    """Segments ``(offset, size, first, last)`` of every arena tensor.

    A tensor touched whole is one segment. One that ops touch in byte ranges is cut at their
    ends (on the alignment) and each piece lives from the first to the last op touching it;
    a piece of a step input (read before any op writes it) lives from the tensor's first use.
    """
    ranges: dict[str, list[tuple[int, int, int]]] = {}
    step_inputs: set[str] = set()
    for i, op in enumerate(graph.ops):
        for t in set(op.inputs) | set(op.outputs):
            if t not in ranges and t not in op.outputs:
                step_inputs.add(t)
            off, n = op.slices.get(t, (0, graph.tensors[t].nbytes))
            ranges.setdefault(t, []).append((i, off, off + n))
    sliced = {t for op in graph.ops for t in op.slices}
    result = {}
    for t, touches in ranges.items():
        size = align(graph.tensors[t].nbytes)
        if t not in sliced:
            result[t] = [(0, size, *lives[t])]
            continue
        cuts = sorted({0, size} | {lo // ALIGNMENT * ALIGNMENT for _, lo, _ in touches}
                      | {min(size, align(hi)) for _, _, hi in touches})
        pieces = []
        for lo, hi in zip(cuts, cuts[1:]):
            ops = [i for i, a, b in touches if a < hi and lo < b] or [lives[t][0]]
            pieces.append((lo, hi - lo, lives[t][0] if t in step_inputs else min(ops), max(ops)))
        result[t] = pieces
    return result


@dataclass
class Lifetimes:
    """Live range and segments of every arena tensor of a graph: what :func:`buffers` needs
    whichever in-place writes it takes, found once for the several sets a plan compares."""

    lives: dict[str, tuple[int, int]]
    segments: dict[str, list[tuple[int, int, int, int]]]

    @classmethod
    def of(cls, graph: TrainingGraph) -> "Lifetimes":
        lives = tensor_lifetimes(graph)
        return cls(lives, segments(graph, lives))


def buffers(graph: TrainingGraph, inplace: bool | Collection[int] = True,
            lifetimes: Lifetimes | None = None) -> list[Buffer]:
    """Arena buffers of ``graph``; in-place ops share their input's buffer: all of them
    (``inplace=True``), none (``False``) or those at the given op indices. ``lifetimes``:
    the graph's, if the caller has them."""
    lifetimes = lifetimes or Lifetimes.of(graph)
    lives, segs = lifetimes.lives, lifetimes.segments
    owner: dict[str, Buffer] = {}
    result: list[Buffer] = []

    def new_buffer(name: str) -> Buffer:
        buf = Buffer()
        buf.add(name, 0, graph.tensors[name].category, segs[name])
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
            if chains and src is not None and lives[src][1] == i and t not in op.slices:
                buf = owner[src]
                start = buf.tensors[src] + op.slices.get(src, (0, 0))[0] - op.attrs.get("overlap", 0)
                buf.add(t, start, graph.tensors[t].category, segs[t])
                owner[t] = buf
            else:
                owner[t] = new_buffer(t)
    return result


def live_bytes(bufs: list[Buffer], n_ops: int) -> list[int]:
    """Arena bytes live at each op (a buffer counts the bytes of its parts live there)."""
    live = [0] * n_ops
    delta = [0] * (n_ops + 1)  # single tensors: +size where they start, -size after they end
    for b in bufs:
        if len(b.parts) == 1:
            (p,) = b.parts
            delta[p.first] += p.size
            delta[p.last + 1] -= p.size
        else:
            first, extents = live_extents(b.parts)
            for i, n_bytes in enumerate(extents, start=first):
                live[i] += n_bytes
    run = 0
    for i in range(n_ops):
        run += delta[i]
        live[i] += run
    return live


def needed_inplace_ops(graph: TrainingGraph, floor: int, lifetimes: Lifetimes | None = None) -> set[int]:
    """Ops whose in-place write is needed to keep ``floor``, the live-bytes floor with every
    in-place write taken.

    An in-place write saves bytes only at its own op (the input dies there and the output
    starts there), but it ties the output to its input's place; an op where the two fit side
    by side under the floor is better left free for the planner.
    """
    free = live_bytes(buffers(graph, inplace=False, lifetimes=lifetimes), len(graph.ops))
    return {i for i, b in enumerate(free) if b > floor}
