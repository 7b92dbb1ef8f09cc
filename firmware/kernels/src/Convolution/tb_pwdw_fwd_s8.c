/* tb_pwdw_fwd_s8 - frozen pointwise fused with the following depthwise, one channel plane at a
 * time; twin of tinybench/kernels/fused.py. */
#include "tb_kernels.h"
#include "Internal/tb_nn_support.h"

int32_t tb_pwdw_fwd_s8(const int8_t *x, int32_t h_in, int32_t w_in, int32_t c_in, int32_t x_zero,
                       const int8_t *pw_w, const int32_t *pw_bias, const int32_t *pw_mult,
                       const int32_t *pw_shift, int32_t mid_zero, int32_t c_mid, int8_t *plane,
                       const int8_t *dw_w, const int32_t *dw_bias, int32_t kernel, int32_t stride,
                       const int32_t *dw_mult, const int32_t *dw_shift, int32_t y_zero, int8_t *y,
                       uint8_t *mask)
{
    const int32_t pad = kernel / 2;
    const int32_t h_out = (h_in + stride - 1) / stride;
    const int32_t w_out = (w_in + stride - 1) / stride;
    const int32_t n = h_out * w_out * c_mid;
    int32_t b, ch, pos, ci, oy, ox, ky, kx;
    if (mask) {
        for (b = 0; b < (n + 7) / 8; b++) {
            mask[b] = 0;
        }
    }
    for (ch = 0; ch < c_mid; ch++) {
        for (pos = 0; pos < h_in * w_in; pos++) {
            int32_t acc = 0;
            for (ci = 0; ci < c_in; ci++) {
                acc += (x[pos * c_in + ci] - x_zero) * pw_w[ch * c_in + ci];
            }
            plane[pos] = (int8_t)tb_nn_sat_s8(tb_nn_output_s8(acc, pw_bias[ch], pw_mult[ch], pw_shift[ch], mid_zero));
        }
        for (oy = 0; oy < h_out; oy++) {
            for (ox = 0; ox < w_out; ox++) {
                int32_t acc = 0;
                int32_t i;
                int64_t v;
                for (ky = 0; ky < kernel; ky++) {
                    const int32_t iy = oy * stride - pad + ky;
                    if (iy < 0 || iy >= h_in) {
                        continue;
                    }
                    for (kx = 0; kx < kernel; kx++) {
                        const int32_t ix = ox * stride - pad + kx;
                        if (ix < 0 || ix >= w_in) {
                            continue;
                        }
                        acc += (plane[iy * w_in + ix] - mid_zero) * dw_w[(ch * kernel + ky) * kernel + kx];
                    }
                }
                v = tb_nn_output_s8(acc, dw_bias[ch], dw_mult[ch], dw_shift[ch], y_zero);
                i = (oy * w_out + ox) * c_mid + ch;
                y[i] = (int8_t)tb_nn_sat_s8(v);
                if (mask && v >= -128 && v <= 127) {
                    mask[i >> 3] = (uint8_t)(mask[i >> 3] | (1u << (i & 7)));
                }
            }
        }
    }
    return n;
}
