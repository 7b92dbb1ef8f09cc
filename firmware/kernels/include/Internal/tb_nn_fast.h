/*
 * tb_nn_fast.h - private helpers of the fast kernels (firmware/kernels/fast).
 *
 * Each helper computes exactly what the reference helper it replaces computes
 * (Internal/tb_nn_support.h, docs/kernels.md), in fewer instructions: 32-bit arithmetic
 * where the ranges allow it, two 16-bit lanes per DSP instruction (Internal/tb_nn_dsp.h).
 * Loop nests are regular: a main loop over groups of 4 (or tiles of 2 x 2) and a remainder.
 * Only <stdint.h>/<stddef.h>: no libc, no floating point.
 */
#ifndef TB_NN_FAST_H
#define TB_NN_FAST_H

#include <stdint.h>
#include <stddef.h>

#include "Internal/tb_nn_dsp.h"
#include "Internal/tb_nn_support.h"

/* ------------------------------------------------------------ requantized output */

/* The requantization of one output channel, prepared once per channel:
 * tb_nn_output_s8(acc, bias, m, s, y_zero) saturated to int32 (which keeps its int8 clamp and
 * mask bit) is tb_fast_requant(&q, acc). For s > 32 it runs in 32 bits: with
 * p = sat_s32(acc + bias) * m (|p| < 2^62) and t = s - 32,
 * floor((p + 2^(s-1)) / 2^s) = floor((floor(p / 2^32) + 2^(t-1)) / 2^t), since the 32 dropped
 * bits are a fraction below one unit of 2^32 and 2^(s-1) is a multiple of it; floor(p / 2^32)
 * is the high word of SMULL, in [-2^30, 2^30], so nothing overflows. Smaller shifts (none in
 * the shipped models) take the reference's int64 statement. */
typedef struct {
    int32_t bias, mult, shift, y_zero;
    int32_t t, round; /* s > 32: s - 32 and 2^(t-1); else t = 0 */
} tb_fast_requant_t;

static inline tb_fast_requant_t tb_fast_requant_init(int32_t bias, int32_t mult, int32_t shift,
                                                     int32_t y_zero)
{
    tb_fast_requant_t q;
    q.bias = bias;
    q.mult = mult;
    q.shift = shift;
    q.y_zero = y_zero;
    q.t = shift > 32 ? shift - 32 : 0;
    q.round = shift > 32 ? (int32_t)1 << (q.t - 1) : 0;
    return q;
}

static inline int32_t tb_fast_requant(const tb_fast_requant_t *q, int32_t acc)
{
    if (__builtin_expect(q->t > 0, 1)) {
        const int32_t high = (int32_t)(((int64_t)tb_dsp_qadd(acc, q->bias) * q->mult) >> 32);
        return ((high + q->round) >> q->t) + q->y_zero;
    }
    return tb_nn_sat_s32(tb_nn_output_s8(acc, q->bias, q->mult, q->shift, q->y_zero));
}

/* y[i] = sat_s8(v); set bit i of a mask cleared beforehand when v fits int8 (NULL: none). */
static inline void tb_fast_store_s8(int8_t *y, uint8_t *mask, int32_t i, int32_t v)
{
    const int32_t q = tb_dsp_ssat8(v);
    y[i] = (int8_t)q;
    if (mask != NULL && q == v) {
        mask[i >> 3] = (uint8_t)(mask[i >> 3] | (1u << (i & 7)));
    }
}

/* Outputs i and i + 1 (adjacent output channels of one position) at yi = y + i: yi[0], yi[1]
 * = sat_s8 of v0, v1, and their mask bits (mask cleared beforehand; NULL: none). */
static inline void tb_fast_store_pair_s8(int8_t *yi, uint8_t *mask, int32_t i, int32_t v0, int32_t v1)
{
    const int32_t q0 = tb_dsp_ssat8(v0), q1 = tb_dsp_ssat8(v1);
    tb_dsp_write2(yi, ((uint32_t)q0 & 0xFFu) | ((uint32_t)q1 << 8));
    if (mask != NULL) {
        const uint32_t bits = ((uint32_t)(q0 == v0) | ((uint32_t)(q1 == v1) << 1)) << (i & 7);
        mask[i >> 3] = (uint8_t)(mask[i >> 3] | bits);
        if (bits > 0xFFu) { /* i & 7 == 7: the second bit opens the next byte */
            mask[(i >> 3) + 1] = (uint8_t)(mask[(i >> 3) + 1] | (bits >> 8));
        }
    }
}

/* Zero the ceil(n / 8) bytes of a mask (NULL: nothing). The empty asm keeps gcc from turning
 * the loop into a call of memset (the kernels use no libc). */
static inline void tb_fast_mask_clear(uint8_t *mask, int32_t n)
{
    int32_t b;
    if (mask == NULL) {
        return;
    }
    for (b = 0; b < (n + 7) / 8; b++) {
        mask[b] = 0;
        __asm("" : : "r"(mask) : "memory");
    }
}

/* -------------------------------------------------------- runtime shift rule, one pass */

/* The shift n of the runtime shift rule over the accumulators seen so far, with the interval
 * [lo, hi] of accumulators a for which round_shift(a, n) lies in [-127, 127]:
 * [-127, 127] for n = 0, [-255 * 2^(n-1), 255 * 2^(n-1) - 1] for n >= 1 (every int64 from
 * n = 55 on, where the bounds leave the int64 range). */
typedef struct {
    int32_t n;
    int64_t lo, hi;
    int64_t round; /* 2^(n-1), 0 for n = 0 */
} tb_fast_shift_t;

static inline void tb_fast_shift_set(tb_fast_shift_t *s, int32_t n)
{
    s->n = n;
    s->round = n > 0 ? (int64_t)1 << (n - 1) : 0;
    if (n == 0) {
        s->lo = -TB_NN_GRAD_MAX;
        s->hi = TB_NN_GRAD_MAX;
    } else if (n < 55) {
        s->hi = ((int64_t)255 << (n - 1)) - 1;
        s->lo = -((int64_t)255 << (n - 1));
    } else {
        s->hi = INT64_MAX;
        s->lo = INT64_MIN;
    }
}

static inline int32_t tb_fast_shift_fits(const tb_fast_shift_t *s, int64_t a)
{
    return a >= s->lo && a <= s->hi;
}

/* The smallest shift >= n under which a fits. */
static inline int32_t tb_fast_shift_for(int64_t a, int32_t n)
{
    tb_fast_shift_t s;
    tb_fast_shift_set(&s, n);
    while (!tb_fast_shift_fits(&s, a)) {
        tb_fast_shift_set(&s, s.n + 1);
    }
    return s.n;
}

/* round_shift(a, n) of an accumulator that fits: floor((a + 2^(n-1)) / 2^n) lies in
 * [-127, 127], so its low 8 bits are the low 8 bits of the 64-bit shift, made from the two
 * words in 32 bits. */
static inline int8_t tb_fast_shift_apply(const tb_fast_shift_t *s, int64_t a)
{
    const uint64_t t = (uint64_t)a + (uint64_t)s->round;
    const uint32_t lo = (uint32_t)t, hi = (uint32_t)(t >> 32);
    if (s->n >= 32) {
        return (int8_t)(hi >> (s->n - 32));
    }
    if (s->n == 0) {
        return (int8_t)lo;
    }
    return (int8_t)((lo >> s->n) | (hi << (32 - s->n)));
}

/* An output b = round_shift(a, m) of an accumulator a, written before the shift grew to
 * m2 > m, as round_shift(a, m2) when that follows from b alone, else *exact = 0 (the caller
 * computes a again). With d = m2 - m, b + 2^(d-1) = t: if t is no multiple of 2^d,
 * round_shift(a, m2) = floor(t / 2^d), whatever the d dropped bits of a were; if it is one,
 * the result is t / 2^d or one less, by the sign of those bits (none when m = 0). For d >= 8,
 * t lies strictly inside (0, 2^d) and the result is 0. */
static inline int8_t tb_fast_shift_on(int32_t b, int32_t m, int32_t m2, int32_t *exact)
{
    const int32_t d = m2 - m;
    int32_t t;
    *exact = 1;
    if (d >= 8) {
        return 0;
    }
    t = b + ((int32_t)1 << (d - 1));
    if (m > 0 && (t & (((int32_t)1 << d) - 1)) == 0) {
        *exact = 0;
        return 0;
    }
    return (int8_t)(t >> d);
}

/* -------------------------------------------------------------------- dot products */

/* The 2 x 2 tile of channel dots: acc[2 * p + q] += sum over j < n of
 * (x_p[j] - x_zero) * w_q[j] for the inputs x_0, x_1 and the weight rows w_0, w_1
 * (tb_nn_dot_s8 four times). Main loop: 4 channels per step, SXTAB16 widens the inputs with
 * the zero point subtracted (zp = the halfword pair of -x_zero; |x - x_zero| <= 255 fits a
 * halfword), SXTB16 the weights, SMLAD two products per instruction; the even and odd
 * bytes of input and weight pair up alike. Remainder: n % 4 channels one by one. */
static inline void tb_fast_dot_2x2(const int8_t *x0, const int8_t *x1, const int8_t *w0,
                                   const int8_t *w1, int32_t n, int32_t x_zero, uint32_t zp,
                                   int32_t *acc)
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    int32_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const uint32_t xa = tb_dsp_read4(x0 + j), xb = tb_dsp_read4(x1 + j);
        const uint32_t wa = tb_dsp_read4(w0 + j), wb = tb_dsp_read4(w1 + j);
        const uint32_t xa_e = tb_dsp_sxtab16(zp, xa), xa_o = tb_dsp_sxtab16_ror8(zp, xa);
        const uint32_t xb_e = tb_dsp_sxtab16(zp, xb), xb_o = tb_dsp_sxtab16_ror8(zp, xb);
        const uint32_t wa_e = tb_dsp_sxtb16(wa), wa_o = tb_dsp_sxtb16_ror8(wa);
        const uint32_t wb_e = tb_dsp_sxtb16(wb), wb_o = tb_dsp_sxtb16_ror8(wb);
        a00 = tb_dsp_smlad(xa_o, wa_o, tb_dsp_smlad(xa_e, wa_e, a00));
        a01 = tb_dsp_smlad(xa_o, wb_o, tb_dsp_smlad(xa_e, wb_e, a01));
        a10 = tb_dsp_smlad(xb_o, wa_o, tb_dsp_smlad(xb_e, wa_e, a10));
        a11 = tb_dsp_smlad(xb_o, wb_o, tb_dsp_smlad(xb_e, wb_e, a11));
    }
    for (; j < n; j++) {
        const int32_t xa = x0[j] - x_zero, xb = x1[j] - x_zero;
        a00 += xa * w0[j];
        a01 += xa * w1[j];
        a10 += xb * w0[j];
        a11 += xb * w1[j];
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

/* tb_fast_dot_2x2 for the common layout where the second input and the second weight row
 * both lie `stride` bytes after the first (adjacent positions of a tensor whose channel count
 * is the weight row length): the same sums, with the main loop (8 channels per step, the
 * tb_fast_dot_2x2 step twice) in assembly on DSP cores, where it needs all 14 registers
 * (gcc would spill). n8 = n rounded down to a multiple of 8; the rest is tb_fast_dot_2x2's. */
static inline void tb_fast_dot_2x2_strided(const int8_t *x, const int8_t *w, int32_t stride,
                                           int32_t n, int32_t x_zero, uint32_t zp, int32_t *acc)
{
    const int32_t n8 = n & ~7;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    if (n8 > 0) {
        const int8_t *end = x + n8;
        int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
        uint32_t t0, t1, t2, t3, t4, t5;
        /* One step of 4 channels: widen both weight rows (4 registers), then input 1 and
         * input 0 in turn (2 registers each), 2 SMLAD per input and row. Loop control loads
         * `end` right after a load (pipelined) and compares before the last multiplies. */
#define TB_FAST_STEP4(tail)                                                                  \
        "ldr %[t0], [%[w], %[s]]\n\t"                                                     \
        "ldr %[t1], [%[w]], #4\n\t"                                                       \
        "ldr %[t2], [%[x], %[s]]\n\t"                                                     \
        "sxtb16 %[t3], %[t1]\n\t"                                                         \
        "sxtb16 %[t1], %[t1], ror #8\n\t"                                                 \
        "sxtb16 %[t4], %[t0]\n\t"                                                         \
        "sxtb16 %[t0], %[t0], ror #8\n\t"                                                 \
        "sxtab16 %[t5], %[zp], %[t2]\n\t"                                                 \
        "smlad %[a10], %[t5], %[t3], %[a10]\n\t"                                          \
        "smlad %[a11], %[t5], %[t4], %[a11]\n\t"                                          \
        "sxtab16 %[t2], %[zp], %[t2], ror #8\n\t"                                         \
        "smlad %[a10], %[t2], %[t1], %[a10]\n\t"                                          \
        "smlad %[a11], %[t2], %[t0], %[a11]\n\t"                                          \
        "ldr %[t2], [%[x]], #4\n\t"                                                       \
        tail                                                                              \
        "sxtab16 %[t5], %[zp], %[t2]\n\t"                                                 \
        "smlad %[a00], %[t5], %[t3], %[a00]\n\t"                                          \
        "smlad %[a01], %[t5], %[t4], %[a01]\n\t"                                          \
        "sxtab16 %[t2], %[zp], %[t2], ror #8\n\t"                                         \
        "smlad %[a00], %[t2], %[t1], %[a00]\n\t"                                          \
        "smlad %[a01], %[t2], %[t0], %[a01]\n\t"
        __asm volatile(
            "1:\n\t"
            TB_FAST_STEP4("")
            TB_FAST_STEP4("ldr %[t5], %[end]\n\tcmp %[x], %[t5]\n\t")
            "bne 1b\n\t"
            : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [x] "+r"(x),
              [w] "+r"(w), [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3),
              [t4] "=&r"(t4), [t5] "=&r"(t5)
            : [s] "r"(stride), [zp] "r"(zp), [end] "m"(end)
            : "cc", "memory");
#undef TB_FAST_STEP4
        acc[0] = a00;
        acc[1] = a01;
        acc[2] = a10;
        acc[3] = a11;
    }
#else
    tb_fast_dot_2x2(x, x + stride, w, w + stride, n8, x_zero, zp, acc);
    x += n8;
    w += n8;
#endif
    tb_fast_dot_2x2(x, x + stride, w, w + stride, n - n8, x_zero, zp, acc);
}

/* Four positions x one weight row: acc[p] += sum over j < n of (x[p * stride + j] - x_zero) * w[j]
 * (tb_nn_dot_s8 four times). Main loop: 4 channels per step, the weights widened once (SXTB16)
 * for the four inputs (SXTAB16 with zp = the halfword pair of -x_zero), SMLAD; remainder one
 * by one. */
static inline void tb_fast_dot_4x1(const int8_t *x, int32_t stride, const int8_t *w, int32_t n,
                                   int32_t x_zero, uint32_t zp, int32_t *acc)
{
    const int8_t *x1 = x + stride, *x2 = x1 + stride, *x3 = x2 + stride;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const uint32_t wv = tb_dsp_read4(w + j);
        const uint32_t we = tb_dsp_sxtb16(wv), wo = tb_dsp_sxtb16_ror8(wv);
        uint32_t v = tb_dsp_read4(x + j);
        a0 = tb_dsp_smlad(tb_dsp_sxtab16_ror8(zp, v), wo, tb_dsp_smlad(tb_dsp_sxtab16(zp, v), we, a0));
        v = tb_dsp_read4(x1 + j);
        a1 = tb_dsp_smlad(tb_dsp_sxtab16_ror8(zp, v), wo, tb_dsp_smlad(tb_dsp_sxtab16(zp, v), we, a1));
        v = tb_dsp_read4(x2 + j);
        a2 = tb_dsp_smlad(tb_dsp_sxtab16_ror8(zp, v), wo, tb_dsp_smlad(tb_dsp_sxtab16(zp, v), we, a2));
        v = tb_dsp_read4(x3 + j);
        a3 = tb_dsp_smlad(tb_dsp_sxtab16_ror8(zp, v), wo, tb_dsp_smlad(tb_dsp_sxtab16(zp, v), we, a3));
    }
    for (; j < n; j++) {
        const int32_t wj = w[j];
        a0 += (x[j] - x_zero) * wj;
        a1 += (x1[j] - x_zero) * wj;
        a2 += (x2[j] - x_zero) * wj;
        a3 += (x3[j] - x_zero) * wj;
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* One position x one weight row: sum over j < n of (x[j] - x_zero) * w[j], 4 channels per
 * SMLAD pair. */
static inline int32_t tb_fast_dot_1x1(const int8_t *x, const int8_t *w, int32_t n, int32_t x_zero,
                                      uint32_t zp)
{
    int32_t a = 0;
    int32_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const uint32_t wv = tb_dsp_read4(w + j), v = tb_dsp_read4(x + j);
        a = tb_dsp_smlad(tb_dsp_sxtab16_ror8(zp, v), tb_dsp_sxtb16_ror8(wv),
                         tb_dsp_smlad(tb_dsp_sxtab16(zp, v), tb_dsp_sxtb16(wv), a));
    }
    for (; j < n; j++) {
        a += (x[j] - x_zero) * w[j];
    }
    return a;
}

/* ------------------------------------------------------------------- window geometry */

/* The taps [k0, k1) of a k x k window (padding k / 2) at output index o whose input index
 * o * stride - k / 2 + t lies in [0, n_in): computed once per output row or column instead of
 * a test per tap. */
static inline void tb_fast_tap_range(int32_t o, int32_t stride, int32_t kernel, int32_t n_in,
                                     int32_t *k0, int32_t *k1)
{
    const int32_t first = o * stride - kernel / 2;
    *k0 = first < 0 ? -first : 0;
    *k1 = first + kernel > n_in ? n_in - first : kernel;
}

/* v / stride for v >= 0, without a division for the strides 1 and 2 of the shipped models. */
static inline int32_t tb_fast_div_stride(int32_t v, int32_t stride)
{
    return stride == 1 ? v : (stride == 2 ? v >> 1 : v / stride);
}

/* The taps of the transposed gather along one axis (tb_nn_tap_output over every tap k of input
 * index i): the taps that read an output index in [0, n_out) are k0, k0 + stride, ... (*count
 * of them), reading output indices o0, o0 - 1, ...; computed once per input row or column
 * instead of a division per tap. They are the k <= min(i + pad, kernel - 1) with
 * k = i + pad (mod stride) and (i + pad - k) / stride <= n_out - 1. */
static inline void tb_fast_tap_gather(int32_t i, int32_t stride, int32_t kernel, int32_t n_out,
                                      int32_t *k0, int32_t *count, int32_t *o0)
{
    const int32_t t = i + kernel / 2;
    const int32_t lo = t - stride * (n_out - 1);
    const int32_t kmax = t < kernel - 1 ? t : kernel - 1;
    *k0 = lo >= 0 ? lo : t - stride * tb_fast_div_stride(t, stride);
    *count = kmax >= *k0 ? tb_fast_div_stride(kmax - *k0, stride) + 1 : 0;
    *o0 = tb_fast_div_stride(t - *k0, stride);
}

/* ------------------------------------------------------------- depthwise channel groups */

/* The largest kernel whose filters of 4 channels are packed on the stack (kernel^2 words);
 * larger kernels take the kernels' one-channel path. */
#define TB_FAST_DW_MAX_K 7

/* The k x k filter of depthwise channel ch: trained below k_train, frozen from it. */
static inline const int8_t *tb_fast_dw_filter(const int8_t *w_train, const int8_t *w_frozen,
                                              int32_t k_train, int32_t ch, int32_t kk)
{
    return ch < k_train ? w_train + ch * kk : w_frozen + (ch - k_train) * kk;
}

/* pack[t] = the tap-t weights of channels ch .. ch + 3, byte j for channel ch + j (the layout
 * of 4 channels of one HWC position, so that one word of the tensor meets one word here);
 * a group that straddles k_train takes each channel's filter from its part. */
static inline void tb_fast_dw_pack4(const int8_t *w_train, const int8_t *w_frozen, int32_t k_train,
                                    int32_t ch, int32_t kk, uint32_t *pack)
{
    const uint8_t *f0 = (const uint8_t *)tb_fast_dw_filter(w_train, w_frozen, k_train, ch, kk);
    const uint8_t *f1 = (const uint8_t *)tb_fast_dw_filter(w_train, w_frozen, k_train, ch + 1, kk);
    const uint8_t *f2 = (const uint8_t *)tb_fast_dw_filter(w_train, w_frozen, k_train, ch + 2, kk);
    const uint8_t *f3 = (const uint8_t *)tb_fast_dw_filter(w_train, w_frozen, k_train, ch + 3, kk);
    int32_t t;
    for (t = 0; t < kk; t++) {
        pack[t] = (uint32_t)f0[t] | ((uint32_t)f1[t] << 8) | ((uint32_t)f2[t] << 16) |
                  ((uint32_t)f3[t] << 24);
    }
}

/* Four int32 accumulators, one per channel of a group (a value, so that gcc keeps them in
 * registers: a pointer would alias the int8 loads). */
typedef struct {
    int32_t a0, a1, a2, a3;
} tb_fast_acc4_t;

/* a_j += x_j * y_j for the 4 lanes j of two words widened to halfword pairs (xe, ye: lanes 0
 * and 2, by SXTB16 or SXTAB16; xo, yo: lanes 1 and 3, by their ROR #8 forms): four 16 x 16
 * multiply-accumulates (SMLABB, SMLATT). */
static inline tb_fast_acc4_t tb_fast_mac4(tb_fast_acc4_t acc, uint32_t xe, uint32_t xo, uint32_t ye,
                                          uint32_t yo)
{
    acc.a0 += tb_dsp_lo(xe) * tb_dsp_lo(ye);
    acc.a1 += tb_dsp_lo(xo) * tb_dsp_lo(yo);
    acc.a2 += tb_dsp_hi(xe) * tb_dsp_hi(ye);
    acc.a3 += tb_dsp_hi(xo) * tb_dsp_hi(yo);
    return acc;
}

#endif /* TB_NN_FAST_H */
