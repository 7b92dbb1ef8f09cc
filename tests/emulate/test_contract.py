"""Contract tests over every registered Backend subclass."""

from __future__ import annotations

import inspect

import pytest

from tinybench.codegen.targets import TARGETS, get_board, get_target
from tinybench.emulate import BACKENDS, STATUSES, Backend, RunResult, backend_names, get_backend

NAMES = sorted(BACKENDS)


def test_every_subclass_is_registered():
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    concrete = {c for c in subclasses(Backend) if not inspect.isabstract(c)}
    assert concrete == set(BACKENDS.values())
    assert {"iss", "qemu", "renode"} <= set(backend_names())
    with pytest.raises(KeyError, match="unknown backend"):
        get_backend("no-such-emulator")


@pytest.mark.parametrize("name", NAMES)
def test_identity_and_availability(name):
    b = get_backend(name)
    assert b.name == name and type(b) is BACKENDS[name]
    assert b.description
    ok, why = b.available()
    assert isinstance(ok, bool) and isinstance(why, str) and why
    version = b.version()
    if ok:
        assert isinstance(version, str) and version
    else:
        assert version is None  # an absent emulator has no version


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_default_board_is_supported(name, target):
    b = get_backend(name)
    board = b.default_board(target)
    assert board.cpu == get_target(target).cpu
    assert b.supports_board(board)


@pytest.mark.parametrize("name", NAMES)
def test_run_contract(firmware, name):
    """Every backend runs the deterministic firmware built for its default board and returns
    a well-formed RunResult; an unavailable backend says so instead of raising."""
    b = get_backend(name)
    target = "nrf52840"
    fw = firmware("det", target, b.default_board(target).name, TB_STEPS=1)
    r = b.run(fw.elf, target, instruction_budget=50_000_000, timeout_s=60)
    assert isinstance(r, RunResult)
    assert r.backend == name and r.status in STATUSES
    ok, why = b.available()
    if not ok:
        assert r.status == "unavailable" and r.reason == why
        return
    assert r.status == "ok", r.reason
    assert r.target == target and r.board == fw.board.name
    assert "TB:BEGIN" in r.uart and r.report.end_status == "ok"
    assert r.wall_time_s > 0
    if r.instructions is None:
        assert not r.instructions_exact
    else:
        assert r.instructions > 100_000
    assert r.cycles_model
    assert r.to_dict()["report"]["end_status"] == "ok"


@pytest.mark.parametrize("name", NAMES)
def test_markers_count_what_the_iss_counts(firmware, backend, name):
    """The firmware's event markers give per-step and per-op instruction counts that are the
    same quantity on every backend: equal to the ISS's, to the instruction, on the same ELF."""
    b = backend(name)
    target = "stm32f746"
    fw = firmware("det", target, b.default_board(target).name, TB_STEPS=2)
    r = b.run(fw.elf, target, instruction_budget=50_000_000, timeout_s=60)
    ref = backend("iss").run(fw.elf, target, instruction_budget=50_000_000, timeout_s=60)
    assert r.status == ref.status == "ok", r.reason
    steps, ref_steps = r.counted_steps(), ref.counted_steps()
    assert len(steps) == 2 and sorted(steps[0].ops) == [0, 1, 2]
    assert [(s.total.instructions, {i: o.instructions for i, o in s.ops.items()}) for s in steps] == \
        [(s.total.instructions, {i: o.instructions for i, o in s.ops.items()}) for s in ref_steps]
    assert all(o.instructions > 100 for s in steps for o in s.ops.values())


@pytest.mark.parametrize("name", NAMES)
def test_elf_for_another_target_or_board_is_refused(firmware, name):
    b = get_backend(name)
    ok, _ = b.available()
    if not ok:
        pytest.skip(f"backend {name} unavailable here")
    fw = firmware("det", "nrf52840", "qemu", TB_STEPS=1)
    r = b.run(fw.elf, "stm32f746")
    assert r.status == "unavailable" and "nrf52840" in r.reason
    for board in ("native", "qemu"):
        other = firmware("det", "stm32f746", board, TB_STEPS=1)
        if not b.supports_board(get_board(other.board.name)):
            r = b.run(other.elf, "stm32f746")
            assert r.status == "unavailable"
            assert b.default_board("stm32f746").name in r.reason


def test_run_result_rejects_unknown_status():
    with pytest.raises(ValueError):
        RunResult(backend="x", status="weird")
