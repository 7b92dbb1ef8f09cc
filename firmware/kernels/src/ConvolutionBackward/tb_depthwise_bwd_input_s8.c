/* tb_depthwise_bwd_input_s8 - input gradient of a depthwise convolution;
 * twin of tinybench/kernels/convolution_backward.py. */
#include "tb_kernels.h"
#include "Internal/tb_nn_support.h"

int32_t tb_depthwise_bwd_input_s8(const int8_t *grad, int32_t e_grad, const uint8_t *mask,
                                  int32_t h_in, int32_t w_in, int32_t c,
                                  const int8_t *w_train, const int8_t *w_frozen,
                                  int32_t k_train, int32_t kernel, int32_t stride,
                                  const int32_t *w_factor, int32_t w_exp, int8_t *grad_in)
{
    const int32_t pad = kernel / 2;
    const int32_t h_out = (h_in + stride - 1) / stride;
    const int32_t w_out = (w_in + stride - 1) / stride;
    int64_t rng[2] = {0, 0};
    int32_t n_shift = 0;
    int32_t p, iy, ix, ch, ky, kx;
    for (p = 0; p < 2; p++) {
        if (p == 1) {
            n_shift = tb_nn_grad_shift(rng);
        }
        for (iy = 0; iy < h_in; iy++) {
            for (ix = 0; ix < w_in; ix++) {
                for (ch = 0; ch < c; ch++) {
                    int32_t acc32 = 0;
                    int64_t acc;
                    for (ky = 0; ky < kernel; ky++) {
                        const int32_t oy = tb_nn_tap_output(iy, ky, pad, stride, h_out);
                        if (oy < 0) {
                            continue;
                        }
                        for (kx = 0; kx < kernel; kx++) {
                            const int32_t ox = tb_nn_tap_output(ix, kx, pad, stride, w_out);
                            int32_t gi, wv;
                            if (ox < 0) {
                                continue;
                            }
                            gi = (oy * w_out + ox) * c + ch;
                            if (tb_nn_mask_get(mask, gi) == 0) {
                                continue;
                            }
                            if (ch < k_train) {
                                wv = w_train[(ch * kernel + ky) * kernel + kx];
                            } else {
                                wv = w_frozen[((ch - k_train) * kernel + ky) * kernel + kx];
                            }
                            acc32 += grad[gi] * wv;
                        }
                    }
                    acc = (int64_t)acc32 * w_factor[ch];
                    if (p == 0) {
                        tb_nn_range_add(rng, acc);
                    } else {
                        grad_in[(iy * w_in + ix) * c + ch] = (int8_t)tb_nn_round_shift(acc, n_shift);
                    }
                }
            }
        }
    }
    return e_grad + w_exp + n_shift;
}
