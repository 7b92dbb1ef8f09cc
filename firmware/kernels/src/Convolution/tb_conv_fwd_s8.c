/* tb_conv_fwd_s8 - dense k x k convolution; twin of tinybench/kernels/convolution.py. */
#include "tb_kernels.h"
#include "Internal/tb_nn_support.h"

void tb_conv_fwd_s8(const int8_t *x, int32_t h_in, int32_t w_in, int32_t c_in, int32_t x_zero,
                    const int8_t *w_train, const int8_t *w_frozen, int32_t k_train,
                    const int32_t *bias, int32_t c_out, int32_t kernel, int32_t stride,
                    const int32_t *mult, const int32_t *shift, int32_t y_zero, int8_t *y,
                    uint8_t *mask)
{
    const int32_t h_out = (h_in + stride - 1) / stride;
    const int32_t w_out = (w_in + stride - 1) / stride;
    const int32_t k_frozen = c_in - k_train;
    const int32_t kk = kernel * kernel;
    int32_t i = 0;
    uint32_t bits = 0;
    int32_t oy, ox, c;
    for (oy = 0; oy < h_out; oy++) {
        for (ox = 0; ox < w_out; ox++) {
            for (c = 0; c < c_out; c++) {
                const int32_t acc =
                    tb_nn_window_sum(x, h_in, w_in, c_in, 0, x_zero, w_train, c * kk * k_train,
                                     k_train, kernel, stride, oy, ox) +
                    tb_nn_window_sum(x, h_in, w_in, c_in, k_train, x_zero, w_frozen,
                                     c * kk * k_frozen, k_frozen, kernel, stride, oy, ox);
                const int64_t v = tb_nn_output_s8(acc, bias[c], mult[c], shift[c], y_zero);
                bits = tb_nn_store_s8(y, mask, i, bits, v);
                i++;
            }
        }
    }
    tb_nn_mask_flush(mask, i, bits);
}
