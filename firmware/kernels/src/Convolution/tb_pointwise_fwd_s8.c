/* tb_pointwise_fwd_s8 - 1x1 convolution; twin of tinybench/kernels/convolution.py. */
#include "tb_kernels.h"
#include "Internal/tb_nn_support.h"

void tb_pointwise_fwd_s8(const int8_t *x, int32_t h, int32_t w, int32_t c_in, int32_t x_zero,
                         const int8_t *w_train, const int8_t *w_frozen, int32_t k_train,
                         const int32_t *bias, int32_t c_out, const int32_t *mult,
                         const int32_t *shift, int32_t y_zero, int8_t *y, uint8_t *mask)
{
    const int32_t k_frozen = c_in - k_train;
    int32_t i = 0;
    uint32_t bits = 0;
    int32_t pos, c;
    for (pos = 0; pos < h * w; pos++) {
        const int32_t xb = pos * c_in;
        for (c = 0; c < c_out; c++) {
            const int32_t acc = tb_nn_dot_s8(x, xb, x_zero, w_train, c * k_train, k_train) +
                                tb_nn_dot_s8(x, xb + k_train, x_zero, w_frozen, c * k_frozen, k_frozen);
            const int64_t v = tb_nn_output_s8(acc, bias[c], mult[c], shift[c], y_zero);
            bits = tb_nn_store_s8(y, mask, i, bits, v);
            i++;
        }
    }
    tb_nn_mask_flush(mask, i, bits);
}
