/**
 * @file tb_harness.c
 * @brief Generic main: paint, initialise, run TB_STEPS timed training steps, measure the
 *        stack and arena high-water marks, print the results, signal the end of the run.
 *
 * Output grammar: firmware/harness/README.md.
 */
#include "tb_harness.h"

#ifndef TB_STEPS
#define TB_STEPS 1
#endif

#define TB_STACK_PAINT 0x5AC3A55Au
#define TB_ARENA_PAINT 0xA55AC33Cu
#define TB_STACK_MARGIN 64u /* bytes below the painting function's SP left unpainted */

uint32_t tb_op_cycles[TB_MAX_OPS];
uint32_t tb_op_t0;

/* ---- event markers (tb_harness.h) ----------------------------------------------------------- */
/* In the kept .tb_meta section: nothing in the firmware reads it, the backends do. */
__attribute__((section(".tb_meta"), used)) const uint32_t tb_event_count = TB_EVENT_COUNT;

/* noipa: no clone, no inlining, no interprocedural shortcut, so every event runs this code. */
__attribute__((noinline, noipa, used)) void tb_mark(uint32_t event)
{
    (void)*(volatile const uint8_t *)((uintptr_t)__tb_ram_start + event);
}

/* ---- CRC-32, nibble table (64 bytes of flash) ------------------------------------------- */
static const uint32_t tb_crc32_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
    0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

uint32_t tb_crc32(uint32_t crc, const void *data, uint32_t nbytes)
{
    const uint8_t *p = (const uint8_t *)data;
    crc = ~crc;
    for (uint32_t i = 0; i < nbytes; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ tb_crc32_nibble[crc & 0xFu];
        crc = (crc >> 4) ^ tb_crc32_nibble[crc & 0xFu];
    }
    return ~crc;
}

/* ---- painting ----------------------------------------------------------------------------- */
static inline uintptr_t tb_current_sp(void)
{
    uintptr_t sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    return sp;
}

/* Paint words [lo, hi) with pattern; word-aligned. */
__attribute__((noinline, optimize("no-tree-loop-distribute-patterns")))
static void tb_paint(uint32_t *lo, uint32_t *hi, uint32_t pattern)
{
    while (lo < hi) {
        *lo++ = pattern;
    }
}

/* Paint the unused RAM between the end of the arena and (SP - margin). */
__attribute__((noinline)) static void tb_paint_stack(void)
{
    uint32_t *lo = __tb_ram_free_start;
    uint32_t *hi = (uint32_t *)((tb_current_sp() - TB_STACK_MARGIN) & ~(uintptr_t)3u);
    tb_paint(lo, hi, TB_STACK_PAINT);
}

/* Bytes of stack used since the last paint: from the top of RAM down to the lowest word that
 * no longer holds the pattern. May exceed the reserved size (then the stack overflowed into
 * free RAM, not yet into the arena). */
__attribute__((noinline)) static uint32_t tb_stack_high_water(void)
{
    const uint32_t *p = __tb_ram_free_start;
    const uint32_t *top = __tb_stack_top;
    while (p < top && *p == TB_STACK_PAINT) {
        p++;
    }
    return (uint32_t)((uintptr_t)top - (uintptr_t)p);
}

static void tb_paint_arena(void)
{
    uint32_t words = tb_arena_size / 4u;
    tb_paint((uint32_t *)(void *)tb_arena, (uint32_t *)(void *)tb_arena + words, TB_ARENA_PAINT);
    for (uint32_t i = words * 4u; i < tb_arena_size; i++) {
        tb_arena[i] = (uint8_t)(TB_ARENA_PAINT >> (8u * (i & 3u)));
    }
}

/* Offset one past the highest arena byte that no longer holds the paint. */
static uint32_t tb_arena_high_water(void)
{
    uint32_t n = tb_arena_size;
    while (n > 0u) {
        uint8_t expect = (uint8_t)(TB_ARENA_PAINT >> (8u * ((n - 1u) & 3u)));
        if (tb_arena[n - 1u] != expect) break;
        n--;
    }
    return n;
}

/* ---- reporting ---------------------------------------------------------------------------- */
static void tb_put_cycles(uint32_t ok, uint32_t cycles)
{
    tb_puts(" cycles=");
    if (ok) {
        tb_put_u32(cycles);
    } else {
        tb_puts("na");
    }
}

static void tb_error(const char *msg)
{
    tb_puts("TB:ERROR ");
    tb_puts(msg);
    tb_newline();
    tb_end(TB_STATUS_ERROR);
}

int main(void)
{
    static tb_profile_t prof;
    uint32_t cyc_ok = (uint32_t)tb_cyccnt_running();

    tb_newline();
    tb_puts("TB:BEGIN");
    tb_put_kv_u32("harness", TB_HARNESS_VERSION);
    tb_puts(" target=" TB_TARGET_NAME " board=" TB_BOARD_NAME);
    tb_put_kv_u32("steps", TB_STEPS);
    tb_put_kv_u32("ops", tb_op_count);
    tb_puts(cyc_ok ? " cyccnt=ok" : " cyccnt=absent");
    tb_newline();
    if (tb_op_count > TB_MAX_OPS) {
        tb_error("tb_op_count exceeds TB_MAX_OPS; rebuild with -DTB_MAX_OPS=<n>");
    }
    if (((uintptr_t)tb_arena & 3u) != 0u) {
        tb_error("tb_arena is not word aligned; define it with TB_ARENA_DEFINE");
    }

    tb_paint_arena();
    tb_paint_stack();
    tb_model_init();
    uint32_t stack_init = tb_stack_high_water();
    tb_puts("TB:CHECKSUM_INIT ");
    tb_put_hex32(tb_param_checksum());
    tb_newline();

    uint32_t stack_steps = 0u;
    prof.op_count = tb_op_count;
    prof.op_cycles = tb_op_cycles;
    prof.cyccnt_ok = cyc_ok;
    for (uint32_t k = 0; k < TB_STEPS; k++) {
        for (uint32_t i = 0; i < tb_op_count; i++) {
            tb_op_cycles[i] = 0u;
        }
        prof.step = k;
        tb_paint_stack();
        tb_mark(TB_EVENT_STEP_BEGIN);
        TB_BARRIER();
        uint32_t t0 = tb_cyccnt();
        TB_BARRIER();
        tb_train_step(&prof);
        TB_BARRIER();
        uint32_t t1 = tb_cyccnt();
        TB_BARRIER();
        tb_mark(TB_EVENT_STEP_END);
        uint32_t used = tb_stack_high_water();
        if (used > stack_steps) stack_steps = used;

        tb_puts("TB:STEP ");
        tb_put_u32(k);
        tb_put_cycles(cyc_ok, t1 - t0);
        tb_newline();
        for (uint32_t i = 0; i < tb_op_count; i++) {
            tb_puts("TB:OP ");
            tb_put_u32(k);
            tb_uart_putc(' ');
            tb_put_u32(i);
            tb_uart_putc(' ');
            tb_puts(tb_op_names[i]);
            tb_put_cycles(cyc_ok, tb_op_cycles[i]);
            tb_newline();
        }
    }

    uint32_t reserved = (uint32_t)(uintptr_t)__tb_stack_size;
    tb_puts("TB:STACK");
    tb_put_kv_u32("bytes", stack_steps);
    tb_put_kv_u32("init", stack_init);
    tb_put_kv_u32("reserved", reserved);
    if (stack_steps > reserved || stack_init > reserved) tb_puts(" overflow=1");
    tb_newline();
    tb_puts("TB:ARENA");
    tb_put_kv_u32("used", tb_arena_high_water());
    tb_put_kv_u32("size", tb_arena_size);
    tb_newline();
    tb_puts("TB:CHECKSUM ");
    tb_put_hex32(tb_param_checksum());
    tb_newline();
    return 0;
}
