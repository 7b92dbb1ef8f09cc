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
    const int32_t h_out = (h_in + stride - 1) / stride;
    const int32_t w_out = (w_in + stride - 1) / stride;
    const int32_t n = h_out * w_out * c_mid;
    int32_t b, ch, pos, oy, ox;
    if (mask) {
        for (b = 0; b < (n + 7) / 8; b++) {
            mask[b] = 0;
        }
    }
    for (ch = 0; ch < c_mid; ch++) {
        for (pos = 0; pos < h_in * w_in; pos++) {
            const int32_t acc = tb_nn_dot_s8(x, pos * c_in, x_zero, pw_w, ch * c_in, c_in);
            plane[pos] = (int8_t)tb_nn_sat_s8(tb_nn_output_s8(acc, pw_bias[ch], pw_mult[ch], pw_shift[ch], mid_zero));
        }
        for (oy = 0; oy < h_out; oy++) {
            for (ox = 0; ox < w_out; ox++) {
                const int32_t acc = tb_nn_window_sum(plane, h_in, w_in, 1, 0, mid_zero, dw_w,
                                                     ch * kernel * kernel, 1, kernel, stride, oy, ox);
                const int64_t v = tb_nn_output_s8(acc, dw_bias[ch], dw_mult[ch], dw_shift[ch], y_zero);
                const int32_t i = (oy * w_out + ox) * c_mid + ch;
                y[i] = (int8_t)tb_nn_sat_s8(v);
                if (mask && v >= -128 && v <= 127) {
                    mask[i >> 3] = (uint8_t)(mask[i >> 3] | (1u << (i & 7)));
                }
            }
        }
    }
    return n;
}
