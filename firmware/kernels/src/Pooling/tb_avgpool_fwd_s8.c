/* tb_avgpool_fwd_s8 - global average pool; twin of tinybench/kernels/pooling.py. */
#include "tb_kernels.h"
#include "Internal/tb_nn_support.h"

void tb_avgpool_fwd_s8(const int8_t *x, int32_t h, int32_t w, int32_t c, int32_t zero,
                       int8_t *y)
{
    const int32_t hw = h * w;
    int32_t ch, pos;
    for (ch = 0; ch < c; ch++) {
        int32_t acc = 0;
        for (pos = 0; pos < hw; pos++) {
            acc += x[pos * c + ch] - zero;
        }
        y[ch] = (int8_t)(zero + tb_nn_floor_div(2 * acc + hw, 2 * hw));
    }
}
