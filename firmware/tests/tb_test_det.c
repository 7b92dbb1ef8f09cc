/**
 * @file tb_test_det.c
 * @brief Deterministic pipeline test: a tiny integer "training" of one fully connected layer.
 *
 * Parameters (trainable, checksummed in this order): W int8[16][32], b int32[16].
 * Init: an LCG (state = state * 1664525 + 1013904223, value = (int8)(state >> 24), seed
 * 12345) fills W, then x int8[32], then target int8[16]; b = 0.
 * Step (three ops):
 *   fc_fwd      y[o] = b[o] + sum_i W[o][i] * x[i]                   (int32)
 *   loss_grad   e[o] = clamp((y[o] >> 6) - target[o], -8, 8)          (int8)
 *   sgd_update  W[o][i] = sat8(W[o][i] - ((e[o] * x[i]) >> 5)); b[o] -= e[o]
 * x, y, e live in the arena at offsets 0, 32 and 96, so TB:ARENA used=112.
 * tests/firmware/test_pipeline.py replays this in numpy.
 */
#include "tb_harness.h"

#define N_IN 32
#define N_OUT 16

static int8_t W[N_OUT][N_IN];
static int32_t b[N_OUT];
static int8_t target[N_OUT];

TB_ARENA_DEFINE(256);

#define X ((int8_t *)(void *)&tb_arena[0])
#define Y ((int32_t *)(void *)&tb_arena[32])
#define E ((int8_t *)(void *)&tb_arena[96])

const char *const tb_op_names[] = {"fc_fwd", "loss_grad", "sgd_update"};
const uint32_t tb_op_count = 3;

static uint32_t lcg_state;

static int8_t lcg_next(void)
{
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return (int8_t)(uint8_t)(lcg_state >> 24);
}

void tb_model_init(void)
{
    lcg_state = 12345u;
    for (int o = 0; o < N_OUT; o++)
        for (int i = 0; i < N_IN; i++) W[o][i] = lcg_next();
    for (int i = 0; i < N_IN; i++) X[i] = lcg_next();
    for (int o = 0; o < N_OUT; o++) target[o] = lcg_next();
    for (int o = 0; o < N_OUT; o++) b[o] = 0;
}

__attribute__((noinline)) static void fc_fwd(void)
{
    for (int o = 0; o < N_OUT; o++) {
        int32_t acc = b[o];
        for (int i = 0; i < N_IN; i++) acc += (int32_t)W[o][i] * (int32_t)X[i];
        Y[o] = acc;
    }
}

__attribute__((noinline)) static void loss_grad(void)
{
    for (int o = 0; o < N_OUT; o++) {
        int32_t e = (Y[o] >> 6) - (int32_t)target[o];
        if (e > 8) e = 8;
        if (e < -8) e = -8;
        E[o] = (int8_t)e;
    }
}

__attribute__((noinline)) static void sgd_update(void)
{
    for (int o = 0; o < N_OUT; o++) {
        int32_t e = E[o];
        for (int i = 0; i < N_IN; i++) {
            int32_t w = (int32_t)W[o][i] - ((e * (int32_t)X[i]) >> 5);
            if (w > 127) w = 127;
            if (w < -128) w = -128;
            W[o][i] = (int8_t)w;
        }
        b[o] -= e;
    }
}

void tb_train_step(tb_profile_t *prof)
{
    (void)prof;
    TB_OP_BEGIN(0);
    fc_fwd();
    TB_OP_END(0);
    TB_OP_BEGIN(1);
    loss_grad();
    TB_OP_END(1);
    TB_OP_BEGIN(2);
    sgd_update();
    TB_OP_END(2);
}

uint32_t tb_param_checksum(void)
{
    uint32_t c = 0u;
    c = tb_crc32(c, W, sizeof W);
    c = tb_crc32(c, b, sizeof b);
    return c;
}
