/* tb_conv_bwd_weight_sgd_s8 - fused weight/bias gradient and SGD step of a dense
 * convolution; twin of tinybench/kernels/update.py. */
#include "tb_kernels.h"
#include "Internal/tb_nn_support.h"

void tb_conv_bwd_weight_sgd_s8(const int8_t *grad, const uint8_t *mask, const int8_t *x_saved,
                               int32_t h_in, int32_t w_in, int32_t k_train, int32_t x_zero,
                               int32_t c_out, int32_t kernel, int32_t stride, int32_t e_grad,
                               int8_t *w_train, const int32_t *w_mult, const int32_t *w_shift,
                               int32_t *bias, const int32_t *b_mult, const int32_t *b_shift)
{
    const int32_t h_out = (h_in + stride - 1) / stride;
    const int32_t w_out = (w_in + stride - 1) / stride;
    int32_t c, ky, kx, ci;
    for (c = 0; c < c_out; c++) {
        const int32_t gsum = tb_nn_bias_grad_sum(grad, mask, h_out * w_out, c_out, c);
        bias[c] = tb_nn_sgd_step_s32(bias[c], gsum, b_mult[c], b_shift[c], e_grad);
        for (ky = 0; ky < kernel; ky++) {
            for (kx = 0; kx < kernel; kx++) {
                for (ci = 0; ci < k_train; ci++) {
                    const int32_t acc =
                        tb_nn_weight_grad_sum(grad, mask, x_saved, h_in, w_in, k_train, x_zero,
                                              c_out, kernel, stride, c, ky, kx, ci);
                    const int32_t wi = ((c * kernel + ky) * kernel + kx) * k_train + ci;
                    w_train[wi] =
                        tb_nn_sgd_step_s8(w_train[wi], acc, w_mult[c], w_shift[c], e_grad);
                }
            }
        }
    }
}
