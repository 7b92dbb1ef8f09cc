/**
 * @file tb_test_dwt.c
 * @brief Cycle-counter test: three ops each call their own spin function (one call per op),
 *        so an op's DWT cycles can be compared with the emulator's per-function cycle
 *        profile, and the loop cost checked for linearity (n = 10, 20, 1000 iterations).
 */
#include "tb_harness.h"

TB_ARENA_DEFINE(64);
const char *const tb_op_names[] = {"spin10", "spin20", "spin1000"};
const uint32_t tb_op_count = 3;
static volatile uint32_t sink;

#define TB_SPIN_BODY(n)                      \
    do {                                     \
        uint32_t acc = 0u;                   \
        for (uint32_t i = 0; i < (n); i++) { \
            acc += i ^ (acc << 1);           \
            __asm volatile("" : "+r"(acc));  \
        }                                    \
        sink = acc;                          \
    } while (0)

__attribute__((noipa)) void tb_spin_a(uint32_t n) { TB_SPIN_BODY(n); }
__attribute__((noipa)) void tb_spin_b(uint32_t n) { TB_SPIN_BODY(n); }
__attribute__((noipa)) void tb_spin_c(uint32_t n) { TB_SPIN_BODY(n); }

void tb_model_init(void) { sink = 0u; }

void tb_train_step(tb_profile_t *prof)
{
    (void)prof;
    TB_OP_BEGIN(0);
    tb_spin_a(10u);
    TB_OP_END(0);
    TB_OP_BEGIN(1);
    tb_spin_b(20u);
    TB_OP_END(1);
    TB_OP_BEGIN(2);
    tb_spin_c(1000u);
    TB_OP_END(2);
}

uint32_t tb_param_checksum(void) { return sink; }
