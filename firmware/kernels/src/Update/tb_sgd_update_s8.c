/* tb_sgd_update_s8 - SGD step of int8 weights; twin of tinybench/kernels/update.py. */
#include "tb_kernels.h"
#include "Internal/tb_nn_support.h"

void tb_sgd_update_s8(int8_t *w, const int32_t *grad_w, int32_t rows, int32_t row_len,
                      const int32_t *mult, const int32_t *shift, int32_t e_grad)
{
    int32_t r, j;
    for (r = 0; r < rows; r++) {
        for (j = 0; j < row_len; j++) {
            const int32_t i = r * row_len + j;
            w[i] = tb_nn_sgd_step_s8(w[i], grad_w[i], mult[r], shift[r], e_grad);
        }
    }
}
