/* tb_avgpool_bwd_s8 - gradient of the global average pool; twin of tinybench/kernels/pooling.py. */
#include "tb_kernels.h"
#include "Internal/tb_nn_support.h"

#define TB_AVGPOOL_RECIP_BITS 23

int32_t tb_avgpool_bwd_s8(const int8_t *grad, int32_t e_grad, int32_t h, int32_t w, int32_t c,
                          int8_t *grad_in)
{
    const int32_t hw = h * w;
    const int32_t recip = (((int32_t)1 << TB_AVGPOOL_RECIP_BITS) + hw / 2) / hw;
    int64_t rng[2] = {0, 0};
    int32_t n_shift = 0;
    int32_t p, ch, pos;
    for (p = 0; p < 2; p++) {
        if (p == 1) {
            n_shift = tb_nn_grad_shift(rng);
        }
        for (ch = 0; ch < c; ch++) {
            const int64_t acc = (int64_t)grad[ch] * recip;
            if (p == 0) {
                tb_nn_range_add(rng, acc);
            } else {
                const int8_t g = (int8_t)tb_nn_round_shift(acc, n_shift);
                for (pos = 0; pos < hw; pos++) {
                    grad_in[pos * c + ch] = g;
                }
            }
        }
    }
    return e_grad - TB_AVGPOOL_RECIP_BITS + n_shift;
}
