/*
 * tb_nn_support.h - private integer helpers shared by the tinybench kernels.
 *
 * Each helper is the C twin of the Numba function of the same name in
 * tinybench/kernels/support.py; the rules are defined in docs/kernels.md.
 * Only <stdint.h>: no libc, no floating point.
 */
#ifndef TB_NN_SUPPORT_H
#define TB_NN_SUPPORT_H

#include <stdint.h>
#include <stddef.h>

/* The kernels need `>>` on negative signed integers to be arithmetic (floor), as gcc,
 * clang and armcc define it; C99 leaves it implementation-defined, so refuse others. */
typedef char tb_nn_arithmetic_shift_check[((-1) >> 1) == -1 ? 1 : -1];

#define TB_NN_GRAD_MAX 127

static inline int32_t tb_nn_sat_s8(int64_t v)
{
    if (v < -128) {
        return -128;
    }
    if (v > 127) {
        return 127;
    }
    return (int32_t)v;
}

static inline int32_t tb_nn_sat_s32(int64_t v)
{
    if (v < INT32_MIN) {
        return INT32_MIN;
    }
    if (v > INT32_MAX) {
        return INT32_MAX;
    }
    return (int32_t)v;
}

/* (int64(acc) * m + 2^(s-1)) >> s, floor: round half up; s in [1, 62]. */
static inline int64_t tb_nn_requantize(int32_t acc, int32_t m, int32_t s)
{
    return ((int64_t)acc * m + ((int64_t)1 << (s - 1))) >> s;
}

/* Round-half-up right shift of an int64 by n in [0, 62]. */
static inline int64_t tb_nn_round_shift(int64_t a, int32_t n)
{
    if (n == 0) {
        return a;
    }
    return (a + ((int64_t)1 << (n - 1))) >> n;
}

/* Smallest n >= 0 with round_shift(amax, n) <= 127 and round_shift(amin, n) >= -127. */
static inline int32_t tb_nn_grad_shift(int64_t amax, int64_t amin)
{
    int32_t n = 0;
    while (tb_nn_round_shift(amax, n) > TB_NN_GRAD_MAX ||
           tb_nn_round_shift(amin, n) < -TB_NN_GRAD_MAX) {
        n++;
    }
    return n;
}

/* Bit i of a packed mask (1 = gradient passes); a NULL mask passes everything. */
static inline int32_t tb_nn_mask_get(const uint8_t *mask, int32_t i)
{
    if (mask == NULL) {
        return 1;
    }
    return (mask[i >> 3] >> (i & 7)) & 1;
}

/* Collect bit i of a mask written in order; store each byte once full. Returns the
 * pending bits. A NULL mask is not written. */
static inline uint32_t tb_nn_mask_put(uint8_t *mask, int32_t i, uint32_t bits, uint32_t bit)
{
    bits = bits | (bit << (i & 7));
    if ((i & 7) == 7) {
        if (mask != NULL) {
            mask[i >> 3] = (uint8_t)bits;
        }
        return 0;
    }
    return bits;
}

/* Store the last, partial byte of a mask of n bits (its unused high bits are 0). */
static inline void tb_nn_mask_flush(uint8_t *mask, int32_t n, uint32_t bits)
{
    if ((n & 7) != 0 && mask != NULL) {
        mask[n >> 3] = (uint8_t)bits;
    }
}

/* Unclamped output requantize(sat_s32(acc + bias), m, s) + y_zero. */
static inline int64_t tb_nn_output_s8(int32_t acc, int32_t bias, int32_t m, int32_t s,
                                      int32_t y_zero)
{
    return tb_nn_requantize(tb_nn_sat_s32((int64_t)acc + bias), m, s) + y_zero;
}

/* Floor division by a positive divisor (C's `/` truncates toward zero); 32-bit, so that
 * Cortex-M uses SDIV rather than a libgcc 64-bit division. */
static inline int32_t tb_nn_floor_div(int32_t num, int32_t den)
{
    int32_t q = num / den;
    if (num % den != 0 && num < 0) {
        q -= 1;
    }
    return q;
}

/* SGD step sat_s32(round_half_up(grad * m * 2^(e_grad - shift))); see docs/kernels.md
 * for the ends of the effective shift s = shift - e_grad (s > 62: 0; s <= 0: saturating
 * left shift). */
static inline int32_t tb_nn_sgd_delta(int32_t grad, int32_t m, int32_t shift, int32_t e_grad)
{
    int64_t s = (int64_t)shift - e_grad;
    int64_t prod = (int64_t)grad * m;
    int64_t t;
    if (prod == 0 || s > 62) {
        return 0;
    }
    if (s >= 1) {
        return tb_nn_sat_s32((prod + ((int64_t)1 << (s - 1))) >> s);
    }
    t = -s;
    if (t > 31) {
        t = 31;
    }
    return tb_nn_sat_s32((int64_t)tb_nn_sat_s32(prod) * ((int64_t)1 << t));
}

#endif /* TB_NN_SUPPORT_H */
