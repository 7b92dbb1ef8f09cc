/* tb_add_bwd_s8 - gradient of the residual add; twin of tinybench/kernels/elementwise.py. */
#include "tb_kernels.h"
#include "Internal/tb_nn_support.h"

int32_t tb_add_bwd_s8(const int8_t *grad, int32_t e_grad, const uint8_t *mask, int32_t n,
                      int8_t *grad_in)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        grad_in[i] = tb_nn_mask_get(mask, i) ? grad[i] : 0;
    }
    return e_grad;
}
