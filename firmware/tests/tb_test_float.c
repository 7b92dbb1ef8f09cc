/**
 * @file tb_test_float.c
 * @brief FPU test: single-precision arithmetic with the hard-float ABI (checks that the
 *        startup code enables CP10/CP11 and that the emulator models the FPU).
 *
 * Parameter: float w[8], w[i] = 0.5f + i at init; each step, for each i,
 *   w[i] = w[i] * 1.0001f + 0.25f / (1.0f + (float)i)   (each operation rounded to float32;
 * -std=c99 keeps GCC from contracting it into a fused multiply-add).
 */
#include "tb_harness.h"

static float w[8];

TB_ARENA_DEFINE(64);
const char *const tb_op_names[] = {"float_update"};
const uint32_t tb_op_count = 1;

void tb_model_init(void)
{
    for (int i = 0; i < 8; i++) w[i] = 0.5f + (float)i;
}

void tb_train_step(tb_profile_t *prof)
{
    (void)prof;
    TB_OP_BEGIN(0);
    for (int i = 0; i < 8; i++) {
        float m = w[i] * 1.0001f;
        float d = 0.25f / (1.0f + (float)i);
        w[i] = m + d;
    }
    TB_OP_END(0);
}

uint32_t tb_param_checksum(void) { return tb_crc32(0u, w, sizeof w); }
