/**
 * @file tb_harness.h
 * @brief The contract between tinybench's generic firmware harness and generated code.
 *
 * The harness (tb_harness.c) owns main(). Generated code implements the functions and data
 * declared under "provided by the generated code"; it may use everything under "provided by
 * the harness". See firmware/harness/README.md for the UART output grammar.
 *
 * Build-time knobs (-D), all optional:
 *   TB_STEPS         training steps to run and time (default 1)
 *   TB_MAX_OPS       capacity of the per-op cycle table (default 256; must be >= tb_op_count,
 *                    the harness checks at run time). Costs 4 bytes of SRAM per entry.
 *   TB_PROFILE_OPS   0 compiles TB_OP_BEGIN/TB_OP_END away (default 1)
 */
#ifndef TB_HARNESS_H
#define TB_HARNESS_H

#include <stdint.h>

#include "tb_bsp.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TB_HARNESS_VERSION 1

#ifndef TB_MAX_OPS
#define TB_MAX_OPS 256
#endif

#ifndef TB_PROFILE_OPS
#define TB_PROFILE_OPS 1
#endif

/** What tb_train_step receives. */
typedef struct tb_profile {
    uint32_t step;         /**< index of this step, 0 .. TB_STEPS-1 */
    uint32_t op_count;     /**< == tb_op_count */
    uint32_t *op_cycles;   /**< [op_count], zeroed before each step, summed by TB_OP_END */
    uint32_t cyccnt_ok;    /**< 1 if the DWT cycle counter runs on this platform */
} tb_profile_t;

/* ======================= provided by the generated code ================================= */

/** Called once before the first step: initialise parameters, inputs and labels. */
void tb_model_init(void);

/**
 * One training step (forward, backward, update) on the built-in sample. Bracket each
 * operator i (0 <= i < tb_op_count) with TB_OP_BEGIN(i) / TB_OP_END(i); ops must not nest.
 */
void tb_train_step(tb_profile_t *prof);

/**
 * CRC-32 (IEEE 802.3, zlib's crc32) over the bytes of every trainable parameter tensor, in
 * the order fixed by the generator, as they are stored in memory (little-endian), chained:
 *   uint32_t c = 0; c = tb_crc32(c, w0, n0); c = tb_crc32(c, b0, m0); ... return c;
 * Host side: tinybench.emulate.results.param_checksum(arrays) gives the same value.
 */
uint32_t tb_param_checksum(void);

/** The activation/gradient arena. Define it with TB_ARENA_DEFINE(bytes) in one C file. */
extern uint8_t tb_arena[];
extern const uint32_t tb_arena_size;

/** Operator names (no spaces) for the TB:OP lines, and their number. */
extern const char *const tb_op_names[];
extern const uint32_t tb_op_count;

/** Places the arena in the NOLOAD .tb_arena section, 16-byte aligned. */
#define TB_ARENA_DEFINE(nbytes)                                                          \
    __attribute__((section(".tb_arena"), aligned(16))) uint8_t tb_arena[(nbytes)];       \
    const uint32_t tb_arena_size = (uint32_t)(nbytes)

/* ========================== provided by the harness ===================================== */

/** Chained CRC-32 (zlib semantics: tb_crc32(0, p, n) == zlib.crc32(bytes(p[:n]))). */
uint32_t tb_crc32(uint32_t crc, const void *data, uint32_t nbytes);

/** Per-op cycle table (TB_MAX_OPS entries) and the start time of the current op. */
extern uint32_t tb_op_cycles[];
extern uint32_t tb_op_t0;

#define TB_BARRIER() __asm volatile("" ::: "memory")

/* ---- event markers ---------------------------------------------------------------------
 * The harness and every TB_OP_BEGIN/TB_OP_END call tb_mark(event). Emulators watch it to count
 * instructions (and, on the ISS, modelled cycles) between events, the same way on every
 * backend and independently of DWT: the measured quantity at an event is the number of
 * instructions executed before the first instruction of tb_mark. tb_mark passes the event in
 * r0 and performs one volatile byte load from the address __tb_ram_start + event (the value
 * is ignored; RAM is readable on every board, and QEMU's plugins see RAM loads but not flash
 * loads), so a backend can learn the event from r0 at tb_mark's entry or from that address.
 */
#define TB_EVENT_STEP_BEGIN 0u
#define TB_EVENT_STEP_END 1u
#define TB_EVENT_OP_BEGIN(i) (2u + 2u * (uint32_t)(i))
#define TB_EVENT_OP_END(i) (3u + 2u * (uint32_t)(i))
/** Number of distinct events (exported as tb_event_count for the backends). */
#define TB_EVENT_COUNT (2u + 2u * (uint32_t)TB_MAX_OPS)

/** Mark an event (noinline: its address is what emulators watch). */
void tb_mark(uint32_t event);
extern const uint32_t tb_event_count;

#if TB_PROFILE_OPS
/** Start operator i: mark the event, then read DWT->CYCCNT. */
#define TB_OP_BEGIN(i)                  \
    do {                                \
        tb_mark(TB_EVENT_OP_BEGIN(i));  \
        TB_BARRIER();                   \
        tb_op_t0 = tb_cyccnt();         \
        TB_BARRIER();                   \
    } while (0)
/** Stop operator i: add its DWT cycles to tb_op_cycles[i], then mark the event. */
#define TB_OP_END(i)                                      \
    do {                                                  \
        TB_BARRIER();                                     \
        tb_op_cycles[(i)] += tb_cyccnt() - tb_op_t0;      \
        TB_BARRIER();                                     \
        tb_mark(TB_EVENT_OP_END(i));                      \
    } while (0)
#else
#define TB_OP_BEGIN(i) ((void)(i))
#define TB_OP_END(i) ((void)(i))
#endif

#ifdef __cplusplus
}
#endif
#endif /* TB_HARNESS_H */
