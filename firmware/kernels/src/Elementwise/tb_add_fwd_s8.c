/* tb_add_fwd_s8 - residual add; twin of tinybench/kernels/elementwise.py. */
#include "tb_kernels.h"
#include "Internal/tb_nn_support.h"

void tb_add_fwd_s8(const int8_t *a, int32_t a_zero, const int8_t *b, int32_t b_zero,
                   int32_t n, int32_t mult_a, int32_t mult_b, int32_t shift, int32_t y_zero,
                   int8_t *y, uint8_t *mask)
{
    const int64_t rnd = (int64_t)1 << (shift - 1);
    uint32_t bits = 0;
    int32_t i;
    for (i = 0; i < n; i++) {
        const int64_t acc = ((int64_t)(a[i] - a_zero) * mult_a +
                             (int64_t)(b[i] - b_zero) * mult_b + rnd) >> shift;
        bits = tb_nn_store_s8(y, mask, i, bits, acc + y_zero);
    }
    tb_nn_mask_flush(mask, n, bits);
}
