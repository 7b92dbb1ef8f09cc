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

/* Widen rng = {largest, smallest} accumulator (both start at 0) to include acc: pass 1 of
 * the runtime shift rule. */
static inline void tb_nn_range_add(int64_t *rng, int64_t acc)
{
    if (acc > rng[0]) {
        rng[0] = acc;
    }
    if (acc < rng[1]) {
        rng[1] = acc;
    }
}

/* Smallest n >= 0 with round_shift(rng[0], n) <= 127 and round_shift(rng[1], n) >= -127:
 * every accumulator of the range (tb_nn_range_add) then lands in [-127, 127]. */
static inline int32_t tb_nn_grad_shift(const int64_t *rng)
{
    int32_t n = 0;
    while (tb_nn_round_shift(rng[0], n) > TB_NN_GRAD_MAX ||
           tb_nn_round_shift(rng[1], n) < -TB_NN_GRAD_MAX) {
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

/* y[i] = sat_s8(v) and bit i of a mask written in order (1: v fits int8, the clamp was not
 * active), see tb_nn_mask_put. Returns the pending bits. */
static inline uint32_t tb_nn_store_s8(int8_t *y, uint8_t *mask, int32_t i, uint32_t bits,
                                      int64_t v)
{
    y[i] = (int8_t)tb_nn_sat_s8(v);
    return tb_nn_mask_put(mask, i, bits, (v >= -128 && v <= 127) ? 1u : 0u);
}

/* sum over j < n of (x[x_first + j] - x_zero) * w[w_first + j]. */
static inline int32_t tb_nn_dot_s8(const int8_t *x, int32_t x_first, int32_t x_zero,
                                   const int8_t *w, int32_t w_first, int32_t n)
{
    int32_t acc = 0;
    int32_t j;
    for (j = 0; j < n; j++) {
        acc += (x[x_first + j] - x_zero) * w[w_first + j];
    }
    return acc;
}

/* Accumulator of output position (oy, ox) of a k x k convolution (padding k / 2) over n input
 * channels: for each tap (ky, kx) inside the input, with iy = oy * stride - k / 2 + ky
 * (likewise ix), tb_nn_dot_s8 of x[iy, ix, x_first .. x_first + n) (of x_channels channels)
 * with the n weights at w[w_first + (ky * k + kx) * n]; padding taps contribute 0. Dense: one
 * call per weight part (a part of n = 0 channels costs no tap loop); depthwise: n = 1. */
static inline int32_t tb_nn_window_sum(const int8_t *x, int32_t h_in, int32_t w_in,
                                       int32_t x_channels, int32_t x_first, int32_t x_zero,
                                       const int8_t *w, int32_t w_first, int32_t n,
                                       int32_t kernel, int32_t stride, int32_t oy, int32_t ox)
{
    const int32_t pad = kernel / 2;
    int32_t acc = 0;
    int32_t ky, kx;
    if (n == 0) {
        return 0;
    }
    for (ky = 0; ky < kernel; ky++) {
        const int32_t iy = oy * stride - pad + ky;
        if (iy < 0 || iy >= h_in) {
            continue;
        }
        for (kx = 0; kx < kernel; kx++) {
            const int32_t ix = ox * stride - pad + kx;
            if (ix < 0 || ix >= w_in) {
                continue;
            }
            acc += tb_nn_dot_s8(x, (iy * w_in + ix) * x_channels + x_first, x_zero,
                                w, w_first + ky * kernel * n + kx * n, n);
        }
    }
    return acc;
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

/* The SGD step of one int8 weight: sat_s8(w - tb_nn_sgd_delta(grad, m, shift, e_grad)). */
static inline int8_t tb_nn_sgd_step_s8(int8_t w, int32_t grad, int32_t m, int32_t shift,
                                       int32_t e_grad)
{
    return (int8_t)tb_nn_sat_s8((int64_t)w - tb_nn_sgd_delta(grad, m, shift, e_grad));
}

/* The SGD step of one int32 bias: sat_s32(b - tb_nn_sgd_delta(grad, m, shift, e_grad)). */
static inline int32_t tb_nn_sgd_step_s32(int32_t b, int32_t grad, int32_t m, int32_t shift,
                                         int32_t e_grad)
{
    return tb_nn_sat_s32((int64_t)b - tb_nn_sgd_delta(grad, m, shift, e_grad));
}

/* Bias gradient of channel c: the masked output gradient grad[pos, c] (of `channels`
 * channels) summed over `positions`. */
static inline int32_t tb_nn_bias_grad_sum(const int8_t *grad, const uint8_t *mask,
                                          int32_t positions, int32_t channels, int32_t c)
{
    int32_t gsum = 0;
    int32_t pos;
    for (pos = 0; pos < positions; pos++) {
        const int32_t gi = pos * channels + c;
        if (tb_nn_mask_get(mask, gi)) {
            gsum += grad[gi];
        }
    }
    return gsum;
}

/* Weight gradient grad_w[c, ky, kx, ci] of a k x k convolution (padding k / 2): the masked
 * output gradient grad[oy, ox, c] (of `channels` channels) times x_saved[iy, ix, ci] - x_zero
 * (of k_train channels), summed over the output positions, with iy = oy * stride - k / 2 + ky
 * (likewise ix); taps outside the input contribute 0. Dense: channels = C_out; depthwise:
 * channels = C and ci = c (a 1x1 convolution has the flat tb_nn_pointwise_weight_grad_sum). */
static inline int32_t tb_nn_weight_grad_sum(const int8_t *grad, const uint8_t *mask,
                                            const int8_t *x_saved, int32_t h_in, int32_t w_in,
                                            int32_t k_train, int32_t x_zero, int32_t channels,
                                            int32_t kernel, int32_t stride, int32_t c,
                                            int32_t ky, int32_t kx, int32_t ci)
{
    const int32_t pad = kernel / 2;
    const int32_t h_out = (h_in + stride - 1) / stride;
    const int32_t w_out = (w_in + stride - 1) / stride;
    int32_t acc = 0;
    int32_t oy, ox;
    for (oy = 0; oy < h_out; oy++) {
        const int32_t iy = oy * stride - pad + ky;
        if (iy < 0 || iy >= h_in) {
            continue;
        }
        for (ox = 0; ox < w_out; ox++) {
            const int32_t ix = ox * stride - pad + kx;
            int32_t gi;
            if (ix < 0 || ix >= w_in) {
                continue;
            }
            gi = (oy * w_out + ox) * channels + c;
            if (tb_nn_mask_get(mask, gi) == 0) {
                continue;
            }
            acc += grad[gi] * (x_saved[(iy * w_in + ix) * k_train + ci] - x_zero);
        }
    }
    return acc;
}

/* Weight gradient grad_w[c, ci] of a 1x1 convolution: the masked output gradient grad[pos, c]
 * (of `channels` channels) times x_saved[pos, ci] - x_zero (of k_train channels), summed over
 * `positions`. */
static inline int32_t tb_nn_pointwise_weight_grad_sum(const int8_t *grad, const uint8_t *mask,
                                                      const int8_t *x_saved, int32_t positions,
                                                      int32_t k_train, int32_t x_zero,
                                                      int32_t channels, int32_t c, int32_t ci)
{
    int32_t acc = 0;
    int32_t pos;
    for (pos = 0; pos < positions; pos++) {
        const int32_t gi = pos * channels + c;
        if (tb_nn_mask_get(mask, gi) == 0) {
            continue;
        }
        acc += grad[gi] * (x_saved[pos * k_train + ci] - x_zero);
    }
    return acc;
}

/* The output index o in [0, n_out) whose tap k reads input index i (o * stride - pad + k = i),
 * or -1 if there is none: the gather of a transposed convolution. */
static inline int32_t tb_nn_tap_output(int32_t i, int32_t k, int32_t pad, int32_t stride,
                                       int32_t n_out)
{
    const int32_t t = i + pad - k;
    if (t < 0 || t % stride != 0 || t / stride >= n_out) {
        return -1;
    }
    return t / stride;
}

/* Input gradient of input channel ci from one output position of a dense (or 1x1)
 * convolution: the masked output gradients grad[gb + c] times w_factor[c] times the weight
 * w[c, tap, ci] (taps = k * k per output channel, split into the trained and frozen parts),
 * summed over the c_out output channels in int64. */
static inline int64_t tb_nn_input_grad_sum(const int8_t *grad, const uint8_t *mask, int32_t gb,
                                           int32_t c_out, const int32_t *w_factor,
                                           const int8_t *w_train, const int8_t *w_frozen,
                                           int32_t k_train, int32_t c_in, int32_t taps,
                                           int32_t tap, int32_t ci)
{
    const int32_t k_frozen = c_in - k_train;
    int64_t acc = 0;
    int32_t c;
    for (c = 0; c < c_out; c++) {
        int32_t gf, wv;
        if (tb_nn_mask_get(mask, gb + c) == 0) {
            continue;
        }
        gf = grad[gb + c] * w_factor[c];
        if (ci < k_train) {
            wv = w_train[(c * taps + tap) * k_train + ci];
        } else {
            wv = w_frozen[(c * taps + tap) * k_frozen + ci - k_train];
        }
        acc += (int64_t)gf * wv;
    }
    return acc;
}

#endif /* TB_NN_SUPPORT_H */
