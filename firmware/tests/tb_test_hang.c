/**
 * @file tb_test_hang.c
 * @brief Hanging test: the training step never returns (spins in tb_hang_forever).
 */
#include "tb_harness.h"

TB_ARENA_DEFINE(64);
const char *const tb_op_names[] = {"forever"};
const uint32_t tb_op_count = 1;
static volatile uint32_t spins;

void tb_model_init(void) { spins = 0u; }

__attribute__((noinline)) void tb_hang_forever(void)
{
    for (;;) {
        spins = spins + 1u;
    }
}

void tb_train_step(tb_profile_t *prof)
{
    (void)prof;
    TB_OP_BEGIN(0);
    tb_hang_forever();
    TB_OP_END(0);
}

uint32_t tb_param_checksum(void) { return 0u; }
