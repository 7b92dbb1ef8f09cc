/* tb_conv_bwd_weight_s32 - weight/bias gradient sums of a dense convolution;
 * twin of tinybench/kernels/convolution_backward.py. */
#include "tb_kernels.h"
#include "Internal/tb_nn_support.h"

void tb_conv_bwd_weight_s32(const int8_t *grad, const uint8_t *mask, const int8_t *x_saved,
                            int32_t h_in, int32_t w_in, int32_t k_train, int32_t x_zero,
                            int32_t c_out, int32_t kernel, int32_t stride, int32_t *grad_w,
                            int32_t *grad_b)
{
    const int32_t h_out = (h_in + stride - 1) / stride;
    const int32_t w_out = (w_in + stride - 1) / stride;
    int32_t c, ky, kx, ci;
    for (c = 0; c < c_out; c++) {
        grad_b[c] = tb_nn_bias_grad_sum(grad, mask, h_out * w_out, c_out, c);
        for (ky = 0; ky < kernel; ky++) {
            for (kx = 0; kx < kernel; kx++) {
                for (ci = 0; ci < k_train; ci++) {
                    grad_w[((c * kernel + ky) * kernel + kx) * k_train + ci] =
                        tb_nn_weight_grad_sum(grad, mask, x_saved, h_in, w_in, k_train, x_zero,
                                              c_out, kernel, stride, c, ky, kx, ci);
                }
            }
        }
    }
}
