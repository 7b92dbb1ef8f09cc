/**
 * @file tb_test_work.c
 * @brief Throughput workload: an int8 matrix-vector product with requantisation, repeated
 *        TB_WORK_REPS times per step (default 2000 reps, about 50 M instructions per step at
 *        -O2). Used by tinybench/emulate/throughput.py; deterministic, checksummed.
 */
#include "tb_harness.h"

#ifndef TB_WORK_REPS
#define TB_WORK_REPS 2000u
#endif
#define N 64

static int8_t Wm[N][N];
static int8_t v[N];
static int32_t acc_sum[1];

TB_ARENA_DEFINE(N * 4);
const char *const tb_op_names[] = {"matvec"};
const uint32_t tb_op_count = 1;

void tb_model_init(void)
{
    uint32_t s = 1u;
    for (int o = 0; o < N; o++)
        for (int i = 0; i < N; i++) {
            s = s * 1664525u + 1013904223u;
            Wm[o][i] = (int8_t)(uint8_t)(s >> 24);
        }
    for (int i = 0; i < N; i++) v[i] = (int8_t)(i - 32);
    acc_sum[0] = 0;
}

__attribute__((noinline)) static void matvec(void)
{
    int32_t *y = (int32_t *)(void *)tb_arena;
    for (uint32_t r = 0; r < TB_WORK_REPS; r++) {
        for (int o = 0; o < N; o++) {
            int32_t acc = 0;
            for (int i = 0; i < N; i++) acc += (int32_t)Wm[o][i] * (int32_t)v[i];
            y[o] = acc;
        }
        for (int i = 0; i < N; i++) {
            int32_t q = (y[i] >> 8) + (int32_t)r;
            v[i] = (int8_t)(q > 127 ? 127 : (q < -128 ? -128 : q));
        }
        acc_sum[0] += y[r & (N - 1)];
    }
}

void tb_train_step(tb_profile_t *prof)
{
    (void)prof;
    TB_OP_BEGIN(0);
    matvec();
    TB_OP_END(0);
}

uint32_t tb_param_checksum(void)
{
    uint32_t c = tb_crc32(0u, v, sizeof v);
    return tb_crc32(c, acc_sum, sizeof acc_sum);
}
