"""The UART grammar parser and the parameter checksum (host side of tb_crc32)."""

from __future__ import annotations

import zlib

import numpy as np

from tinybench.emulate.base import status_from_report
import pytest

from tinybench.emulate.results import (EVENT_STEP_BEGIN, EVENT_STEP_END, Marker, MarkerError, Span, crc32,
                                       event_op_begin, event_op_end, param_checksum, parse_uart, step_counts)

SAMPLE = """\r
TB:BEGIN harness=1 target=stm32f746 board=mps2-an500 steps=2 ops=2 cyccnt=ok\r
TB:CHECKSUM_INIT 0x92aaec2b\r
TB:STEP 0 cycles=1200\r
TB:OP 0 0 conv_fwd cycles=700\r
TB:OP 0 1 conv_bwd cycles=400\r
TB:STEP 1 cycles=na\r
TB:OP 1 0 conv_fwd cycles=na\r
TB:OP 1 1 conv_bwd cycles=na\r
some other output\r
TB:STACK bytes=1024 init=120 reserved=8192\r
TB:ARENA used=112 size=256\r
TB:CHECKSUM 0xe8cd8c6f\r
TB:END status=ok\r
"""


def test_parse_full_run():
    rep = parse_uart(SAMPLE)
    assert rep.begin == {"harness": "1", "target": "stm32f746", "board": "mps2-an500",
                         "steps": "2", "ops": "2", "cyccnt": "ok"}
    assert rep.cyccnt_available
    assert rep.checksum_init == 0x92AAEC2B and rep.checksum == 0xE8CD8C6F
    assert [(s.index, s.cycles) for s in rep.steps] == [(0, 1200), (1, None)]
    assert rep.op_cycles(0) == {"conv_fwd": 700, "conv_bwd": 400}
    assert rep.op_cycles() == {"conv_fwd": None, "conv_bwd": None}
    assert rep.stack == {"bytes": 1024, "init": 120, "reserved": 8192}
    assert rep.stack_bytes == 1024 and rep.arena_used == 112
    assert rep.end_status == "ok"
    assert rep.other_lines == ["some other output"]
    assert rep.malformed == [] and rep.fault == {}
    assert status_from_report(rep) == ("ok", "")


def test_parse_fault_in_the_middle_of_a_line():
    text = ("TB:STEP 0 cyc"
            "\nTB:FAULT type=BusFault cause=preciserr pc=0x000009a0 lr=0x000009db "
            "addr=0x30000000 cfsr=0x00008200 hfsr=0x00000000 mmfar=0x00000000 "
            "bfar=0x30000000\nTB:END status=fault\n")
    rep = parse_uart(text)
    assert rep.fault["type"] == "BusFault" and rep.fault["cause"] == "preciserr"
    assert rep.fault["pc"] == 0x9A0 and rep.fault["addr"] == 0x3000_0000
    assert rep.malformed == ["TB:STEP 0 cyc"]
    status, reason = status_from_report(rep)
    assert status == "fault" and "BusFault" in reason and "0x30000000" in reason

    rep = parse_uart("junkTB:FAULT type=UsageFault cause=undefinstr pc=0x0000099c "
                     "lr=0x1 addr=none cfsr=0x00010000 hfsr=0x0 mmfar=0x0 bfar=0x0\n")
    assert rep.other_lines == ["junk"] and rep.fault["addr"] is None
    assert status_from_report(rep)[0] == "fault"


def test_no_end_line_means_no_status():
    rep = parse_uart("TB:BEGIN harness=1\nTB:STEP 0 cycles=5\n")
    assert rep.end_status is None and status_from_report(rep) is None
    err = parse_uart("TB:ERROR tb_op_count exceeds TB_MAX_OPS\nTB:END status=error\n")
    assert status_from_report(err) == ("fault", "harness error: tb_op_count exceeds TB_MAX_OPS")


def test_checksum_matches_zlib_and_chains_over_arrays():
    w = np.arange(-8, 8, dtype=np.int8)
    b = np.array([1, -2, 300000], dtype=np.int32)
    expect = zlib.crc32(b.tobytes(), zlib.crc32(w.tobytes())) & 0xFFFFFFFF
    assert param_checksum([w, b]) == expect
    # big-endian input is converted: the firmware stores little-endian
    assert param_checksum([w, b.astype(">i4")]) == expect
    # non-contiguous views are hashed in logical order
    m = np.arange(12, dtype=np.int8).reshape(3, 4)
    assert param_checksum([m.T]) == crc32(np.ascontiguousarray(m.T).tobytes())
    assert crc32(b"123456789") == 0xCBF43926  # the CRC-32 check value


def _trace(*events):
    """Markers at instruction counts 0, 10, 20, ... (cycles twice that)."""
    return [Marker(e, 10 * n, 20 * n) for n, e in enumerate(events)]


def test_step_counts_decode_steps_and_ops():
    trace = [Marker(EVENT_STEP_END, 0)] + [Marker(m.event, m.instructions + 5, m.cycles) for m in _trace(
        EVENT_STEP_BEGIN, event_op_begin(0), event_op_end(0), event_op_begin(1), event_op_end(1), EVENT_STEP_END,
        EVENT_STEP_BEGIN, event_op_begin(0), event_op_end(0), EVENT_STEP_END)]
    steps = step_counts(trace)  # an event before the first step is ignored
    assert [s.total for s in steps] == [Span(50, 100), Span(30, 60)]
    assert steps[0].ops == {0: Span(10, 20), 1: Span(10, 20)} and steps[1].ops == {0: Span(10, 20)}
    no_cycles = step_counts([Marker(EVENT_STEP_BEGIN, 3), Marker(EVENT_STEP_END, 9)])
    assert no_cycles[0].total == Span(6, None)


@pytest.mark.parametrize("events, problem", [
    ((EVENT_STEP_BEGIN, EVENT_STEP_BEGIN), "began twice"),
    ((EVENT_STEP_BEGIN, event_op_begin(0), EVENT_STEP_END), "ended inside op 0"),
    ((EVENT_STEP_BEGIN, event_op_begin(0), event_op_begin(1)), "op 1 began inside op 0"),
    ((EVENT_STEP_BEGIN, event_op_end(2)), "op 2 ended without beginning"),
    ((EVENT_STEP_BEGIN, event_op_begin(0), event_op_end(1)), "op 1 ended without beginning"),
    ((EVENT_STEP_BEGIN, event_op_begin(0), event_op_end(0), event_op_begin(0), event_op_end(0)), "op 0 ran twice"),
    ((EVENT_STEP_BEGIN,), "did not end"),
])
def test_step_counts_refuse_traces_out_of_order(events, problem):
    with pytest.raises(MarkerError, match=problem):
        step_counts(_trace(*events))
