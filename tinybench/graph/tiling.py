"""Tiled execution of the frozen high-resolution prefix of a training step.

The first blocks of the forward run at 64x64 and 32x32 and set the arena, while everything
from the loss on needs far less. They are frozen and lie before the earliest updating layer,
so nothing of them is kept for the backward: they can run on row bands, as patch-based
inference does (MCUNetV2), so that their full feature maps never exist at once. Only the one
tensor they pass on (``output``) is assembled whole, band by band.

How a band runs on the existing kernels, unchanged: HWC rows are contiguous, so a band of
rows is a tensor of its own (``h`` rows, same width and channels), or a byte range of a
whole one (``TrainOp.slices``). A convolution (kernel k, stride s, padding p = k//2) called
on input rows ``[lo, hi)`` computes output rows ``[lo/s, ceil(hi/s))`` when ``lo`` is a
multiple of s; rows whose window crosses a band edge that is not an edge of the image read
the kernel's zero-point padding instead of real rows and are wrong, so each band op's input
band carries a halo: for output rows ``[a, b)`` it needs rows ``[a*s - p, (b-1)*s - p + k)``,
its start rounded down to a multiple of s. Working backwards from ``output``'s band through
the prefix gives every tensor's band per tile; a consumer reads the rows it needs from its
producer's band at a row offset, and the wrong edge rows are never read. ``output``'s rows
are written straight into it when its producer computes exactly the tile's rows (a pointwise
convolution or an add), else copied there with ``tb_channel_copy_fwd_s8`` (k = c: a plain
copy). Every value is computed by the same kernel on the same inputs as untiled, so the step
is bit-identical; the cost is the halo rows, computed twice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tinybench.errors import TinybenchError
from tinybench.graph.training import Category, Tensor, Tiling, TrainingGraph, TrainOp, stream_overlap
from tinybench.models.ir import Conv, convs_by_name

#: Op kinds a band can run: forward ops of one tensor each, on HWC feature maps.
TILEABLE_KINDS = ("conv_fwd", "pwdw_fwd", "add_fwd")

Rows = tuple[int, int]  # [first, end) rows


@dataclass
class TiledPrefix:
    """The ops and tensors that replace the first ``tiling.ops`` ops of a graph."""

    tiling: Tiling
    ops: list[TrainOp]
    tensors: dict[str, Tensor]


class TilingError(TinybenchError, ValueError):
    """A tiling that cannot run or cannot be read (names the ops or the text and the reason)."""


def tiling_cuts(graph: TrainingGraph) -> list[int]:
    """Every n for which the first n ops can run per band (n >= 1).

    The ops must be tileable forward ops of frozen layers with no mask or saved output, the
    step input must be read by them only, and exactly one tensor they make may be read later:
    the last op's output, the tensor the bands assemble.
    """
    prefix = 0  # the tileable ops lead the step
    for op in graph.ops:
        if (op.kind not in TILEABLE_KINDS or len(op.outputs) != 1 or _updates(graph, op)
                or len(graph.tensors[op.outputs[0]].shape) != 3 or op.slices):
            break
        prefix += 1
    later_reads = _reads_from(graph, prefix)
    cuts = []
    produced: set[str] = set()
    for n, op in enumerate(graph.ops[:prefix], start=1):
        produced.add(op.outputs[0])
        crossing = (produced | {graph.model.input}) & later_reads[n]
        if crossing == {op.outputs[0]} and graph.tensors[op.outputs[0]].shape[0] >= 2:
            cuts.append(n)
    return cuts


def tile_prefix(graph: TrainingGraph, ops: int, tiles: int) -> TrainingGraph:
    """``graph`` with its first ``ops`` ops run on ``tiles`` row bands (bit-identical results)."""
    if graph.tiling is not None:
        raise TilingError("the graph is already tiled")
    prefix = tiled_prefix(graph, ops, tiles)
    rest = graph.ops[ops:]
    used = {t for op in rest for t in op.inputs + op.outputs}
    tensors = {n: t for n, t in graph.tensors.items() if n in used} | prefix.tensors
    return replace(graph, ops=prefix.ops + rest, tensors=tensors, tiling=prefix.tiling)


def tiled_prefix(graph: TrainingGraph, ops: int, tiles: int) -> TiledPrefix:
    """The band ops that replace ``graph.ops[:ops]``, tile after tile."""
    if ops not in tiling_cuts(graph):
        raise TilingError(f"the first {ops} ops of {graph.model.name} cannot run per band (tileable prefixes: "
                          f"{', '.join(map(str, tiling_cuts(graph))) or 'none'})")
    region = graph.ops[:ops]
    output = region[-1].outputs[0]
    height = graph.tensors[output].shape[0]
    if not 2 <= tiles <= height:
        raise TilingError(f"{tiles} tiles for {output} of {height} rows: use 2 to {height}")
    builder = _BandBuilder(graph, output)
    for t in range(tiles):
        builder.tile(region, t, (t * height // tiles, (t + 1) * height // tiles))
    return TiledPrefix(Tiling(ops, tiles, output), builder.ops, builder.tensors)


def _reads_from(graph: TrainingGraph, upto: int) -> list[set[str]]:
    """``reads[n]``, n <= ``upto``: tensors read by ops n and later."""
    reads = [set().union(*(op.inputs for op in graph.ops[upto:]))]
    for n in range(upto - 1, -1, -1):
        reads.append(reads[-1] | set(graph.ops[n].inputs))
    return reads[::-1]


def _updates(graph: TrainingGraph, op: TrainOp) -> bool:
    layers = [op.layer] + ([op.attrs["pointwise"]] if op.kind == "pwdw_fwd" else [])
    convs = convs_by_name(graph.model)
    return any(layer in convs and convs[layer].index in graph.scheme.updates for layer in layers)


def window(conv: Conv, rows: Rows, height: int) -> Rows:
    """Input rows a band of output ``rows`` needs, its start on a multiple of the stride."""
    a, b = rows
    s, p = conv.stride, conv.padding
    lo = max(0, (a * s - p) // s * s)
    return lo, min(height, (b - 1) * s - p + conv.kernel)


def computed(conv: Conv, rows: Rows) -> Rows:
    """Output rows a kernel call on input ``rows`` (start a multiple of the stride) computes."""
    lo, hi = rows
    return lo // conv.stride, -(-hi // conv.stride)


class _BandBuilder:
    """Emits the band ops of one tile after another."""

    def __init__(self, graph: TrainingGraph, output: str):
        self.graph = graph
        self.output = output
        self.convs = {c.name: c for c in graph.model.convs}
        self.ops: list[TrainOp] = []
        self.tensors: dict[str, Tensor] = {graph.model.input: graph.tensors[graph.model.input],
                                           output: graph.tensors[output]}

    def _geometry(self, op: TrainOp) -> Conv | None:
        """The convolution whose window an op's input rows follow (None: row to row)."""
        return self.convs[op.layer] if op.kind in ("conv_fwd", "pwdw_fwd") else None

    def tile(self, region: list[TrainOp], t: int, rows: Rows) -> None:
        need = self._needs(region, rows)
        bands: dict[str, Rows] = {}  # rows held by the band tensor of each region tensor in this tile
        for op in region:
            conv = self._geometry(op)
            y = op.outputs[0]
            if conv is None:
                in_rows = out_rows = need[y]
            else:
                in_rows = window(conv, need[y], self.graph.tensors[op.inputs[0]].shape[0])
                out_rows = computed(conv, in_rows)
            band_op = replace(op, name=f"{op.name}@{t}", inputs=(), outputs=(), inplace=None, attrs=dict(op.attrs),
                              slices={})
            data_inputs = op.inputs[:1] if op.kind == "pwdw_fwd" else op.inputs
            band_op.inputs = tuple(self._read(band_op, x, in_rows, bands, t) for x in data_inputs)
            if op.kind == "pwdw_fwd":
                pw = self.convs[op.attrs["pointwise"]]
                band_op.inputs += (self._band(f"{op.inputs[1]}@{t}", (in_rows[1] - in_rows[0], pw.out_shape[1]),
                                              Category.SCRATCH),)
            direct = y == self.output and out_rows == rows
            if direct:
                band_op.outputs = (y,)
                band_op.slices[y] = self._byte_range(y, rows)
            else:
                band_op.outputs = (self._band_of(y, out_rows, t),)
                bands[y] = out_rows
                self._inplace(band_op, op, conv, in_rows)
            self.ops.append(band_op)
            if y == self.output and not direct:
                self._copy(y, bands[y], rows, t)

    def _needs(self, region: list[TrainOp], rows: Rows) -> dict[str, Rows]:
        """Rows of every region tensor this tile needs, from the output's rows backwards."""
        need: dict[str, Rows] = {self.output: rows}
        for op in reversed(region):
            y = op.outputs[0]
            if y not in need:
                raise TilingError(f"{op.name}: its output {y} is not read in the band schedule")
            conv = self._geometry(op)
            x_rows = need[y] if conv is None else window(conv, need[y], self.graph.tensors[op.inputs[0]].shape[0])
            for x in (op.inputs[:1] if op.kind == "pwdw_fwd" else op.inputs):
                lo, hi = need.get(x, x_rows)
                need[x] = (min(lo, x_rows[0]), max(hi, x_rows[1]))
        return need

    def _byte_range(self, name: str, rows: Rows) -> tuple[int, int]:
        t = self.graph.tensors[name]
        row = t.nbytes // t.shape[0]
        return rows[0] * row, (rows[1] - rows[0]) * row

    def _band(self, name: str, shape: tuple[int, ...], category: Category) -> str:
        self.tensors[name] = Tensor(name, shape, "int8", category)
        return name

    def _band_of(self, tensor: str, rows: Rows, t: int) -> str:
        shape = self.graph.tensors[tensor].shape
        return self._band(f"{tensor}@{t}", (rows[1] - rows[0],) + shape[1:], Category.ACTIVATION)

    def _read(self, op: TrainOp, tensor: str, rows: Rows, bands: dict[str, Rows], t: int) -> str:
        """Name of the tensor ``op`` reads ``rows`` of ``tensor`` from, with its slice."""
        if tensor == self.graph.model.input:
            op.slices[tensor] = self._byte_range(tensor, rows)
            return tensor
        band = f"{tensor}@{t}"
        held = bands[tensor]
        if rows != held:
            t_ = self.tensors[band]
            row = t_.nbytes // t_.shape[0]
            op.slices[band] = ((rows[0] - held[0]) * row, (rows[1] - rows[0]) * row)
        return band

    def _inplace(self, band_op: TrainOp, op: TrainOp, conv: Conv | None, in_rows: Rows) -> None:
        """A band convolution may stream over its input band, an add write over its branch."""
        if op.kind == "add_fwd":
            band_op.inplace, band_op.attrs["overlap"] = band_op.inputs[1], 0
        elif op.kind == "conv_fwd":
            band_op.inplace = band_op.inputs[0]
            band_op.attrs["overlap"] = stream_overlap(conv, in_rows[1] - in_rows[0])

    def _copy(self, tensor: str, held: Rows, rows: Rows, t: int) -> None:
        band = f"{tensor}@{t}"
        b = self.tensors[band]
        row = b.nbytes // b.shape[0]
        copy = TrainOp(f"tile_copy:{tensor}@{t}", "tile_copy", None, (band,), (tensor,))
        if rows != held:
            copy.slices[band] = ((rows[0] - held[0]) * row, (rows[1] - rows[0]) * row)
        copy.slices[tensor] = self._byte_range(tensor, rows)
        self.ops.append(copy)
