/* tb_pointwise_bwd_input_s8 - input gradient of a 1x1 convolution;
 * twin of tinybench/kernels/convolution_backward.py. */
#include "tb_kernels.h"
#include "Internal/tb_nn_support.h"

int32_t tb_pointwise_bwd_input_s8(const int8_t *grad, int32_t e_grad, const uint8_t *mask,
                                  int32_t h, int32_t w, int32_t c_in, const int8_t *w_train,
                                  const int8_t *w_frozen, int32_t k_train, int32_t c_out,
                                  const int32_t *w_factor, int32_t w_exp, int8_t *grad_in)
{
    int64_t rng[2] = {0, 0};
    int32_t n_shift = 0;
    int32_t p, pos, ci;
    for (p = 0; p < 2; p++) {
        if (p == 1) {
            n_shift = tb_nn_grad_shift(rng);
        }
        for (pos = 0; pos < h * w; pos++) {
            const int32_t gb = pos * c_out;
            for (ci = 0; ci < c_in; ci++) {
                const int64_t acc = tb_nn_input_grad_sum(grad, mask, gb, c_out, w_factor, w_train,
                                                         w_frozen, k_train, c_in, 1, 0, ci);
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
