/* tb_pointwise_fwd_s8, fast. Same results as src/Convolution/tb_pointwise_fwd_s8.c.
 *
 * Usual path (the shipped layers): pairs of positions in order. The two input rows are
 * widened once to int16 with the zero point subtracted (SXTAB16, the even and odd bytes of
 * each 4 channels apart, as SXTB16 widens a weight word) into a stack buffer of at most
 * TB_PW_MAX_CIN channels, then every pair of output channels reads that buffer against the
 * int8 weight rows: a 2 x 2 tile, two loads of widened input and one weight word per SMLAD
 * pair, 16 channels per pass of the assembly main loop, entered (TBB) where the rest of 4
 * channels is a multiple of 16 (the approach of CMSIS-NN's arm_nn_mat_mult_kernel_s8_s16).
 * A weight split at k_train is two parts of the buffer, each read with its own weight rows.
 * Outputs are written after the pair's inputs have been read, so an in-place output
 * (stream_overlap) is safe; the mask bits of one position are contiguous and written as whole
 * bytes (c_out a multiple of 8), no clearing pass. On DSP cores, when both weight parts are
 * multiples of 4 channels (every shipped layer but those of a k_train like 7) and c_in is at most
 * TB_PW_MAX_CIN, the whole loop nest is one assembly block (tb_pw_asm: the C loops around the
 * dots spilled and reloaded their pointers around every tile); otherwise C loops run the same
 * dots (tb_pw_usual_*), but for two weight parts not both multiples of 4 channels (tb_pw_padded: both
 * padded to groups of 4 with zero lanes, the same assembly tile loop per pair, the last 8 channels in C).
 * The requantization (shifts s in [33, 62], checked once per call) is exact in 32 bits:
 * with t = s - 32 and h = (sat(acc + bias) * m) >> 32 (QADD, SMMUL), the reference's
 * ((sat(acc + bias) * m + 2^(s-1)) >> s) + y_zero is ((h >> (t - 1)) + 1 + 2 y_zero) >> 1
 * (tb_nn_fast.h, tb_fast_requant, for the 32 dropped bits; floors nest, and y_zero * 2^t
 * added before the shift by t is y_zero after it); the last shift is folded into SSAT and
 * into the comparison that sets the mask bit.
 *
 * Wide layers (more than TB_PW_MAX_CIN input channels, one weight part, an even width so that
 * a pair of positions lies in one row) buffer the first TB_PW_MAX_CIN channels and read the
 * rest as int8 (tb_fast_dot_2x2_strided).
 *
 * General path (other shapes and parameters, e.g. a classifier of 10 outputs): positions in
 * order, one output channel at a time. */
#include "tb_kernels.h"
#include "Internal/tb_nn_fast.h"

/* Input channels of the widened pair of positions: 4 bytes per channel, 960 B of stack. */
#define TB_PW_MAX_CIN 240

/* --------------------------------------------------------------------- usual path */

/* Whether the usual path computes this call: channel counts (beyond TB_PW_MAX_CIN input
 * channels only with one weight part and rows of an even width, whose pairs of positions lie
 * in one row), zero points in int8, every shift in [33, 62]. */
static int tb_pw_usual(int32_t h, int32_t w, int32_t c_in, int32_t x_zero, int32_t k_train, int32_t c_out,
                       const int32_t *shift, int32_t y_zero)
{
    const int wide_ok = (k_train == 0 || k_train == c_in) && w % 2 == 0;
    int32_t c;
    if (h * w < 1 || c_in < 1 || (c_in > TB_PW_MAX_CIN && !wide_ok) || c_out < 8 || c_out % 8 != 0 ||
        x_zero < -128 || x_zero > 127 || y_zero < -128 || y_zero > 127) {
        return 0;
    }
    for (c = 0; c < c_out; c++) {
        if (shift[c] < 33 || shift[c] > 62) {
            return 0;
        }
    }
    return 1;
}

/* Widen n channels of positions x0, x1 (x - x_zero, zp its halfword pair): per 4 channels
 * the words x0 even, x0 odd, x1 even, x1 odd (bytes 0, 2 and 1, 3); the n % 4 last channels
 * as halfwords, x0's then x1's. Returns the word after them. On DSP cores 8 channels per
 * step of an assembly loop, then at most one step of 4. */
static uint32_t *tb_pw_widen(const int8_t *x0, const int8_t *x1, int32_t n, int32_t x_zero,
                             uint32_t zp, uint32_t *b)
{
    const int32_t n4 = n & ~3, r = n & 3;
    int16_t *h;
    int32_t j = 0;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    if (n >= 8) { /* 8 channels per step: the four loads together, then widen and store */
        const int8_t *p0 = x0, *p1 = x1, *p0_end = x0 + (n & ~7);
        uint32_t v0, v1, v2, v3, e;
        __asm volatile("1:\n\t"
                       "ldr %[v0], [%[p0]], #4\n\t"
                       "ldr %[v1], [%[p1]], #4\n\t"
                       "ldr %[v2], [%[p0]], #4\n\t"
                       "ldr %[v3], [%[p1]], #4\n\t"
                       "sxtab16 %[e], %[zp], %[v0]\n\t"
                       "str %[e], [%[b]], #4\n\t"
                       "sxtab16 %[e], %[zp], %[v0], ror #8\n\t"
                       "str %[e], [%[b]], #4\n\t"
                       "sxtab16 %[e], %[zp], %[v1]\n\t"
                       "str %[e], [%[b]], #4\n\t"
                       "sxtab16 %[e], %[zp], %[v1], ror #8\n\t"
                       "str %[e], [%[b]], #4\n\t"
                       "sxtab16 %[e], %[zp], %[v2]\n\t"
                       "str %[e], [%[b]], #4\n\t"
                       "sxtab16 %[e], %[zp], %[v2], ror #8\n\t"
                       "str %[e], [%[b]], #4\n\t"
                       "sxtab16 %[e], %[zp], %[v3]\n\t"
                       "str %[e], [%[b]], #4\n\t"
                       "sxtab16 %[e], %[zp], %[v3], ror #8\n\t"
                       "cmp %[p0], %[end]\n\t"
                       "str %[e], [%[b]], #4\n\t"
                       "bne 1b\n\t"
                       : [p0] "+r"(p0), [p1] "+r"(p1), [b] "+r"(b), [v0] "=&r"(v0), [v1] "=&r"(v1),
                         [v2] "=&r"(v2), [v3] "=&r"(v3), [e] "=&r"(e)
                       : [zp] "r"(zp), [end] "r"(p0_end)
                       : "cc", "memory");
        j = n & ~7;
    }
#endif
    for (; j < n4; j += 4, b += 4) {
        const uint32_t v0 = tb_dsp_read4(x0 + j), v1 = tb_dsp_read4(x1 + j);
        b[0] = tb_dsp_sxtab16(zp, v0);
        b[1] = tb_dsp_sxtab16_ror8(zp, v0);
        b[2] = tb_dsp_sxtab16(zp, v1);
        b[3] = tb_dsp_sxtab16_ror8(zp, v1);
    }
    h = (int16_t *)b;
    for (j = 0; j < r; j++) {
        h[j] = (int16_t)(x0[n4 + j] - x_zero);
        h[r + j] = (int16_t)(x1[n4 + j] - x_zero);
    }
    return b + r;
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* One step of 4 channels: the 4 buffer words, both weight words (rows w, w + s), then per
 * weight row its even and odd halves (SXTB16) against both positions. `tail` runs right
 * after the loads (the loop test, while t is free). */
#define TB_PW_STEP(tail)                                                                   \
    "ldr %[x0e], [%[xb]], #4\n\t"                                                         \
    "ldr %[x0o], [%[xb]], #4\n\t"                                                         \
    "ldr %[x1e], [%[xb]], #4\n\t"                                                         \
    "ldr %[x1o], [%[xb]], #4\n\t"                                                         \
    "ldr %[w1], [%[w], %[s]]\n\t"                                                         \
    "ldr %[w0], [%[w]], #4\n\t"                                                           \
    tail                                                                                  \
    "sxtb16 %[t], %[w0]\n\t"                                                              \
    "smlad %[a00], %[x0e], %[t], %[a00]\n\t"                                              \
    "smlad %[a10], %[x1e], %[t], %[a10]\n\t"                                              \
    "sxtb16 %[w0], %[w0], ror #8\n\t"                                                     \
    "smlad %[a00], %[x0o], %[w0], %[a00]\n\t"                                             \
    "smlad %[a10], %[x1o], %[w0], %[a10]\n\t"                                             \
    "sxtb16 %[t], %[w1]\n\t"                                                              \
    "smlad %[a01], %[x0e], %[t], %[a01]\n\t"                                              \
    "smlad %[a11], %[x1e], %[t], %[a11]\n\t"                                              \
    "sxtb16 %[w1], %[w1], ror #8\n\t"                                                     \
    "smlad %[a01], %[x0o], %[w1], %[a01]\n\t"                                             \
    "smlad %[a11], %[x1o], %[w1], %[a11]\n\t"
#define TB_PW_OPERANDS                                                                     \
    [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [xb] "+r"(xb),       \
        [w] "+r"(w), [x0e] "=&r"(x0e), [x0o] "=&r"(x0o), [x1e] "=&r"(x1e), [x1o] "=&r"(x1o), \
        [w0] "=&r"(w0), [w1] "=&r"(w1), [t] "+r"(t)
#endif

/* acc (2 x 2: positions x weight rows w, w + s) += the buffer at xb (n channels as
 * tb_pw_widen wrote them) against the rows; returns the buffer word after them. */
static inline __attribute__((always_inline)) const uint32_t *
tb_pw_dot(const uint32_t *xb, const int8_t *w, int32_t s, int32_t n, tb_fast_acc4_t *acc)
{
    const int32_t r = n & 3;
    int32_t a00 = acc->a0, a01 = acc->a1, a10 = acc->a2, a11 = acc->a3;
    const int16_t *h;
    int32_t j;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    uint32_t x0e, x0o, x1e, x1o, w0, w1;
    if (n >= 4) {
        /* the loop of 4 steps entered at the step that leaves a multiple of 4 (TBB) */
        const uint32_t *end = xb + (n & ~3);
        uint32_t t = (uint32_t)(-(n >> 2)) & 3u;
        __asm volatile("tbb [pc, %[t]]\n\t"
                       "3:\n\t"
                       ".byte (10f - 3b) / 2, (11f - 3b) / 2, (12f - 3b) / 2, (13f - 3b) / 2\n\t"
                       "10:\n\t" TB_PW_STEP("")
                       "11:\n\t" TB_PW_STEP("")
                       "12:\n\t" TB_PW_STEP("")
                       "13:\n\t" TB_PW_STEP("ldr %[t], %[end]\n\tcmp %[xb], %[t]\n\t")
                       "bne 10b\n\t"
                       : TB_PW_OPERANDS
                       : [s] "r"(s), [end] "m"(end)
                       : "cc", "memory");
    }
#else
    for (j = 0; j + 4 <= n; j += 4, xb += 4, w += 4) {
        const uint32_t v0 = tb_dsp_read4(w), v1 = tb_dsp_read4(w + s);
        a00 = tb_dsp_smlad(xb[1], tb_dsp_sxtb16_ror8(v0), tb_dsp_smlad(xb[0], tb_dsp_sxtb16(v0), a00));
        a01 = tb_dsp_smlad(xb[1], tb_dsp_sxtb16_ror8(v1), tb_dsp_smlad(xb[0], tb_dsp_sxtb16(v1), a01));
        a10 = tb_dsp_smlad(xb[3], tb_dsp_sxtb16_ror8(v0), tb_dsp_smlad(xb[2], tb_dsp_sxtb16(v0), a10));
        a11 = tb_dsp_smlad(xb[3], tb_dsp_sxtb16_ror8(v1), tb_dsp_smlad(xb[2], tb_dsp_sxtb16(v1), a11));
    }
#endif
    h = (const int16_t *)xb;
    for (j = 0; j < r; j++) {
        a00 += h[j] * w[j];
        a01 += h[j] * w[s + j];
        a10 += h[r + j] * w[j];
        a11 += h[r + j] * w[s + j];
    }
    acc->a0 = a00;
    acc->a1 = a01;
    acc->a2 = a10;
    acc->a3 = a11;
    return xb + r;
}

/* acc += the 2 x 2 dot of the int8 inputs x0, x1 against the weight rows w, w + s over n
 * channels: the channels of a wide layer beyond the buffer (one weight part, s = c_in; the
 * outputs written so far lie in rows before the pair's, whose inputs are not read again). */
static void __attribute__((noinline)) tb_pw_raw(const int8_t *x0, const int8_t *x1, const int8_t *w, int32_t s,
                                                int32_t n, int32_t x_zero, uint32_t zp, tb_fast_acc4_t *acc)
{
    int32_t a[4];
    a[0] = acc->a0;
    a[1] = acc->a1;
    a[2] = acc->a2;
    a[3] = acc->a3;
    if (x1 == x0 + s) {
        tb_fast_dot_2x2_strided(x0, w, s, n, x_zero, zp, a);
    } else {
        tb_fast_dot_2x2(x0, x1, w, w + s, n, x_zero, zp, a);
    }
    acc->a0 = a[0];
    acc->a1 = a[1];
    acc->a2 = a[2];
    acc->a3 = a[3];
}

/* Output channel c at both positions of a tile: accumulators a0, a1, b = bias[c],
 * m = mult[c], tm1 = shift[c] - 33, k = 1 + 2 y_zero: y = sat_s8(v),
 * v = (((sat(a + b) * m) >> 32 >> tm1) + k) >> 1, stored at y0[0], y1[0]; when `masked`, bit
 * `bit` of m0 (m1) set if v fits. */
static inline __attribute__((always_inline)) void
tb_pw_out2(int32_t a0, int32_t a1, int32_t b, int32_t m, int32_t tm1, int32_t k, int8_t *y0, int8_t *y1,
           uint32_t *m0, uint32_t *m1, uint32_t bit, int masked)
{
    int32_t q0, q1;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    __asm("qadd %[a0], %[a0], %[b]\n\t"
          "qadd %[a1], %[a1], %[b]\n\t"
          "smmul %[a0], %[a0], %[m]\n\t"
          "smmul %[a1], %[a1], %[m]\n\t"
          "asr %[a0], %[a0], %[t]\n\t"
          "asr %[a1], %[a1], %[t]\n\t"
          "add %[a0], %[a0], %[k]\n\t"
          "add %[a1], %[a1], %[k]\n\t"
          "ssat %[q0], #8, %[a0], asr #1\n\t"
          "ssat %[q1], #8, %[a1], asr #1\n\t"
          : [a0] "+r"(a0), [a1] "+r"(a1), [q0] "=&r"(q0), [q1] "=&r"(q1)
          : [b] "r"(b), [m] "r"(m), [t] "r"(tm1), [k] "r"(k));
    if (masked) {
        __asm("cmp %[q0], %[a0], asr #1\n\t"
              "it eq\n\t"
              "orreq %[m0], %[m0], %[bit]\n\t"
              "cmp %[q1], %[a1], asr #1\n\t"
              "it eq\n\t"
              "orreq %[m1], %[m1], %[bit]\n\t"
              : [m0] "+r"(*m0), [m1] "+r"(*m1)
              : [q0] "r"(q0), [q1] "r"(q1), [a0] "r"(a0), [a1] "r"(a1), [bit] "I"(bit)
              : "cc");
    }
#else
    a0 = ((int32_t)(((int64_t)tb_dsp_qadd(a0, b) * m) >> 32) >> tm1) + k;
    a1 = ((int32_t)(((int64_t)tb_dsp_qadd(a1, b) * m) >> 32) >> tm1) + k;
    q0 = tb_dsp_ssat8(a0 >> 1);
    q1 = tb_dsp_ssat8(a1 >> 1);
    if (masked) {
        *m0 |= q0 == (a0 >> 1) ? bit : 0u;
        *m1 |= q1 == (a1 >> 1) ? bit : 0u;
    }
#endif
    y0[0] = (int8_t)q0;
    y1[0] = (int8_t)q1;
}

/* The 2 x 2 tile of output channels c, c + 1 (c % 8 = j) at positions y0, y1 (rows of c_out
 * outputs, from y0 + c) from the widened buffer: parts of k_train and c_in - k_train channels
 * against the weight rows wt and wf of channel c (c + 1's follow), a wide part's channels
 * beyond the buffer from its int8 inputs xf0, xf1; mask bits j, j + 1. */
static inline __attribute__((always_inline)) void
tb_pw_usual_tile(const uint32_t *buf, const int8_t *xf0, const int8_t *xf1, int32_t c_in, int32_t x_zero,
                 uint32_t zp, const int8_t *wt, const int8_t *wf, int32_t k_train, const int32_t *bias,
                 const int32_t *mult, const int32_t *shift, int32_t k, int8_t *y0, int8_t *y1, uint32_t *m0,
                 uint32_t *m1, int32_t j, int masked, int wide)
{
    const int32_t k_frozen = c_in - k_train;
    tb_fast_acc4_t acc;
    acc.a0 = acc.a1 = acc.a2 = acc.a3 = 0;
    if (k_train > 0) {
        buf = tb_pw_dot(buf, wt, k_train, k_train, &acc);
    }
    if (k_frozen > 0) {
        tb_pw_dot(buf, wf, k_frozen, k_frozen < TB_PW_MAX_CIN ? k_frozen : TB_PW_MAX_CIN, &acc);
    }
    if (wide) {
        tb_pw_raw(xf0 + TB_PW_MAX_CIN, xf1 + TB_PW_MAX_CIN, wf + TB_PW_MAX_CIN, k_frozen, k_frozen - TB_PW_MAX_CIN,
                  x_zero, zp, &acc);
    }
    tb_pw_out2(acc.a0, acc.a2, bias[0], mult[0], shift[0] - 33, k, y0, y1, m0, m1, 1u << j, masked);
    tb_pw_out2(acc.a1, acc.a3, bias[1], mult[1], shift[1] - 33, k, y0 + 1, y1 + 1, m0, m1, 2u << j, masked);
}

/* Positions p0, p1 (p1 = p0 for an odd last one): widen, then every 8 output channels as 4
 * tiles, their mask bytes written whole (`masked`: a compile-time constant). */
static inline __attribute__((always_inline)) void
tb_pw_usual_pair(const int8_t *x, int32_t p0, int32_t p1, int32_t c_in, int32_t x_zero, uint32_t zp,
                 const int8_t *w_train, const int8_t *w_frozen, int32_t k_train, const int32_t *bias,
                 int32_t c_out, const int32_t *mult, const int32_t *shift, int32_t k, int8_t *y,
                 uint8_t *mask, uint32_t *buf, int masked, int wide)
{
    const int32_t k_frozen = c_in - k_train;
    const int8_t *xf0 = x + p0 * c_in + k_train, *xf1 = x + p1 * c_in + k_train;
    int8_t *y0 = y + p0 * c_out, *y1 = y + p1 * c_out;
    int32_t c;
    uint32_t *b = tb_pw_widen(x + p0 * c_in, x + p1 * c_in, k_train, x_zero, zp, buf);
    tb_pw_widen(xf0, xf1, k_frozen < TB_PW_MAX_CIN ? k_frozen : TB_PW_MAX_CIN, x_zero, zp, b);
    for (c = 0; c < c_out; c += 8) {
        uint32_t m0 = 0, m1 = 0;
        /* the 4 tiles written out: their mask bits are immediates */
#define TB_PW_TILE(j)                                                                              \
        tb_pw_usual_tile(buf, xf0, xf1, c_in, x_zero, zp, w_train + (c + j) * k_train,           \
                         w_frozen + (c + j) * k_frozen, k_train, bias + c + j, mult + c + j,         \
                         shift + c + j, k, y0 + c + j, y1 + c + j, &m0, &m1, j, masked, wide)
        TB_PW_TILE(0);
        TB_PW_TILE(2);
        TB_PW_TILE(4);
        TB_PW_TILE(6);
#undef TB_PW_TILE
        if (masked) {
            mask[(p1 * c_out + c) >> 3] = (uint8_t)m1;
            mask[(p0 * c_out + c) >> 3] = (uint8_t)m0;
        }
    }
}

/* Every pair of positions, with or without a mask, with one weight part (k_train 0 or c_in:
 * passed as a frozen part, the constant 0 removing the other's code) or two; `wide` (a
 * constant: one part of more than TB_PW_MAX_CIN channels) in its own function. */
static inline __attribute__((always_inline)) void
tb_pw_usual_body(const int8_t *x, int32_t hw, int32_t c_in, int32_t x_zero, const int8_t *w_train,
                 const int8_t *w_frozen, int32_t k_train, const int32_t *bias, int32_t c_out, const int32_t *mult,
                 const int32_t *shift, int32_t y_zero, int8_t *y, uint8_t *mask, int wide)
{
    uint32_t buf[TB_PW_MAX_CIN];
    const uint32_t zp = tb_dsp_pair(-x_zero);
    const int32_t k = 1 + 2 * y_zero;
    const int8_t *w_one = k_train == 0 ? w_frozen : w_train;
    const int one_part = wide || k_train == 0 || k_train == c_in;
    int32_t p;
#define TB_PW_PAIR(wt, wf, kt, masked)                                                                 \
    tb_pw_usual_pair(x, p, p1, c_in, x_zero, zp, wt, wf, kt, bias, c_out, mult, shift, k, y, mask, buf, \
                     masked, wide)
    for (p = 0; p < hw; p += 2) {
        const int32_t p1 = p + 1 < hw ? p + 1 : p;
        if (one_part && mask != NULL) {
            TB_PW_PAIR(w_one, w_one, 0, 1);
        } else if (one_part) {
            TB_PW_PAIR(w_one, w_one, 0, 0);
        } else if (!wide && mask != NULL) {
            TB_PW_PAIR(w_train, w_frozen, k_train, 1);
        } else if (!wide) {
            TB_PW_PAIR(w_train, w_frozen, k_train, 0);
        }
    }
#undef TB_PW_PAIR
}

static void tb_pw_usual_narrow(const int8_t *x, int32_t hw, int32_t c_in, int32_t x_zero, const int8_t *w_train,
                               const int8_t *w_frozen, int32_t k_train, const int32_t *bias, int32_t c_out,
                               const int32_t *mult, const int32_t *shift, int32_t y_zero, int8_t *y,
                               uint8_t *mask)
{
    tb_pw_usual_body(x, hw, c_in, x_zero, w_train, w_frozen, k_train, bias, c_out, mult, shift, y_zero, y, mask, 0);
}

static void tb_pw_usual_wide(const int8_t *x, int32_t hw, int32_t c_in, int32_t x_zero, const int8_t *w_train,
                             const int8_t *w_frozen, int32_t k_train, const int32_t *bias, int32_t c_out,
                             const int32_t *mult, const int32_t *shift, int32_t y_zero, int8_t *y, uint8_t *mask)
{
    tb_pw_usual_body(x, hw, c_in, x_zero, w_train, w_frozen, k_train, bias, c_out, mult, shift, y_zero, y, mask, 1);
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* ---------------------------------------- usual path, parts of multiples of 4, DSP cores */

/* The whole loop nest in one assembly block, for weight parts of multiples of 4 channels, c_in
 * at most TB_PW_MAX_CIN: the tiles' dot needs all 14 registers, its requantization, stores and
 * mask bits share them, and the rest of the state (tb_pw_state_t) lives in a frame the block
 * copies below sp on entry and gives back at its end (no memory operands: gcc would want a
 * register to address them, and none is left; the C tile loop spilled and reloaded its state
 * around every dot). Per pair of positions: both rows widened (tb_pw_widen's layout, the parts'
 * channels one after the other), p1 = p0 for an odd last one. Per tile: the 4 accumulators
 * cleared, per part the dot's loop entered by TBB (TB_PW_STEP; two parts: each part's rows,
 * channels and TBB index from the frame), the 6 parameters of the 2 channels loaded at one
 * offset from their 3 arrays, tb_pw_out2's arithmetic, 4 STRB; masked, the 4 bits ORed into a
 * word (p0's byte in bits 0-7, p1's in 8-15) at a bit that moves 2 places a tile, both bytes
 * stored every 4 tiles (out of line). */
typedef struct {
    const uint32_t *buf, *end; /* 0, 4: the widened pair, the word after it */
    uint32_t ti;               /* 8: TBB index of the dot's loop (padded parts: k_train less its padded length) */
    int32_t o, o_end;          /* 12, 16: byte offset of the channel pair in the parameter arrays, 4 c_out */
    const int32_t *bias, *mult, *shift; /* 20, 24, 28 */
    int32_t k;                 /* 32: 1 + 2 y_zero */
    int8_t *y;                 /* 36: p0's output of the channel pair */
    int32_t dy;                /* 40: p1's outputs less p0's */
    uint32_t mw, bit;          /* 44, 48: mask bits so far, bit of the pair's first channel at p0 */
    uint8_t *mp;               /* 52: p0's mask byte */
    int32_t dm;                /* 56: p1's mask byte less p0's */
    /* two weight parts: the first's rows (running), channels, TBB index, end in the buffer; the
     * second's rows (running), channels, TBB index */
    const int8_t *wa;          /* 60 */
    int32_t sa;                /* 64 */
    uint32_t tia;              /* 68 */
    const uint32_t *enda;      /* 72 */
    const int8_t *wb;          /* 76 */
    int32_t sb;                /* 80 */
    uint32_t tib;              /* 84 */
    /* the loop over the pairs of positions */
    const int8_t *x0;          /* 88: p0's inputs (running) */
    const int8_t *x_last;      /* 92: the last position's */
    const int8_t *x_end;       /* 96: the end of the input */
    uint32_t zp;               /* 100: -x_zero in both halfwords */
    int32_t c_in;              /* 104 (padded parts: the frozen part's channels less its padded length) */
    const int8_t *w_one;       /* 108: one part's rows */
    const int8_t *wt, *wf;     /* 112, 116: two parts' rows */
    int32_t c_out, c_out8;     /* 120, 124: c_out, c_out / 8 */
} tb_pw_state_t;
/* the offsets above, as the assembly uses them (a negative array size if not) */
typedef char tb_pw_state_layout[offsetof(tb_pw_state_t, dm) == 56 && offsetof(tb_pw_state_t, tib) == 84 &&
                                offsetof(tb_pw_state_t, c_out8) == 124 && sizeof(tb_pw_state_t) == 128 ? 1 : -1];

/* The state (at t) copied to the frame [sp, sp + 128) */
#define TB_PW_FRAME_IN                                                                     \
    "sub sp, sp, #128\n\t"                                                                \
    "ldr %[a00], [%[t], #0]\n\t" \
    "ldr %[a01], [%[t], #4]\n\t" \
    "ldr %[a10], [%[t], #8]\n\t" \
    "ldr %[a11], [%[t], #12]\n\t" \
    "ldr %[x0e], [%[t], #16]\n\t" \
    "ldr %[x0o], [%[t], #20]\n\t" \
    "ldr %[x1e], [%[t], #24]\n\t" \
    "ldr %[x1o], [%[t], #28]\n\t" \
    "str %[a00], [sp, #0]\n\t" \
    "str %[a01], [sp, #4]\n\t" \
    "str %[a10], [sp, #8]\n\t" \
    "str %[a11], [sp, #12]\n\t" \
    "str %[x0e], [sp, #16]\n\t" \
    "str %[x0o], [sp, #20]\n\t" \
    "str %[x1e], [sp, #24]\n\t" \
    "str %[x1o], [sp, #28]\n\t" \
    "ldr %[a00], [%[t], #32]\n\t" \
    "ldr %[a01], [%[t], #36]\n\t" \
    "ldr %[a10], [%[t], #40]\n\t" \
    "ldr %[a11], [%[t], #44]\n\t" \
    "ldr %[x0e], [%[t], #48]\n\t" \
    "ldr %[x0o], [%[t], #52]\n\t" \
    "ldr %[x1e], [%[t], #56]\n\t" \
    "ldr %[x1o], [%[t], #60]\n\t" \
    "str %[a00], [sp, #32]\n\t" \
    "str %[a01], [sp, #36]\n\t" \
    "str %[a10], [sp, #40]\n\t" \
    "str %[a11], [sp, #44]\n\t" \
    "str %[x0e], [sp, #48]\n\t" \
    "str %[x0o], [sp, #52]\n\t" \
    "str %[x1e], [sp, #56]\n\t" \
    "str %[x1o], [sp, #60]\n\t" \
    "ldr %[a00], [%[t], #64]\n\t" \
    "ldr %[a01], [%[t], #68]\n\t" \
    "ldr %[a10], [%[t], #72]\n\t" \
    "ldr %[a11], [%[t], #76]\n\t" \
    "ldr %[x0e], [%[t], #80]\n\t" \
    "ldr %[x0o], [%[t], #84]\n\t" \
    "ldr %[x1e], [%[t], #88]\n\t" \
    "ldr %[x1o], [%[t], #92]\n\t" \
    "str %[a00], [sp, #64]\n\t" \
    "str %[a01], [sp, #68]\n\t" \
    "str %[a10], [sp, #72]\n\t" \
    "str %[a11], [sp, #76]\n\t" \
    "str %[x0e], [sp, #80]\n\t" \
    "str %[x0o], [sp, #84]\n\t" \
    "str %[x1e], [sp, #88]\n\t" \
    "str %[x1o], [sp, #92]\n\t" \
    "ldr %[a00], [%[t], #96]\n\t" \
    "ldr %[a01], [%[t], #100]\n\t" \
    "ldr %[a10], [%[t], #104]\n\t" \
    "ldr %[a11], [%[t], #108]\n\t" \
    "ldr %[x0e], [%[t], #112]\n\t" \
    "ldr %[x0o], [%[t], #116]\n\t" \
    "ldr %[x1e], [%[t], #120]\n\t" \
    "ldr %[x1o], [%[t], #124]\n\t" \
    "str %[a00], [sp, #96]\n\t" \
    "str %[a01], [sp, #100]\n\t" \
    "str %[a10], [sp, #104]\n\t" \
    "str %[a11], [sp, #108]\n\t" \
    "str %[x0e], [sp, #112]\n\t" \
    "str %[x0o], [sp, #116]\n\t" \
    "str %[x1e], [sp, #120]\n\t" \
    "str %[x1o], [sp, #124]\n\t"

/* The dot's loop of 4 steps; it ends where xb reaches the word at [sp + end] */
#define TB_PW_DOT_LOOP(end)                                                                \
    "10:\n\t" TB_PW_STEP("")                                                              \
    "11:\n\t" TB_PW_STEP("")                                                              \
    "12:\n\t" TB_PW_STEP("")                                                              \
    "13:\n\t" TB_PW_STEP("ldr %[t], [sp, #" end "]\n\tcmp %[xb], %[t]\n\t")             \
    "bne 10b\n\t"
/* entered by TBB (index in t) at the step that leaves a multiple of 4 steps */
#define TB_PW_DOT(end)                                                                     \
    "tbb [pc, %[t]]\n\t"                                                                  \
    "3:\n\t"                                                                              \
    ".byte (10f - 3b) / 2, (11f - 3b) / 2, (12f - 3b) / 2, (13f - 3b) / 2\n\t"            \
    TB_PW_DOT_LOOP(end)

#define TB_PW_CLEAR                                                                        \
    "mov %[a00], #0\n\t"                                                                  \
    "mov %[a01], #0\n\t"                                                                  \
    "mov %[a10], #0\n\t"                                                                  \
    "mov %[a11], #0\n\t"

/* one part: its rows in w, s across the tiles */
#define TB_PW_TILE_START                                                                   \
    "1:\n\t"                                                                              \
    "ldr %[xb], [sp]\n\t"                                                                 \
    "ldr %[t], [sp, #8]\n\t"                                                              \
    TB_PW_CLEAR TB_PW_DOT("4")                                                             \
    "add %[w], %[w], %[s]\n\t" /* the next pair's first row */                            \
    TB_PW_REQUANT
/* one part of a multiple of 16 channels: the loop entered at its first step, no TBB */
#define TB_PW_TILE_START16                                                                 \
    "1:\n\t"                                                                              \
    "ldr %[xb], [sp]\n\t"                                                                 \
    TB_PW_CLEAR TB_PW_DOT_LOOP("4")                                                        \
    "add %[w], %[w], %[s]\n\t"                                                            \
    TB_PW_REQUANT

/* two parts: each part's rows, channels and TBB index from the frame, its next rows back
 * (`adj_a`, `adj_b` after each part's dot: "" or TB_PW_ROW_ADJ) */
#define TB_PW_TILE_START2_ADJ(adj_a, adj_b)                                                \
    "1:\n\t"                                                                              \
    "ldr %[xb], [sp]\n\t"                                                                 \
    "ldr %[w], [sp, #60]\n\t"                                                             \
    "ldr %[s], [sp, #64]\n\t"                                                             \
    "ldr %[t], [sp, #68]\n\t"                                                             \
    TB_PW_CLEAR TB_PW_DOT("72")                                                            \
    "add %[w], %[w], %[s]\n\t"                                                            \
    adj_a                                                                                  \
    "str %[w], [sp, #60]\n\t"                                                             \
    "ldr %[w], [sp, #76]\n\t"                                                             \
    "ldr %[s], [sp, #80]\n\t"                                                             \
    "ldr %[t], [sp, #84]\n\t"                                                             \
    TB_PW_DOT("4")                                                                         \
    "add %[w], %[w], %[s]\n\t"                                                            \
    adj_b                                                                                  \
    "str %[w], [sp, #76]\n\t"                                                             \
    TB_PW_REQUANT
#define TB_PW_TILE_START2 TB_PW_TILE_START2_ADJ("", "")
/* padded parts: a dot read its padded length of each row; the next pair's rows are a row
 * step less that length on (the step less the padded length at [sp + off]) */
#define TB_PW_ROW_ADJ(off) "ldr %[t], [sp, #" off "]\n\t" "add %[w], %[w], %[t]\n\t"

#define TB_PW_REQUANT                                                                      \
    /* bias, mult, shift of both channels: x0e, x0o, x1e, x1o, t, w1 */                  \
    "ldr %[t], [sp, #12]\n\t"                                                             \
    "ldr %[xb], [sp, #20]\n\t"                                                            \
    "ldr %[w0], [sp, #24]\n\t"                                                            \
    "ldr %[w1], [sp, #28]\n\t"                                                            \
    "add %[xb], %[xb], %[t]\n\t"                                                          \
    "add %[w0], %[w0], %[t]\n\t"                                                          \
    "add %[w1], %[w1], %[t]\n\t"                                                          \
    "add %[t], %[t], #8\n\t"                                                              \
    "str %[t], [sp, #12]\n\t"                                                             \
    "ldr %[x0e], [%[xb]]\n\t"                                                             \
    "ldr %[x0o], [%[xb], #4]\n\t"                                                         \
    "ldr %[x1e], [%[w0]]\n\t"                                                             \
    "ldr %[x1o], [%[w0], #4]\n\t"                                                         \
    "ldr %[t], [%[w1]]\n\t"                                                               \
    "ldr %[w1], [%[w1], #4]\n\t"                                                          \
    "qadd %[a00], %[a00], %[x0e]\n\t"                                                     \
    "qadd %[a10], %[a10], %[x0e]\n\t"                                                     \
    "qadd %[a01], %[a01], %[x0o]\n\t"                                                     \
    "qadd %[a11], %[a11], %[x0o]\n\t"                                                     \
    "smmul %[a00], %[a00], %[x1e]\n\t"                                                    \
    "smmul %[a10], %[a10], %[x1e]\n\t"                                                    \
    "smmul %[a01], %[a01], %[x1o]\n\t"                                                    \
    "smmul %[a11], %[a11], %[x1o]\n\t"                                                    \
    "sub %[t], %[t], #33\n\t"                                                             \
    "sub %[w1], %[w1], #33\n\t"                                                           \
    "asr %[a00], %[a00], %[t]\n\t"                                                        \
    "asr %[a10], %[a10], %[t]\n\t"                                                        \
    "asr %[a01], %[a01], %[w1]\n\t"                                                       \
    "asr %[a11], %[a11], %[w1]\n\t"                                                       \
    "ldr %[t], [sp, #32]\n\t"                                                             \
    "add %[a00], %[a00], %[t]\n\t"                                                        \
    "add %[a01], %[a01], %[t]\n\t"                                                        \
    "add %[a10], %[a10], %[t]\n\t"                                                        \
    "add %[a11], %[a11], %[t]\n\t"                                                        \
    "ssat %[x0e], #8, %[a00], asr #1\n\t"                                                 \
    "ssat %[x0o], #8, %[a01], asr #1\n\t"                                                 \
    "ssat %[x1e], #8, %[a10], asr #1\n\t"                                                 \
    "ssat %[x1o], #8, %[a11], asr #1\n\t"                                                 \
    /* p1's bytes last: the same bytes as p0's when p1 = p0 */                            \
    "ldr %[xb], [sp, #36]\n\t"                                                            \
    "ldr %[t], [sp, #40]\n\t"                                                             \
    "strb %[x0o], [%[xb], #1]\n\t"                                                        \
    "strb %[x0e], [%[xb]], #2\n\t"                                                        \
    "str %[xb], [sp, #36]\n\t"                                                            \
    "add %[t], %[t], %[xb]\n\t"                                                           \
    "strb %[x1e], [%[t], #-2]\n\t"                                                        \
    "strb %[x1o], [%[t], #-1]\n\t"

#define TB_PW_TILE_END                                                                     \
    "ldr %[t], [sp, #12]\n\t"                                                             \
    "ldr %[xb], [sp, #16]\n\t"                                                            \
    "cmp %[t], %[xb]\n\t"                                                                 \
    "bne 1b\n\t"

/* mask bits v fits (v = a >> 1 equal to its saturation); a byte of each position is
 * complete every 4 tiles (the bit back at 1) */
#define TB_PW_TILE_MASK                                                                    \
    "ldr %[xb], [sp, #44]\n\t"                                                            \
    "ldr %[t], [sp, #48]\n\t"                                                             \
    "cmp %[x0e], %[a00], asr #1\n\t"                                                      \
    "it eq\n\t"                                                                           \
    "orreq %[xb], %[xb], %[t]\n\t"                                                        \
    "cmp %[x0o], %[a01], asr #1\n\t"                                                      \
    "it eq\n\t"                                                                           \
    "orreq %[xb], %[xb], %[t], lsl #1\n\t"                                                \
    "cmp %[x1e], %[a10], asr #1\n\t"                                                      \
    "it eq\n\t"                                                                           \
    "orreq %[xb], %[xb], %[t], lsl #8\n\t"                                                \
    "cmp %[x1o], %[a11], asr #1\n\t"                                                      \
    "it eq\n\t"                                                                           \
    "orreq %[xb], %[xb], %[t], lsl #9\n\t"                                                \
    "lsl %[t], %[t], #2\n\t"                                                              \
    "cmp %[t], #256\n\t"                                                                  \
    "beq 5f\n\t"                                                                          \
    "4:\n\t"                                                                              \
    "str %[xb], [sp, #44]\n\t"                                                            \
    "str %[t], [sp, #48]\n\t"

#define TB_PW_MASK_BYTES                                                                   \
    "b 6f\n\t"                                                                            \
    "5:\n\t"                                                                              \
    "ldr %[w0], [sp, #52]\n\t"                                                            \
    "ldr %[w1], [sp, #56]\n\t"                                                            \
    "lsr %[x0e], %[xb], #8\n\t"                                                           \
    "strb %[xb], [%[w0]]\n\t"                                                             \
    "strb %[x0e], [%[w0], %[w1]]\n\t"                                                     \
    "add %[w0], %[w0], #1\n\t"                                                            \
    "str %[w0], [sp, #52]\n\t"                                                            \
    "mov %[xb], #0\n\t"                                                                   \
    "mov %[t], #1\n\t"                                                                    \
    "b 4b\n\t"                                                                            \
    "6:\n\t"

#define TB_PW_FRAME_OUT "add sp, sp, #128\n\t"

/* A pair of positions: p1 = p0 + 1, or p0 for an odd last one (dy, dm then 0); both inputs
 * widened into the buffer, 8 channels per step, then at most a step of 4 (tb_pw_widen's
 * layout; the two parts' channels follow one another, both multiples of 4); the channel pairs'
 * offset back at 0 */
#define TB_PW_PAIR_START                                                                   \
    "7:\n\t"                                                                              \
    "ldr %[xb], [sp, #88]\n\t"                                                            \
    "ldr %[t], [sp, #104]\n\t"                                                            \
    "ldr %[w0], [sp, #92]\n\t"                                                            \
    "ldr %[w1], [sp, #120]\n\t"                                                           \
    "ldr %[a11], [sp, #124]\n\t"                                                          \
    "add %[t], %[xb], %[t]\n\t"                                                           \
    "cmp %[t], %[w0]\n\t"                                                                 \
    "ittt hi\n\t"                                                                         \
    "movhi %[t], %[xb]\n\t"                                                               \
    "movhi %[w1], #0\n\t"                                                                 \
    "movhi %[a11], #0\n\t"                                                                \
    "str %[w1], [sp, #40]\n\t"                                                            \
    "str %[a11], [sp, #56]\n\t"                                                           \
    "ldr %[w0], [sp]\n\t"                                                                 \
    "ldr %[w1], [sp, #100]\n\t"                                                           \
    "ldr %[a11], [sp, #104]\n\t"                                                          \
    "bic %[a10], %[a11], #7\n\t"                                                          \
    "add %[a10], %[xb], %[a10]\n\t"                                                       \
    "cmp %[xb], %[a10]\n\t"                                                               \
    "beq 8f\n\t"                                                                          \
    "9:\n\t"                                                                              \
    "ldr %[a00], [%[xb]], #4\n\t"                                                         \
    "ldr %[a01], [%[t]], #4\n\t"                                                          \
    "ldr %[x0e], [%[xb]], #4\n\t"                                                         \
    "ldr %[x0o], [%[t]], #4\n\t"                                                          \
    "sxtab16 %[x1e], %[w1], %[a00]\n\t"                                                   \
    "str %[x1e], [%[w0]], #4\n\t"                                                         \
    "sxtab16 %[x1e], %[w1], %[a00], ror #8\n\t"                                           \
    "str %[x1e], [%[w0]], #4\n\t"                                                         \
    "sxtab16 %[x1e], %[w1], %[a01]\n\t"                                                   \
    "str %[x1e], [%[w0]], #4\n\t"                                                         \
    "sxtab16 %[x1e], %[w1], %[a01], ror #8\n\t"                                           \
    "str %[x1e], [%[w0]], #4\n\t"                                                         \
    "sxtab16 %[x1e], %[w1], %[x0e]\n\t"                                                   \
    "str %[x1e], [%[w0]], #4\n\t"                                                         \
    "sxtab16 %[x1e], %[w1], %[x0e], ror #8\n\t"                                           \
    "str %[x1e], [%[w0]], #4\n\t"                                                         \
    "sxtab16 %[x1e], %[w1], %[x0o]\n\t"                                                   \
    "str %[x1e], [%[w0]], #4\n\t"                                                         \
    "sxtab16 %[x1e], %[w1], %[x0o], ror #8\n\t"                                           \
    "cmp %[xb], %[a10]\n\t"                                                               \
    "str %[x1e], [%[w0]], #4\n\t"                                                         \
    "bne 9b\n\t"                                                                          \
    "8:\n\t"                                                                              \
    "tst %[a11], #4\n\t"                                                                  \
    "beq 2f\n\t"                                                                          \
    "ldr %[a00], [%[xb]]\n\t"                                                             \
    "ldr %[a01], [%[t]]\n\t"                                                              \
    "sxtab16 %[x1e], %[w1], %[a00]\n\t"                                                   \
    "str %[x1e], [%[w0]]\n\t"                                                             \
    "sxtab16 %[x1e], %[w1], %[a00], ror #8\n\t"                                           \
    "str %[x1e], [%[w0], #4]\n\t"                                                         \
    "sxtab16 %[x1e], %[w1], %[a01]\n\t"                                                   \
    "str %[x1e], [%[w0], #8]\n\t"                                                         \
    "sxtab16 %[x1e], %[w1], %[a01], ror #8\n\t"                                           \
    "str %[x1e], [%[w0], #12]\n\t"                                                        \
    "2:\n\t"                                                                              \
    "mov %[t], #0\n\t"                                                                    \
    "str %[t], [sp, #12]\n\t"

/* one part: its rows and channels in w, s; two: both parts' rows back at the start */
#define TB_PW_PAIR_ROWS "ldr %[w], [sp, #108]\n\t" "ldr %[s], [sp, #104]\n\t"
#define TB_PW_PAIR_ROWS2                                                                   \
    "ldr %[t], [sp, #112]\n\t"                                                            \
    "ldr %[xb], [sp, #116]\n\t"                                                           \
    "str %[t], [sp, #60]\n\t"                                                             \
    "str %[xb], [sp, #76]\n\t"

/* the next pair: inputs 2 c_in on, outputs 2 c_out on (c_out done), mask bytes 2 c_out / 8
 * (c_out / 8 done); until the inputs end */
#define TB_PW_PAIR_END(mask)                                                               \
    "ldr %[xb], [sp, #88]\n\t"                                                            \
    "ldr %[t], [sp, #104]\n\t"                                                            \
    "ldr %[w0], [sp, #96]\n\t"                                                            \
    "ldr %[x0e], [sp, #36]\n\t"                                                           \
    "ldr %[w1], [sp, #120]\n\t"                                                           \
    "add %[xb], %[xb], %[t], lsl #1\n\t"                                                  \
    "add %[x0e], %[x0e], %[w1]\n\t"                                                       \
    "str %[xb], [sp, #88]\n\t"                                                            \
    "str %[x0e], [sp, #36]\n\t"                                                           \
    mask                                                                                   \
    "cmp %[xb], %[w0]\n\t"                                                                \
    "blo 7b\n\t"
#define TB_PW_PAIR_MASK                                                                    \
    "ldr %[x0e], [sp, #52]\n\t"                                                           \
    "ldr %[w1], [sp, #124]\n\t"                                                           \
    "add %[x0e], %[x0e], %[w1]\n\t"                                                       \
    "str %[x0e], [sp, #52]\n\t"

#define TB_PW_CH_OPERANDS                                                                          \
    [a00] "=&r"(a00), [a01] "=&r"(a01), [a10] "=&r"(a10), [a11] "=&r"(a11), [xb] "=&r"(xb), [w] "=&r"(wr), \
        [x0e] "=&r"(x0e), [x0o] "=&r"(x0o), [x1e] "=&r"(x1e), [x1o] "=&r"(x1o), [w0] "=&r"(w0),       \
        [w1] "=&r"(w1), [t] "+r"(t), [s] "=&r"(sr)

/* Every pair of positions of a call whose weight parts (k_train and c_in - k_train channels, `parts`
 * of them nonempty: a constant, 16 for one part of a multiple of 16 channels, whose dot starts at
 * its loop's first step without the TBB) are multiples of 4 channels, c_in at most TB_PW_MAX_CIN:
 * widened (tb_pw_widen, part by part), then every channel pair in assembly (`masked` a constant). */
static inline __attribute__((always_inline)) void
tb_pw_asm_body(const int8_t *x, int32_t hw, int32_t c_in, int32_t x_zero, const int8_t *w_train,
               const int8_t *w_frozen, int32_t k_train, const int32_t *bias, int32_t c_out, const int32_t *mult,
               const int32_t *shift, int32_t y_zero, int8_t *y, uint8_t *mask, int parts, int masked)
{
    uint32_t buf[TB_PW_MAX_CIN];
    const int32_t k_frozen = c_in - k_train;
    const int8_t *wr;
    int32_t a00, a01, a10, a11, sr;
    uint32_t x0e, x0o, x1e, x1o, w0, w1, t;
    const uint32_t *xb;
    tb_pw_state_t st;
    st.buf = buf;
    st.end = buf + c_in;
    st.ti = (uint32_t)(-(c_in >> 2)) & 3u;
    st.o_end = 4 * c_out;
    st.bias = bias;
    st.mult = mult;
    st.shift = shift;
    st.k = 1 + 2 * y_zero;
    st.mw = 0;
    st.bit = 1;
    st.mp = mask;
    st.dm = 0;
    st.sa = k_train;
    st.tia = (uint32_t)(-(k_train >> 2)) & 3u;
    st.enda = buf + k_train;
    st.sb = k_frozen;
    st.tib = (uint32_t)(-(k_frozen >> 2)) & 3u;
    st.x0 = x;
    st.x_last = x + (hw - 1) * c_in;
    st.x_end = x + hw * c_in;
    st.zp = tb_dsp_pair(-x_zero);
    st.c_in = c_in;
    st.w_one = k_train == 0 ? w_frozen : w_train;
    st.wt = w_train;
    st.wf = w_frozen;
    st.c_out = c_out;
    st.c_out8 = c_out / 8;
    st.o = 0;
    st.y = y;
    st.dy = 0;
    st.wa = w_train;
    st.wb = w_frozen;
    t = (uint32_t)(uintptr_t)&st;
#define TB_PW_NEST(rows, start)                                                                 \
    __asm volatile(TB_PW_FRAME_IN TB_PW_PAIR_START rows start TB_PW_TILE_END TB_PW_PAIR_END("") \
                   TB_PW_FRAME_OUT : TB_PW_CH_OPERANDS : : "cc", "memory")
#define TB_PW_NEST_MASKED(rows, start)                                                          \
    __asm volatile(TB_PW_FRAME_IN TB_PW_PAIR_START rows start TB_PW_TILE_MASK TB_PW_TILE_END    \
                   TB_PW_MASK_BYTES TB_PW_PAIR_END(TB_PW_PAIR_MASK) TB_PW_FRAME_OUT              \
                   : TB_PW_CH_OPERANDS : : "cc", "memory")
    if (parts == 16 && masked) {
        TB_PW_NEST_MASKED(TB_PW_PAIR_ROWS, TB_PW_TILE_START16);
    } else if (parts == 16) {
        TB_PW_NEST(TB_PW_PAIR_ROWS, TB_PW_TILE_START16);
    } else if (parts == 1 && masked) {
        TB_PW_NEST_MASKED(TB_PW_PAIR_ROWS, TB_PW_TILE_START);
    } else if (parts == 1) {
        TB_PW_NEST(TB_PW_PAIR_ROWS, TB_PW_TILE_START);
    } else if (masked) {
        TB_PW_NEST_MASKED(TB_PW_PAIR_ROWS2, TB_PW_TILE_START2);
    } else {
        TB_PW_NEST(TB_PW_PAIR_ROWS2, TB_PW_TILE_START2);
    }
#undef TB_PW_NEST
#undef TB_PW_NEST_MASKED
}

/* The assembly path: both weight parts multiples of 4 channels, c_in at most TB_PW_MAX_CIN. */
static void tb_pw_asm(const int8_t *x, int32_t hw, int32_t c_in, int32_t x_zero, const int8_t *w_train,
                      const int8_t *w_frozen, int32_t k_train, const int32_t *bias, int32_t c_out, const int32_t *mult,
                      const int32_t *shift, int32_t y_zero, int8_t *y, uint8_t *mask)
{
#define TB_PW_ASM(parts, masked)                                                                               \
    tb_pw_asm_body(x, hw, c_in, x_zero, w_train, w_frozen, k_train, bias, c_out, mult, shift, y_zero, y, mask, \
                   parts, masked)
    const int one_part = k_train == 0 || k_train == c_in;
    if (one_part && c_in % 16 == 0 && mask != NULL) {
        TB_PW_ASM(16, 1);
    } else if (one_part && c_in % 16 == 0) {
        TB_PW_ASM(16, 0);
    } else if (one_part && mask != NULL) {
        TB_PW_ASM(1, 1);
    } else if (one_part) {
        TB_PW_ASM(1, 0);
    } else if (mask != NULL) {
        TB_PW_ASM(2, 1);
    } else {
        TB_PW_ASM(2, 0);
    }
#undef TB_PW_ASM
}

/* ------------------------------------- usual path, padded weight parts, DSP cores */

/* The halfword of channel j (< 4) in a group of 4 of tb_pw_widen's layout: even word, then odd */
static inline int32_t tb_pw_lane(int32_t j)
{
    return (j >> 1) + 2 * (j & 1);
}

/* tb_pw_widen of n channels, the n % 4 last ones as a whole group of 4 (its missing channels'
 * lanes zero). Returns the word after them. */
static uint32_t *tb_pw_widen_padded(const int8_t *x0, const int8_t *x1, int32_t n, int32_t x_zero, uint32_t zp,
                                    uint32_t *b)
{
    const int32_t n4 = n & ~3, r = n & 3;
    int16_t *h;
    int32_t j;
    b = tb_pw_widen(x0, x1, n4, x_zero, zp, b);
    if (r == 0) {
        return b;
    }
    b[0] = b[1] = b[2] = b[3] = 0;
    h = (int16_t *)b;
    for (j = 0; j < r; j++) {
        h[tb_pw_lane(j)] = (int16_t)(x0[n4 + j] - x_zero);
        h[4 + tb_pw_lane(j)] = (int16_t)(x1[n4 + j] - x_zero);
    }
    return b + 4;
}

/* tb_pw_dot over a part widened by tb_pw_widen_padded, of exactly n channels of the weight
 * rows (the last rows of the arrays: no byte past them is read). Returns the word after it. */
static inline __attribute__((always_inline)) const uint32_t *
tb_pw_dot_padded(const uint32_t *xb, const int8_t *w, int32_t s, int32_t n, tb_fast_acc4_t *acc)
{
    const int32_t n4 = n & ~3, r = n & 3;
    const int16_t *h;
    int32_t j;
    xb = tb_pw_dot(xb, w, s, n4, acc);
    h = (const int16_t *)xb;
    for (j = 0; j < r; j++) {
        const int32_t x0 = h[tb_pw_lane(j)], x1 = h[4 + tb_pw_lane(j)];
        acc->a0 += x0 * w[n4 + j];
        acc->a1 += x0 * w[s + n4 + j];
        acc->a2 += x1 * w[n4 + j];
        acc->a3 += x1 * w[s + n4 + j];
    }
    return r == 0 ? xb : xb + 4;
}

/* Whether the padded path computes this usual call: two weight parts, not both multiples of 4
 * channels, whose lengths rounded up to 4 fit the buffer; at least 16 output channels (the
 * assembly runs all but the last 8). */
static int tb_pw_padded_ok(int32_t c_in, int32_t k_train, int32_t c_out)
{
    return k_train > 0 && k_train < c_in && (k_train % 4 != 0 || c_in % 4 != 0) && c_out >= 16 &&
           ((k_train + 3) & ~3) + ((c_in - k_train + 3) & ~3) <= TB_PW_MAX_CIN;
}

/* Two weight parts not both multiples of 4 channels (tb_pw_padded_ok), per pair of positions:
 * both parts widened padded (tb_pw_widen_padded), so that the assembly tile loop of two parts
 * (TB_PW_TILE_START2, its state copied per pair) reads their padded lengths: the zero lanes make
 * the weight bytes read past a row (the next row's first ones) add nothing. The row steps stay
 * k_train and c_in - k_train (TB_PW_ROW_ADJ). The last 8 output channels in C
 * (tb_pw_dot_padded: the last row's padded word would read past its array). */
static inline __attribute__((always_inline)) void
tb_pw_padded_body(const int8_t *x, int32_t hw, int32_t c_in, int32_t x_zero, const int8_t *w_train,
                  const int8_t *w_frozen, int32_t k_train, const int32_t *bias, int32_t c_out, const int32_t *mult,
                  const int32_t *shift, int32_t y_zero, int8_t *y, uint8_t *mask, int masked)
{
    uint32_t buf[TB_PW_MAX_CIN];
    const int32_t k_frozen = c_in - k_train, pa = (k_train + 3) & ~3, pb = (k_frozen + 3) & ~3;
    const int32_t c_last = c_out - 8, k = 1 + 2 * y_zero;
    const uint32_t zp = tb_dsp_pair(-x_zero);
    const int8_t *wr;
    int32_t a00, a01, a10, a11, sr, p;
    uint32_t x0e, x0o, x1e, x1o, w0, w1, t;
    const uint32_t *xb;
    tb_pw_state_t st;
    st.buf = buf;
    st.end = buf + pa + pb;
    st.ti = (uint32_t)(k_train - pa);
    st.o_end = 4 * c_last;
    st.bias = bias;
    st.mult = mult;
    st.shift = shift;
    st.k = k;
    st.sa = k_train;
    st.tia = (uint32_t)(-(pa >> 2)) & 3u;
    st.enda = buf + pa;
    st.sb = k_frozen;
    st.tib = (uint32_t)(-(pb >> 2)) & 3u;
    st.c_in = k_frozen - pb;
    for (p = 0; p < hw; p += 2) {
        const int32_t p1 = p + 1 < hw ? p + 1 : p;
        const int8_t *x0 = x + p * c_in, *x1 = x + p1 * c_in;
        int8_t *y0 = y + p * c_out, *y1 = y + p1 * c_out;
        uint32_t m0 = 0, m1 = 0;
        tb_pw_widen_padded(x0 + k_train, x1 + k_train, k_frozen, x_zero, zp,
                           tb_pw_widen_padded(x0, x1, k_train, x_zero, zp, buf));
        st.o = 0;
        st.y = y0;
        st.dy = (p1 - p) * c_out;
        st.mw = 0;
        st.bit = 1;
        st.mp = masked ? mask + p * c_out / 8 : mask;
        st.dm = (p1 - p) * c_out / 8;
        st.wa = w_train;
        st.wb = w_frozen;
        t = (uint32_t)(uintptr_t)&st;
        if (masked) {
            __asm volatile(TB_PW_FRAME_IN TB_PW_TILE_START2_ADJ(TB_PW_ROW_ADJ("8"), TB_PW_ROW_ADJ("104"))
                           TB_PW_TILE_MASK TB_PW_TILE_END TB_PW_MASK_BYTES TB_PW_FRAME_OUT
                           : TB_PW_CH_OPERANDS : : "cc", "memory");
        } else {
            __asm volatile(TB_PW_FRAME_IN TB_PW_TILE_START2_ADJ(TB_PW_ROW_ADJ("8"), TB_PW_ROW_ADJ("104"))
                           TB_PW_TILE_END TB_PW_FRAME_OUT
                           : TB_PW_CH_OPERANDS : : "cc", "memory");
        }
        /* the 4 tiles written out: their mask bits are immediates */
#define TB_PW_PADDED_TILE(j)                                                                                 \
        {                                                                                                    \
            const int32_t c = c_last + j;                                                                    \
            tb_fast_acc4_t acc;                                                                              \
            acc.a0 = acc.a1 = acc.a2 = acc.a3 = 0;                                                           \
            tb_pw_dot_padded(tb_pw_dot_padded(buf, w_train + c * k_train, k_train, k_train, &acc),          \
                             w_frozen + c * k_frozen, k_frozen, k_frozen, &acc);                            \
            tb_pw_out2(acc.a0, acc.a2, bias[c], mult[c], shift[c] - 33, k, y0 + c, y1 + c, &m0, &m1, 1u << j, \
                       masked);                                                                              \
            tb_pw_out2(acc.a1, acc.a3, bias[c + 1], mult[c + 1], shift[c + 1] - 33, k, y0 + c + 1, y1 + c + 1, \
                       &m0, &m1, 2u << j, masked);                                                           \
        }
        TB_PW_PADDED_TILE(0)
        TB_PW_PADDED_TILE(2)
        TB_PW_PADDED_TILE(4)
        TB_PW_PADDED_TILE(6)
#undef TB_PW_PADDED_TILE
        if (masked) {
            mask[(p1 * c_out + c_last) >> 3] = (uint8_t)m1;
            mask[(p * c_out + c_last) >> 3] = (uint8_t)m0;
        }
    }
}

static void tb_pw_padded(const int8_t *x, int32_t hw, int32_t c_in, int32_t x_zero, const int8_t *w_train,
                         const int8_t *w_frozen, int32_t k_train, const int32_t *bias, int32_t c_out,
                         const int32_t *mult, const int32_t *shift, int32_t y_zero, int8_t *y, uint8_t *mask)
{
    if (mask != NULL) {
        tb_pw_padded_body(x, hw, c_in, x_zero, w_train, w_frozen, k_train, bias, c_out, mult, shift, y_zero, y,
                          mask, 1);
    } else {
        tb_pw_padded_body(x, hw, c_in, x_zero, w_train, w_frozen, k_train, bias, c_out, mult, shift, y_zero, y,
                          mask, 0);
    }
}
#endif

/* ------------------------------------------------------------------- general path */

/* tb_fast_dot_1x1 as a function: both weight parts run the same code. */
static int32_t __attribute__((noinline)) tb_pw_dot1(const int8_t *x, const int8_t *w, int32_t n, int32_t x_zero,
                                                    uint32_t zp)
{
    return tb_fast_dot_1x1(x, w, n, x_zero, zp);
}

/* Positions in order, each output channel alone (tb_fast_dot_1x1 per weight part,
 * tb_fast_requant), the mask cleared first: a position's outputs lie in rows before the inputs
 * still to be read. */
static void tb_pw_general(const int8_t *x, int32_t hw, int32_t c_in, int32_t x_zero, const int8_t *w_train,
                          const int8_t *w_frozen, int32_t k_train, const int32_t *bias, int32_t c_out,
                          const int32_t *mult, const int32_t *shift, int32_t y_zero, int8_t *y, uint8_t *mask)
{
    const int32_t k_frozen = c_in - k_train;
    const uint32_t zp = tb_dsp_pair(-x_zero);
    int32_t p, c;
    tb_fast_mask_clear(mask, hw * c_out);
    for (p = 0; p < hw; p++) {
        const int8_t *xp = x + p * c_in;
        for (c = 0; c < c_out; c++) {
            const tb_fast_requant_t q = tb_fast_requant_init(bias[c], mult[c], shift[c], y_zero);
            const int32_t acc = tb_pw_dot1(xp, w_train + c * k_train, k_train, x_zero, zp) +
                                tb_pw_dot1(xp + k_train, w_frozen + c * k_frozen, k_frozen, x_zero, zp);
            tb_fast_store_s8(y, mask, p * c_out + c, tb_fast_requant(&q, acc));
        }
    }
}

void tb_pointwise_fwd_s8(const int8_t *x, int32_t h, int32_t w, int32_t c_in, int32_t x_zero,
                         const int8_t *w_train, const int8_t *w_frozen, int32_t k_train,
                         const int32_t *bias, int32_t c_out, const int32_t *mult,
                         const int32_t *shift, int32_t y_zero, int8_t *y, uint8_t *mask)
{
    if (tb_pw_usual(h, w, c_in, x_zero, k_train, c_out, shift, y_zero)) {
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
        if (c_in <= TB_PW_MAX_CIN && c_in % 4 == 0 && k_train % 4 == 0) {
            tb_pw_asm(x, h * w, c_in, x_zero, w_train, w_frozen, k_train, bias, c_out, mult, shift, y_zero, y, mask);
            return;
        }
        if (tb_pw_padded_ok(c_in, k_train, c_out)) {
            tb_pw_padded(x, h * w, c_in, x_zero, w_train, w_frozen, k_train, bias, c_out, mult, shift, y_zero, y,
                         mask);
            return;
        }
#endif
        if (c_in > TB_PW_MAX_CIN) {
            tb_pw_usual_wide(x, h * w, c_in, x_zero, w_train, w_frozen, k_train, bias, c_out, mult, shift, y_zero,
                             y, mask);
        } else {
            tb_pw_usual_narrow(x, h * w, c_in, x_zero, w_train, w_frozen, k_train, bias, c_out, mult, shift,
                               y_zero, y, mask);
        }
    } else {
        tb_pw_general(x, h * w, c_in, x_zero, w_train, w_frozen, k_train, bias, c_out, mult, shift, y_zero,
                      y, mask);
    }
}
