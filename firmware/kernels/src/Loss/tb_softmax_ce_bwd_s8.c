/* tb_softmax_ce_bwd_s8 - softmax cross-entropy gradient; twin of tinybench/kernels/loss.py. */
#include "tb_kernels.h"
#include "Internal/tb_nn_support.h"

#define TB_LOSS_GRAD_EXP (-7)

int32_t tb_softmax_ce_bwd_s8(const int8_t *logits, int32_t n, int32_t label,
                             const int32_t *exp_table, int8_t *grad)
{
    int32_t ymax = -128;
    uint32_t total = 0;
    uint32_t half;
    int32_t c;
    for (c = 0; c < n; c++) {
        if (logits[c] > ymax) {
            ymax = logits[c];
        }
    }
    for (c = 0; c < n; c++) {
        total += (uint32_t)exp_table[ymax - logits[c]];
    }
    half = total >> 1;
    for (c = 0; c < n; c++) {
        int32_t q = (int32_t)((128u * (uint32_t)exp_table[ymax - logits[c]] + half) / total);
        if (c == label) {
            q -= 128;
        }
        if (q < -127) {
            q = -127;
        }
        if (q > 127) {
            q = 127;
        }
        grad[c] = (int8_t)q;
    }
    return TB_LOSS_GRAD_EXP;
}
