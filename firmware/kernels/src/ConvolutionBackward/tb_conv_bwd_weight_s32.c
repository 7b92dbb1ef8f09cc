/* tb_conv_bwd_weight_s32 - weight/bias gradient sums of a dense convolution;
 * twin of tinybench/kernels/convolution_backward.py. */
#include "tb_kernels.h"
#include "Internal/tb_nn_support.h"

void tb_conv_bwd_weight_s32(const int8_t *grad, const uint8_t *mask, const int8_t *x_saved,
                            int32_t h_in, int32_t w_in, int32_t k_train, int32_t x_zero,
                            int32_t c_out, int32_t kernel, int32_t stride, int32_t *grad_w,
                            int32_t *grad_b)
{
    const int32_t pad = kernel / 2;
    const int32_t h_out = (h_in + stride - 1) / stride;
    const int32_t w_out = (w_in + stride - 1) / stride;
    int32_t c, pos, ky, kx, ci, oy, ox;
    for (c = 0; c < c_out; c++) {
        int32_t gsum = 0;
        for (pos = 0; pos < h_out * w_out; pos++) {
            const int32_t gi = pos * c_out + c;
            if (tb_nn_mask_get(mask, gi)) {
                gsum += grad[gi];
            }
        }
        grad_b[c] = gsum;
        for (ky = 0; ky < kernel; ky++) {
            for (kx = 0; kx < kernel; kx++) {
                for (ci = 0; ci < k_train; ci++) {
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
                            gi = (oy * w_out + ox) * c_out + c;
                            if (tb_nn_mask_get(mask, gi) == 0) {
                                continue;
                            }
                            acc += grad[gi] * (x_saved[(iy * w_in + ix) * k_train + ci] - x_zero);
                        }
                    }
                    grad_w[((c * kernel + ky) * kernel + kx) * k_train + ci] = acc;
                }
            }
        }
    }
}
