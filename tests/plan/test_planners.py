"""Planners: exact offsets on hand-made lifetimes, and (hypothesis) no two live buffers share
bytes and every buffer fits the arena, for random buffers, random in-place groups and random
training graphs."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinybench.graph.schemes import Scheme, resolve
from tinybench.graph.tiling import tile_prefix
from tinybench.graph.training import compile_training
from tinybench.models.builder import build_model
from tinybench.models.zoo import load_model
from tinybench.graph.schemes import get_scheme
from tinybench.plan.lifetimes import buffers
from tinybench.plan.memory import plan_memory, plan_memory_below
from tinybench.plan.planners import PLANNERS, Part, _Conflicts, get_planner

ALL = list(PLANNERS)


def test_greedy_exact_offsets():
    p = get_planner("greedy-size")
    a = p.add_buffer(100, 0, 1)
    b = p.add_buffer(50, 1, 2)  # overlaps a in time: above it
    c = p.add_buffer(80, 2, 3)  # overlaps b only: below b (a is dead)
    assert [p.offset(i) for i in (a, b, c)] == [0, 100, 0]
    assert p.arena_size() == 150


def test_first_fit_exact_offsets():
    p = get_planner("first-fit")
    ids = [p.add_buffer(40, 0, 0), p.add_buffer(60, 0, 1), p.add_buffer(30, 1, 2), p.add_buffer(50, 2, 2)]
    assert [p.offset(i) for i in ids] == [0, 40, 0, 30]  # the 60 B buffer is dead at op 2
    assert p.arena_size() == 100


def test_search_reaches_the_floor_where_greedy_fragments():
    # x and y ping-pong, then z and w: greedy puts w (largest) at 0, so z lands above y
    spans = [(32, 0, 1), (32, 1, 2), (16, 2, 4), (48, 3, 4)]
    arenas = {}
    for name in ("greedy-size", "search"):
        p = get_planner(name)
        for size, first, last in spans:
            p.add_buffer(size, first, last)
        assert p.overlapping_pairs() == [] and p.live_floor() == 64
        arenas[name] = p.arena_size()
    assert arenas == {"greedy-size": 80, "search": 64}


@pytest.mark.parametrize("tiles", [6, 10])
def test_exact_closes_the_gap_the_search_leaves(tiles):
    # mbv2-w0.35:99kb with its first 5 ops on 6 bands (not the tiling auto picks): the heuristics
    # leave 5.0% over the live-bytes floor, the solver 2.1%; on the 10 bands auto picks, both are
    # within 2% (the search since its input goes against the top of its range)
    model = load_model("mbv2-w0.35")
    graph = tile_prefix(compile_training(model, resolve(get_scheme("99kb", model), model), "reordered"), 5, tiles)
    plans = {name: plan_memory(graph, name) for name in ("search", "exact")}
    if tiles == 6:
        assert plans["search"].arena_bytes > plans["search"].floor_bytes * 1.02
        assert plans["exact"].arena_bytes < plans["search"].arena_bytes
    else:
        assert plans["exact"].arena_bytes <= plans["exact"].floor_bytes * 1.02
    exact = plans["exact"]
    placed = list(zip(exact.buffers, exact.buffer_offsets))
    for (buf_a, at_a), (buf_b, at_b) in itertools.combinations(placed, 2):
        for a in buf_a.parts:
            for b in buf_b.parts:
                if a.size and b.size and a.first <= b.last and b.first <= a.last:
                    lo_a, lo_b = at_a + a.offset, at_b + b.offset
                    assert lo_a + a.size <= lo_b or lo_b + b.size <= lo_a, (a.tensor, b.tensor)
                    assert max(lo_a + a.size, lo_b + b.size) <= exact.arena_bytes


def test_linear_is_the_sum():
    p = get_planner("linear")
    for s in (10, 20, 30):
        p.add_buffer(s, 0, 0)
    assert p.arena_size() == 60 and p.offset(2) == 30


def test_group_parts_only_conflict_while_live():
    p = get_planner("greedy-size")
    g = p.add_group([(0, 100, 0, 1), (20, 40, 1, 3)])  # a chain shrinking to 40 B at offset 20
    x = p.add_buffer(60, 2, 3)  # lives with the small part only: fits beside it
    assert p.offset(g) == 0 and p.offset(x) == 60 and p.arena_size() == 120
    assert p.overlapping_pairs() == []


def test_bad_buffers_are_rejected():
    with pytest.raises(ValueError, match="bad buffer"):
        get_planner("greedy-size").add_buffer(10, 3, 1)
    with pytest.raises(ValueError, match="unknown planner 'best'"):
        get_planner("best")


def max_live(groups):
    """Most bytes any op needs: per group, the union of its parts live at that op."""
    def covered(g, t):
        return len({b for o, s, f, l in g if f <= t <= l for b in range(o, o + s)})
    ops = {t for g in groups for (_, _, f, l) in g for t in range(f, l + 1)}
    return max((sum(covered(g, t) for g in groups) for t in ops), default=0)


lifetime = st.tuples(st.integers(0, 30), st.integers(0, 10)).map(lambda t: (t[0], t[0] + t[1]))
part = st.tuples(st.integers(0, 64), st.integers(0, 512), lifetime).map(lambda t: (t[0], t[1], *t[2]))
groups = st.lists(st.lists(part, min_size=1, max_size=3), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(groups=groups, name=st.sampled_from(ALL))
def test_random_buffers_never_overlap_and_fit(groups, name):
    p = get_planner(name)
    for g in groups:
        p.add_group(g)
    assert p.overlapping_pairs() == []
    arena = p.arena_size()
    for i, g in enumerate(groups):
        assert all(p.offset(i) >= 0 and p.offset(i) + o + s <= arena for o, s, _, _ in g)
    assert arena >= max_live(groups) or name == "linear"
    assert p.live_floor() == max_live(groups)


@settings(max_examples=100, deadline=None)
@given(groups=groups)
def test_exact_is_never_worse_than_search_nor_search_than_greedy(groups):
    arenas = []
    for name in ("exact", "search", "greedy-size"):
        p = get_planner(name)
        for g in groups:
            p.add_group(g)
        arenas.append(p.arena_size())
    assert arenas[0] <= arenas[1] <= arenas[2]



@settings(max_examples=150, deadline=None)
@given(groups=groups)
def test_conflicts_forbid_exactly_the_colliding_offsets(groups):
    # brute force: group i at x collides with group j at 0 iff a live pair of parts shares a byte
    gs = [tuple(Part(*p) for p in g) for g in groups]
    conflicts = _Conflicts(gs)
    span = 64 + 512 + 1
    for i, gi in enumerate(gs):
        entries = {}
        for j, a, b, _ in conflicts.entries(i):
            entries.setdefault(j, set()).update(range(a, b))
        for j, gj in enumerate(gs):
            if j == i:
                continue
            expected = {x for x in range(-span, span) if any(
                p.meets(q) and x + p.offset < q.offset + q.size and q.offset < x + p.offset + p.size
                for p in gi for q in gj)}
            assert entries.get(j, set()) == expected, (i, j)


@settings(max_examples=150, deadline=None)
@given(groups=groups, name=st.sampled_from(ALL), slack=st.integers(-64, 64))
def test_a_bound_only_gives_up_what_could_not_beat_it(groups, name, slack):
    whole = get_planner(name)
    bounded = get_planner(name)
    for g in groups:
        whole.add_group(g)
        bounded.add_group(g)
    beat = whole.arena_size() + slack
    arena = bounded.arena_below(beat)
    if whole.arena_size() < beat:  # the same placement, not just one as small
        assert arena == whole.arena_size()
        assert [bounded.offset(i) for i in range(len(groups))] == [whole.offset(i) for i in range(len(groups))]
    else:
        assert arena is None

layer = st.one_of(
    st.tuples(st.just("conv"), st.integers(1, 6), st.sampled_from([1, 3]), st.integers(1, 2)),
    st.tuples(st.just("block"), st.integers(1, 3), st.integers(1, 6), st.sampled_from([3, 5]), st.integers(1, 2)),
)


@settings(max_examples=60, deadline=None)
@given(layers=st.lists(layer, min_size=1, max_size=5), size=st.integers(3, 12), classes=st.integers(2, 5),
       n_update=st.integers(0, 6), schedule=st.sampled_from(["reordered", "unfused"]), name=st.sampled_from(ALL),
       ratio=st.sampled_from([0.0, 0.125, 0.5, 1.0]), precision=st.sampled_from(["int8", "fp32"]),
       inplace=st.sampled_from([True, False, "auto"]))
def test_random_training_graphs_plan_without_overlap(layers, size, classes, n_update, schedule, name, ratio,
                                                       precision, inplace):
    spec = " ".join(":".join(map(str, l)) for l in layers) + f" classifier:{classes}"
    m = build_model(spec, (size, size, 3))
    n = len(m.convs) - 1
    k = min(n_update, n)
    scheme = Scheme("random", k, tuple(range(n - k, n)), (ratio,) * k)
    g = compile_training(m, resolve(scheme, m), schedule, precision)
    plan = plan_memory(g, name, inplace)
    assert plan.arena_bytes >= plan.floor_bytes or name == "linear"
    # a bound gives up exactly the plans that could not beat it, and keeps the same plan otherwise
    assert plan_memory_below(g, plan.arena_bytes, name, inplace) is None
    below = plan_memory_below(g, plan.arena_bytes + 1, name, inplace)
    assert below is not None and below.buffer_offsets == plan.buffer_offsets
    offsets = plan.offsets
    # every tensor of the graph has a place, inside the arena
    assert set(offsets) == set(g.tensors)
    assert all(0 <= offsets[t] and offsets[t] + g.tensors[t].nbytes <= plan.arena_bytes for t in g.tensors)
    # no two tensors live at the same op share bytes, except an in-place output over its input
    lives = {}
    for i, op in enumerate(g.ops):
        for t in op.inputs + op.outputs:
            f, l = lives.get(t, (i, i))
            lives[t] = (min(f, i), max(l, i))
    inplace = {(op.inplace, op.outputs[0]) for op in g.ops if op.inplace}
    names = list(g.tensors)
    for a_i, a in enumerate(names):
        for b in names[a_i + 1:]:
            (fa, la), (fb, lb) = lives[a], lives[b]
            if fa <= lb and fb <= la and (a, b) not in inplace and (b, a) not in inplace:
                sa, sb = g.tensors[a].nbytes, g.tensors[b].nbytes
                assert not (offsets[a] < offsets[b] + sb and offsets[b] < offsets[a] + sa), (a, b)


def test_real_training_graph_trace_and_in_place_savings():
    m = load_model("mcunet-5fps", num_classes=10)
    g = compile_training(m, resolve(get_scheme("49kb", m), m))
    with_inplace = plan_memory(g, inplace=True)
    without = plan_memory(g, inplace=False)
    assert with_inplace.arena_bytes < without.arena_bytes
    # every in-place write pins its output; taking only those the floor needs leaves no hole
    chosen = plan_memory(g, inplace="auto")
    assert chosen.arena_bytes == chosen.floor_bytes == with_inplace.floor_bytes < with_inplace.arena_bytes
    for planner in ALL:
        p = get_planner(planner)
        for b in buffers(g):
            p.add_group([(x.offset, x.size, x.first, x.last) for x in b.parts])
        assert p.overlapping_pairs() == []
