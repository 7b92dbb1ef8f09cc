/* tb_channel_copy_fwd_s8 - first k channels of an HWC tensor; twin of tinybench/kernels/elementwise.py. */
#include "tb_kernels.h"

void tb_channel_copy_fwd_s8(const int8_t *x, int32_t positions, int32_t c, int32_t k, int8_t *y)
{
    int32_t pos, ch;
    for (pos = 0; pos < positions; pos++) {
        for (ch = 0; ch < k; ch++) {
            y[pos * k + ch] = x[pos * c + ch];
        }
    }
}
