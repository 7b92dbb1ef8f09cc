/* tb_pointwise_bwd_weight_s32 - weight/bias gradient sums of a 1x1 convolution;
 * twin of tinybench/kernels/convolution_backward.py. */
#include "tb_kernels.h"
#include "Internal/tb_nn_support.h"

void tb_pointwise_bwd_weight_s32(const int8_t *grad, const uint8_t *mask,
                                 const int8_t *x_saved, int32_t h, int32_t w, int32_t k_train,
                                 int32_t x_zero, int32_t c_out, int32_t *grad_w,
                                 int32_t *grad_b)
{
    int32_t c, ci;
    for (c = 0; c < c_out; c++) {
        grad_b[c] = tb_nn_bias_grad_sum(grad, mask, h * w, c_out, c);
        for (ci = 0; ci < k_train; ci++) {
            grad_w[c * k_train + ci] = tb_nn_pointwise_weight_grad_sum(
                grad, mask, x_saved, h * w, k_train, x_zero, c_out, c, ci);
        }
    }
}
