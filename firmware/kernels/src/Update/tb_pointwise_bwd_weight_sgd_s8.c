/* tb_pointwise_bwd_weight_sgd_s8 - fused weight/bias gradient and SGD step of a 1x1
 * convolution; twin of tinybench/kernels/update.py. */
#include "tb_kernels.h"
#include "Internal/tb_nn_support.h"

void tb_pointwise_bwd_weight_sgd_s8(const int8_t *grad, const uint8_t *mask,
                                    const int8_t *x_saved, int32_t h, int32_t w,
                                    int32_t k_train, int32_t x_zero, int32_t c_out,
                                    int32_t e_grad, int8_t *w_train, const int32_t *w_mult,
                                    const int32_t *w_shift, int32_t *bias,
                                    const int32_t *b_mult, const int32_t *b_shift)
{
    int32_t c, pos, ci;
    for (c = 0; c < c_out; c++) {
        int32_t gsum = 0;
        for (pos = 0; pos < h * w; pos++) {
            const int32_t gi = pos * c_out + c;
            if (tb_nn_mask_get(mask, gi)) {
                gsum += grad[gi];
            }
        }
        bias[c] = tb_nn_sat_s32((int64_t)bias[c] -
                                tb_nn_sgd_delta(gsum, b_mult[c], b_shift[c], e_grad));
        for (ci = 0; ci < k_train; ci++) {
            int32_t acc = 0;
            int32_t wi;
            for (pos = 0; pos < h * w; pos++) {
                const int32_t gi = pos * c_out + c;
                if (tb_nn_mask_get(mask, gi) == 0) {
                    continue;
                }
                acc += grad[gi] * (x_saved[pos * k_train + ci] - x_zero);
            }
            wi = c * k_train + ci;
            w_train[wi] = (int8_t)tb_nn_sat_s8(
                (int64_t)w_train[wi] - tb_nn_sgd_delta(acc, w_mult[c], w_shift[c], e_grad));
        }
    }
}
