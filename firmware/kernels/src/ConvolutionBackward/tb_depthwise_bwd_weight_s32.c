/* tb_depthwise_bwd_weight_s32 - weight/bias gradient sums of a depthwise convolution;
 * twin of tinybench/kernels/convolution_backward.py. */
#include "tb_kernels.h"
#include "Internal/tb_nn_support.h"

void tb_depthwise_bwd_weight_s32(const int8_t *grad, const uint8_t *mask,
                                 const int8_t *x_saved, int32_t h_in, int32_t w_in, int32_t c,
                                 int32_t k_train, int32_t x_zero, int32_t kernel,
                                 int32_t stride, int32_t *grad_w, int32_t *grad_b)
{
    const int32_t pad = kernel / 2;
    const int32_t h_out = (h_in + stride - 1) / stride;
    const int32_t w_out = (w_in + stride - 1) / stride;
    int32_t ch, pos, ky, kx, oy, ox;
    for (ch = 0; ch < c; ch++) {
        int32_t gsum = 0;
        for (pos = 0; pos < h_out * w_out; pos++) {
            const int32_t gi = pos * c + ch;
            if (tb_nn_mask_get(mask, gi)) {
                gsum += grad[gi];
            }
        }
        grad_b[ch] = gsum;
        if (ch >= k_train) {
            continue;
        }
        for (ky = 0; ky < kernel; ky++) {
            for (kx = 0; kx < kernel; kx++) {
                int32_t acc = 0;
                for (oy = 0; oy < h_out; oy++) {
                    const int32_t iy = oy * stride - pad + ky;
                    if (iy < 0 || iy >= h_in) {
                        continue;
                    }
                    for (ox = 0; ox < w_out; ox++) {
                        const int32_t ix = ox * stride - pad + kx;
                        int32_t gi;
                        if (ix < 0 || ix >= w_in) {
                            continue;
                        }
                        gi = (oy * w_out + ox) * c + ch;
                        if (tb_nn_mask_get(mask, gi) == 0) {
                            continue;
                        }
                        acc += grad[gi] * (x_saved[(iy * w_in + ix) * k_train + ch] - x_zero);
                    }
                }
                grad_w[(ch * kernel + ky) * kernel + kx] = acc;
            }
        }
    }
}
