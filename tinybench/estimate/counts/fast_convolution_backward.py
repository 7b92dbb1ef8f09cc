"""Count twin of the fast pointwise input gradient
(``firmware/kernels/fast/ConvolutionBackward/tb_pointwise_bwd_input_s8.c``).

The fast kernel makes one pass over the accumulators, in an order and along paths of its own:
the sums of products per position (to find the two heaviest), a first step over those two that
only raises the shift, then pairs of positions from the last to the first, each pair (or
position) by blocks of input channels through one of three loops: products of two positions
kept in the room below them (2 input channels per block, 8 output channels per step of the
assembly loop, 4 first when c_out / 4 is odd), of one position (4 input channels, 4 output
channels per step), or formed in the loop over the set mask bits when there is no room (4
input channels, one step per set bit, one more per non-zero gradient; in a call with dense
products, windows whose bits are all set channel by channel); those bits with the zero
gradients cleared are made once per position when the room holds them (``nz_*``), and when it
also holds a list of (product, weight offset) per such gradient, the list is made once per weight
part and the blocks step over it (``list_*``). Each block is settled: straight when it fits the shift (pairs
of two channels being written), else element by element; when the shift grows, the outputs
written so far are shifted on and the ties recomputed. Which blocks raise the shift and which
outputs tie follows the accumulators in the kernel's order: the probe gives them all
(``probe`` = (n_shift, acc[positions, c_in])), the twin replays the order.
"""

from __future__ import annotations

import numpy as np

from tinybench.estimate.counts.geometry import mask_bits

#: Output channels per mask window of the loop without room.
WINDOW = 32

#: What the replay counts: the trip counts of the kernel's loops and paths, named as in the
#: kernel (heaviest: the sums per position; fills: products into the room; pair, single, sparse:
#: the three loops of a block; settle: the block's outputs; the growth of the shift).
_COUNTERS = (
    "calls", "heavy_elements", "heavy_masked", "heavy_passed", "positions",
    "steps", "splits", "position_calls", "parts_train", "parts_frozen",
    "fills_pair", "fills_single", "fill_masked", "fill_masked_second", "fill_passed", "fill_passed_second",
    "pair_blocks", "pair_asm_blocks", "pair_asm_odd", "pair_asm_steps", "pair_tail_runs", "pair_tail", "pair_tail_two",
    "narrow_pairs", "pair4_blocks", "pair4_asm_blocks", "pair4_asm_odd", "pair4_asm_steps", "pair4_tail",
    "single_blocks", "single_asm_blocks", "single_asm_steps", "single_tail_runs", "single_tail",
    "single_nonzero", "single_nonzero_2", "single_nonzero_3", "single_nonzero_4",
    "sparse_blocks", "sparse_windows", "sparse_windows_set", "sparse_mask_bytes",
    "dense_runs", "dense_run_steps", "sparse_searches", "sparse_bits", "sparse_nonzero", "sparse_bits_c",
    "sparse_nonzero_c",
    "sparse_nonzero_c2", "sparse_nonzero_c3", "nz_fills", "nz_channels", "nz_windows", "nz_mask_bytes", "nz_block_windows",
    "list_builds", "list_windows", "list_entries", "list_blocks", "list_asm_blocks", "list_asm_steps",
    "list_c_entries", "list_c_2", "list_c_3", "list_c_4",
    "settle_straight", "straight_elements", "settle_slow", "settle_elements", "settle_written", "straight_unshifted", "straight_high",
    "written_unshifted", "written_high", "shift_for_calls", "shift_for_steps", "shift_for_steps_neg",
    "shift_for_from0", "raises", "reshift_ranges", "reshifted", "reshifted_far", "reshifted_exact", "ties", "tie_blocks",
)

#: The twin's features: every counter but those the others determine on every call (steps
#: = position calls + splits, single assembly blocks and wide non-zero products follow the blocks,
#: settle_straight the blocks, ties and slow settles, positions the elements) and the paths the
#: designed calls never take (shifts of 32 and up, shifting on by 8 or more or from 0).
_DROPPED = ("positions", "splits", "single_asm_blocks", "single_nonzero_2", "settle_straight",
            "written_high", "straight_high", "reshifted_far", "reshifted_exact")
POINTWISE_BWD_INPUT_FAST_FEATURES = tuple(k for k in _COUNTERS if k not in _DROPPED)


def _need(acc: np.ndarray) -> np.ndarray:
    """Per accumulator, the smallest shift n under which it fits (tb_fast_shift_set's bounds)."""
    n = np.arange(1, 55)
    hi = np.concatenate([[127], (255 << (n - 1)) - 1])
    lo = np.concatenate([[-127], -(255 << (n - 1))])
    a = acc.ravel()[:, None]
    return ((a > hi[None, :]) | (a < lo[None, :])).sum(axis=1).reshape(acc.shape)


def _round_shift(a: np.ndarray, n: int) -> np.ndarray:
    return a if n == 0 else (a + (1 << (n - 1))) >> n


class _Replay:
    """The kernel's steps in order, counting as they go."""

    def __init__(self, grad, mask, positions, c_in, k_train, c_out, w_factor, acc):
        self.c_in, self.k_train, self.c_out, self.positions = c_in, k_train, c_out, positions
        bits = mask_bits(mask, positions * c_out).reshape(positions, c_out)
        g = grad[:positions * c_out].reshape(positions, c_out)
        self.passed = bits.sum(axis=1)
        self.masked = int(mask.size > 0)
        self.gf_nonzero = bits & (g != 0) & (w_factor[:c_out] != 0)[None, :]
        # tb_pwbi_fill: a pair's sums are int32 when each position's sum of |products| < 2^24
        self.small = (np.abs(g.astype(np.int64) * bits * w_factor[:c_out].astype(np.int64)[None, :]).sum(axis=1)
                      < 1 << 24) & (c_out < 1024)
        self.g_nonzero = bits & (g != 0)
        starts = np.arange(0, c_out, WINDOW)
        ends = np.minimum(starts + WINDOW, c_out)
        self.windows = starts.size
        first = np.arange(positions)[:, None] * c_out + starts[None, :]
        self.win_bytes = (((first + (ends - starts)[None, :] - 1) >> 3) - (first >> 3) + 1).sum(axis=1) * (mask.size > 0)
        # a dense call (7/8 of the products not 0) takes the windows whose first multiple of 4
        # bits are all set without the search; per position, for blocks of 4 input channels:
        # those runs and their steps of 4 channels, windows searched, set bits, non-zero, with
        # the windows of mask bits (sparse) or of non-zero masked gradients (the room holds them)
        dense = 8 * int(self.gf_nonzero.sum()) >= 7 * positions * c_out
        self.sparse4, self.win_set = self._windows(bits, starts, ends, dense)
        self.nz4, self.nz_set = self._windows(self.g_nonzero, starts, ends, dense)
        self.acc = acc
        self.need = _need(acc)
        self.n = 0
        self.c = dict.fromkeys(_COUNTERS, 0)

    def _windows(self, bits: np.ndarray, starts: np.ndarray, ends: np.ndarray, dense: bool):
        """Per position, the counts of the 4-channel blocks over windows of ``bits``, and the
        windows with a bit set."""
        counts = np.zeros((self.positions, 5), np.int64)
        win_set = np.zeros(self.positions, np.int64)
        nz = self.g_nonzero
        for c0, c1 in zip(starts.tolist(), ends.tolist()):
            n4 = (c1 - c0) & ~3
            window = bits[:, c0:c1]
            run = window[:, :n4].all(axis=1) & (n4 > 0) & dense
            left = window.copy()
            left[run, :n4] = False
            win_set += window.any(axis=1)
            counts += np.stack([run, run * (n4 // 4), left.any(axis=1), left.sum(axis=1),
                                (left & nz[:, c0:c1]).sum(axis=1)], axis=1)
        return counts, win_set

    def step(self, pa: int, pb: int, np_: int, limit: int, write: bool) -> None:
        c = self.c
        c["steps"] += 1
        room = 4 * np_ * self.c_out + 3 <= limit
        if not room and np_ == 2:
            c["splits"] += 1
            self.step(pb, pb, 1, limit, write)
            self.step(pa, pa, 1, limit, write)
            return
        if room:
            c["fills_pair" if np_ == 2 else "fills_single"] += self.c_out
            c["fill_masked"] += self.c_out * self.masked
            c["fill_passed"] += int(self.passed[pa])
            if np_ == 2:
                c["fill_masked_second"] += self.c_out * self.masked
                c["fill_passed_second"] += int(self.passed[pb])
        c["position_calls"] += 1
        kind = "pair" if np_ == 2 else ("single" if room else "sparse")
        if kind == "sparse" and 4 * self.windows + 3 <= limit:  # tb_pwbi_nonzero
            kind = "nonzero"
            c["nz_fills"] += 1
            c["nz_channels"] += self.c_out
            c["nz_windows"] += self.windows
            c["nz_mask_bytes"] += int(self.win_bytes[pa])
            if 4 * self.windows + 8 * int(self.g_nonzero[pa].sum()) + 3 <= limit:  # tb_pwbi_list
                kind = "list"
        pos = [pa, pb] if np_ == 2 else [pa]
        block = 2 if np_ == 2 else 4
        narrow = room and np_ == 2 and bool(self.small[pa] and self.small[pb])
        c["narrow_pairs"] += narrow
        c["parts_train"] += self.k_train > 0
        c["parts_frozen"] += self.c_in - self.k_train > 0
        for ci0, length in ((0, self.k_train), (self.k_train, self.c_in - self.k_train)):
            if kind == "list" and length > 0:
                c["list_builds"] += 1
                c["list_windows"] += self.windows
                c["list_entries"] += int(self.g_nonzero[pa].sum())
            wide = length // 4 * 4 if narrow else 0  # blocks of 4 input channels, int32 sums
            for ci in range(0, wide, 4):
                self._block("pair4", pos, 4)
                self._settle(pos, np_, ci0 + ci, 4, write)
            for ci in range(wide, length, block):
                nb = min(block, length - ci)
                self._block(kind, pos, nb)
                self._settle(pos, np_, ci0 + ci, nb, write)

    def _block(self, kind: str, pos: list, nb: int) -> None:
        c, c_out = self.c, self.c_out
        if kind == "pair4":
            asm = c_out >= 4
            c["pair4_blocks"] += 1
            c["pair4_asm_blocks"] += asm
            c["pair4_asm_odd"] += asm and (c_out >> 2) % 2 == 1
            c["pair4_asm_steps"] += (c_out >> 3) if asm else 0
            c["pair4_tail"] += c_out - (c_out & ~3) if asm else c_out
        elif kind == "pair":
            c["pair_blocks"] += 1
            asm = nb == 2 and c_out >= 4
            tail = c_out - (c_out & ~3) if asm else c_out
            c["pair_asm_blocks"] += asm
            c["pair_asm_odd"] += asm and (c_out >> 2) % 2 == 1
            c["pair_asm_steps"] += (c_out >> 3) if asm else 0
            c["pair_tail_runs"] += tail > 0
            c["pair_tail"] += tail
            c["pair_tail_two"] += tail * (nb > 1)
        elif kind == "single":
            c["single_blocks"] += 1
            asm = nb == 4 and c_out >= 4
            first = c_out & ~3 if asm else 0
            c["single_asm_blocks"] += asm
            c["single_asm_steps"] += (c_out >> 2) if asm else 0
            nz = int(self.gf_nonzero[pos[0], first:].sum())
            c["single_tail_runs"] += c_out > first
            c["single_tail"] += c_out - first
            c["single_nonzero"] += nz
            c["single_nonzero_2"] += nz * (nb > 1)
            c["single_nonzero_3"] += nz * (nb > 2)
            c["single_nonzero_4"] += nz * (nb > 3)
        elif kind == "list":
            n = int(self.g_nonzero[pos[0]].sum())
            asm = nb == 4 and n > 0
            c["list_blocks"] += 1
            c["list_asm_blocks"] += asm
            c["list_asm_steps"] += n if asm else 0
            if not asm:
                c["list_c_entries"] += n
                c["list_c_2"] += n * (nb > 1)
                c["list_c_3"] += n * (nb > 2)
                c["list_c_4"] += n * (nb > 3)
        else:
            p = pos[0]
            c["sparse_blocks"] += 1
            if kind == "nonzero":
                c["nz_block_windows"] += self.windows
            else:
                c["sparse_windows"] += self.windows
                c["sparse_mask_bytes"] += int(self.win_bytes[p])
            c["sparse_windows_set"] += int((self.nz_set if kind == "nonzero" else self.win_set)[p])
            nz = int(self.g_nonzero[p].sum())
            if nb == 4:
                for f, v in zip(("dense_runs", "dense_run_steps", "sparse_searches", "sparse_bits", "sparse_nonzero"),
                                (self.nz4 if kind == "nonzero" else self.sparse4)[p].tolist()):
                    c[f] += v
            else:
                c["sparse_bits_c"] += nz if kind == "nonzero" else int(self.passed[p])
                c["sparse_nonzero_c"] += nz
                c["sparse_nonzero_c2"] += nz * (nb > 1)
                c["sparse_nonzero_c3"] += nz * (nb > 2)

    def _settle(self, pos: list, np_: int, ci: int, nb: int, write: bool) -> None:
        c = self.c
        need = [int(self.need[p, ci + j]) for p in pos for j in range(nb)]
        m = self.n
        if write and m < 32 and max(need) <= m:
            c["settle_straight"] += 1
            c["straight_elements"] += len(need)
            self._written(len(need), "straight")
            return
        c["settle_slow"] += 1
        c["settle_elements"] += len(need)
        m2 = m
        values = [int(self.acc[p, ci + j]) for p in pos for j in range(nb)]
        for e, a in zip(need, values):
            if e > m:
                c["shift_for_calls"] += 1
                c["shift_for_from0"] += m2 == 0
                c["shift_for_steps" if a > 0 else "shift_for_steps_neg"] += max(0, e - m2)
                m2 = max(m2, e)
        if m2 > m:
            self.n = m2
            c["raises"] += 1
            if write:
                self._reshift(pos[0], np_, ci, m, m2)
        if write:
            c["settle_written"] += len(need)
            self._written(len(need), "written")

    def _written(self, n: int, how: str) -> None:
        """n outputs written at the current shift (tb_fast_shift_apply: other paths at 0 and 32 up)."""
        self.c[f"{how}_unshifted"] += n * (self.n == 0)
        self.c[f"{how}_high"] += n * (self.n >= 32)

    def _reshift(self, pos: int, np_: int, ci: int, m: int, m2: int) -> None:
        c, c_in = self.c, self.c_in
        flat = self.acc.ravel()
        ranges = [((pos + np_) * c_in, self.positions * c_in)]
        ranges += [((pos + q) * c_in, (pos + q) * c_in + ci) for q in range(np_)]
        idx = np.concatenate([np.arange(lo, hi) for lo, hi in ranges])
        bounds = np.cumsum([0] + [hi - lo for lo, hi in ranges])
        c["reshift_ranges"] += 1 + np_
        c["reshifted"] += idx.size
        d = m2 - m
        if d >= 8:
            c["reshifted_far"] += idx.size
            return
        if m == 0:
            c["reshifted_exact"] += idx.size
            return
        b = _round_shift(flat[idx], m)
        tie = ((b + (1 << (d - 1))) & ((1 << d) - 1)) == 0
        c["ties"] += int(tie.sum())
        # tb_pwbi_reshift computes a block of 4 input channels of a part again once for the
        # ties of the block met one after the other in a range (by tb_pwbi_sparse)
        k_train = self.k_train
        for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            tied = idx[lo:hi][tie[lo:hi]]
            frozen = tied % c_in >= k_train
            p0 = np.where(frozen, k_train, 0)
            cb = p0 + ((tied % c_in - p0) & ~3)
            end = np.where(frozen, c_in, k_train)  # of the block's part
            for p, b, e in sorted(set(zip((tied // c_in).tolist(), cb.tolist(), end.tolist()))):
                c["tie_blocks"] += 1
                self._block("sparse", [p], min(4, e - b))


def _heaviest(grad, mask, positions, c_out, w_factor) -> tuple[int, int, int, int]:
    """tb_pwbi_heaviest: the two positions with the largest sums of |masked gradient x factor|,
    and how often a new first and a new second were found."""
    bits = mask_bits(mask, positions * c_out).reshape(positions, c_out)
    g = grad[:positions * c_out].reshape(positions, c_out).astype(np.int64)
    sums = np.abs(g * bits * w_factor[:c_out].astype(np.int64)[None, :]).sum(axis=1)
    best_a = best_b = -1
    a = b = new_a = new_b = 0
    for pos, s in enumerate(sums.tolist()):
        if s > best_a:
            best_b, b, best_a, a = best_a, a, s, pos
            new_a += 1
        elif s > best_b:
            best_b, b = s, pos
            new_b += 1
    return (a, a if positions == 1 else b, new_a, new_b)


def tb_pointwise_bwd_input_s8(grad, e_grad, mask, h, w, c_in, w_train, w_frozen, k_train, c_out, w_factor, w_exp,
                              grad_in, *, probe):
    """``probe`` = (n_shift, the accumulators [positions, c_in])."""
    positions = h * w
    acc = probe[1]
    r = _Replay(grad, mask, positions, c_in, k_train, c_out, w_factor, acc)
    c = r.c
    c["calls"] = 1
    c["positions"] = positions
    c["heavy_elements"] = positions * c_out
    c["heavy_masked"] = positions * c_out * r.masked
    c["heavy_passed"] = int(r.passed.sum())
    a, b, c["heavy_new_first"], c["heavy_new_second"] = _heaviest(grad, mask, positions, c_out, w_factor)
    r.step(a, b, 1 if a == b else 2, positions * c_in, False)
    hi = positions - 1
    while hi >= 1:
        r.step(hi - 1, hi, 2, (hi - 1) * c_in, True)
        hi -= 2
    if hi == 0:
        r.step(0, 0, 1, 0, True)
    if r.n != probe[0]:
        raise AssertionError(f"tb_pointwise_bwd_input_s8 twin: replayed shift {r.n}, kernel's {probe[0]}")
    return [c[k] for k in POINTWISE_BWD_INPUT_FAST_FEATURES]
