/* tb_depthwise_fwd_s8 - depthwise k x k convolution; twin of tinybench/kernels/convolution.py. */
#include "tb_kernels.h"
#include "Internal/tb_nn_support.h"

void tb_depthwise_fwd_s8(const int8_t *x, int32_t h_in, int32_t w_in, int32_t c,
                         int32_t x_zero, const int8_t *w_train, const int8_t *w_frozen,
                         int32_t k_train, const int32_t *bias, int32_t kernel, int32_t stride,
                         const int32_t *mult, const int32_t *shift, int32_t y_zero, int8_t *y,
                         uint8_t *mask)
{
    const int32_t h_out = (h_in + stride - 1) / stride;
    const int32_t w_out = (w_in + stride - 1) / stride;
    const int32_t kk = kernel * kernel;
    int32_t i = 0;
    uint32_t bits = 0;
    int32_t oy, ox, ch;
    for (oy = 0; oy < h_out; oy++) {
        for (ox = 0; ox < w_out; ox++) {
            for (ch = 0; ch < c; ch++) {
                int32_t acc;
                int64_t v;
                if (ch < k_train) {
                    acc = tb_nn_window_sum(x, h_in, w_in, c, ch, x_zero, w_train, ch * kk, 1,
                                           kernel, stride, oy, ox);
                } else {
                    acc = tb_nn_window_sum(x, h_in, w_in, c, ch, x_zero, w_frozen,
                                           (ch - k_train) * kk, 1, kernel, stride, oy, ox);
                }
                v = tb_nn_output_s8(acc, bias[ch], mult[ch], shift[ch], y_zero);
                bits = tb_nn_store_s8(y, mask, i, bits, v);
                i++;
            }
        }
    }
    tb_nn_mask_flush(mask, i, bits);
}
