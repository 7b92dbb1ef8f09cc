/* tb_pointwise_bwd_weight_s32 - weight/bias gradient sums of a 1x1 convolution;
 * twin of tinybench/kernels/convolution_backward.py. */
#include "tb_kernels.h"
#include "Internal/tb_nn_support.h"

void tb_pointwise_bwd_weight_s32(const int8_t *grad, const uint8_t *mask,
                                 const int8_t *x_saved, int32_t h, int32_t w, int32_t k_train,
                                 int32_t x_zero, int32_t c_out, int32_t *grad_w,
                                 int32_t *grad_b)
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
        grad_b[c] = gsum;
        for (ci = 0; ci < k_train; ci++) {
            int32_t acc = 0;
            for (pos = 0; pos < h * w; pos++) {
                const int32_t gi = pos * c_out + c;
                if (tb_nn_mask_get(mask, gi) == 0) {
                    continue;
                }
                acc += grad[gi] * (x_saved[pos * k_train + ci] - x_zero);
            }
            grad_w[c * k_train + ci] = acc;
        }
    }
}
