/* tb_conv_fwd_s8 - dense k x k convolution; twin of tinybench/kernels/convolution.py. */
#include "tb_kernels.h"
#include "Internal/tb_nn_support.h"

void tb_conv_fwd_s8(const int8_t *x, int32_t h_in, int32_t w_in, int32_t c_in, int32_t x_zero,
                    const int8_t *w_train, const int8_t *w_frozen, int32_t k_train,
                    const int32_t *bias, int32_t c_out, int32_t kernel, int32_t stride,
                    const int32_t *mult, const int32_t *shift, int32_t y_zero, int8_t *y,
                    uint8_t *mask)
{
    const int32_t pad = kernel / 2;
    const int32_t h_out = (h_in + stride - 1) / stride;
    const int32_t w_out = (w_in + stride - 1) / stride;
    const int32_t k_frozen = c_in - k_train;
    int32_t i = 0;
    uint32_t bits = 0;
    int32_t oy, ox, c, ky, kx, ci;
    for (oy = 0; oy < h_out; oy++) {
        for (ox = 0; ox < w_out; ox++) {
            for (c = 0; c < c_out; c++) {
                int32_t acc = 0;
                int64_t v;
                for (ky = 0; ky < kernel; ky++) {
                    const int32_t iy = oy * stride - pad + ky;
                    if (iy < 0 || iy >= h_in) {
                        continue;
                    }
                    for (kx = 0; kx < kernel; kx++) {
                        const int32_t ix = ox * stride - pad + kx;
                        int32_t xb, wt, wf;
                        if (ix < 0 || ix >= w_in) {
                            continue;
                        }
                        xb = (iy * w_in + ix) * c_in;
                        wt = ((c * kernel + ky) * kernel + kx) * k_train;
                        for (ci = 0; ci < k_train; ci++) {
                            acc += (x[xb + ci] - x_zero) * w_train[wt + ci];
                        }
                        wf = ((c * kernel + ky) * kernel + kx) * k_frozen;
                        for (ci = 0; ci < k_frozen; ci++) {
                            acc += (x[xb + k_train + ci] - x_zero) * w_frozen[wf + ci];
                        }
                    }
                }
                v = tb_nn_output_s8(acc, bias[c], mult[c], shift[c], y_zero);
                y[i] = (int8_t)tb_nn_sat_s8(v);
                bits = tb_nn_mask_put(mask, i, bits, (v >= -128 && v <= 127) ? 1u : 0u);
                i++;
            }
        }
    }
    tb_nn_mask_flush(mask, i, bits);
}
