/* tb_sgd_update_s32 - SGD step of int32 biases; twin of tinybench/kernels/update.py. */
#include "tb_kernels.h"
#include "Internal/tb_nn_support.h"

void tb_sgd_update_s32(int32_t *b, const int32_t *grad_b, int32_t n, const int32_t *mult,
                       const int32_t *shift, int32_t e_grad)
{
    int32_t c;
    for (c = 0; c < n; c++) {
        b[c] = tb_nn_sgd_step_s32(b[c], grad_b[c], mult[c], shift[c], e_grad);
    }
}
