/* tb_grad_sum_bwd_s8 - sum of two activation gradients; twin of tinybench/kernels/elementwise.py. */
#include "tb_kernels.h"
#include "Internal/tb_nn_support.h"

int32_t tb_grad_sum_bwd_s8(const int8_t *a, int32_t e_a, const int8_t *b, int32_t e_b,
                           int32_t n, int8_t *out)
{
    const int32_t e_big = e_a > e_b ? e_a : e_b;
    int64_t d_a = (int64_t)e_big - e_a;
    int64_t d_b = (int64_t)e_big - e_b;
    int64_t rng[2] = {0, 0};
    int32_t n_shift = 0;
    int32_t p, i;
    if (d_a > 31) {
        d_a = 31;
    }
    if (d_b > 31) {
        d_b = 31;
    }
    for (p = 0; p < 2; p++) {
        if (p == 1) {
            n_shift = tb_nn_grad_shift(rng);
        }
        for (i = 0; i < n; i++) {
            const int64_t acc = tb_nn_round_shift(a[i], (int32_t)d_a) +
                                tb_nn_round_shift(b[i], (int32_t)d_b);
            if (p == 0) {
                tb_nn_range_add(rng, acc);
            } else {
                out[i] = (int8_t)tb_nn_round_shift(acc, n_shift);
            }
        }
    }
    return e_big + n_shift;
}
