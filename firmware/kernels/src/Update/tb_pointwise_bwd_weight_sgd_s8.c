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
    int32_t c, ci;
    for (c = 0; c < c_out; c++) {
        const int32_t gsum = tb_nn_bias_grad_sum(grad, mask, h * w, c_out, c);
        bias[c] = tb_nn_sgd_step_s32(bias[c], gsum, b_mult[c], b_shift[c], e_grad);
        for (ci = 0; ci < k_train; ci++) {
            const int32_t acc = tb_nn_pointwise_weight_grad_sum(grad, mask, x_saved, h * w,
                                                                k_train, x_zero, c_out, c, ci);
            const int32_t wi = c * k_train + ci;
            w_train[wi] = tb_nn_sgd_step_s8(w_train[wi], acc, w_mult[c], w_shift[c], e_grad);
        }
    }
}
