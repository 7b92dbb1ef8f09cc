/* tb_pointwise_bwd_input_s8 - input gradient of a 1x1 convolution;
 * twin of tinybench/kernels/convolution_backward.py. */
#include "tb_kernels.h"
#include "Internal/tb_nn_support.h"

int32_t tb_pointwise_bwd_input_s8(const int8_t *grad, int32_t e_grad, const uint8_t *mask,
                                  int32_t h, int32_t w, int32_t c_in, const int8_t *w_train,
                                  const int8_t *w_frozen, int32_t k_train, int32_t c_out,
                                  const int32_t *w_factor, int32_t w_exp, int8_t *grad_in)
{
    const int32_t k_frozen = c_in - k_train;
    int64_t rng[2] = {0, 0};
    int32_t n_shift = 0;
    int32_t p, pos, ci, c;
    for (p = 0; p < 2; p++) {
        if (p == 1) {
            n_shift = tb_nn_grad_shift(rng);
        }
        for (pos = 0; pos < h * w; pos++) {
            const int32_t gb = pos * c_out;
            for (ci = 0; ci < c_in; ci++) {
                int64_t acc = 0;
                for (c = 0; c < c_out; c++) {
                    int32_t gf, wv;
                    if (tb_nn_mask_get(mask, gb + c) == 0) {
                        continue;
                    }
                    gf = grad[gb + c] * w_factor[c];
                    if (ci < k_train) {
                        wv = w_train[c * k_train + ci];
                    } else {
                        wv = w_frozen[c * k_frozen + ci - k_train];
                    }
                    acc += (int64_t)gf * wv;
                }
                if (p == 0) {
                    tb_nn_range_add(rng, acc);
                } else {
                    grad_in[pos * c_in + ci] = (int8_t)tb_nn_round_shift(acc, n_shift);
                }
            }
        }
    }
    return e_grad + w_exp + n_shift;
}
