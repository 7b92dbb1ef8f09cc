/* tb_pwdw_fwd_s8, fast: same results as src/Convolution/tb_pwdw_fwd_s8.c.
 *
 * Per channel plane (the contract's plane holds one), two parts:
 * - pointwise: four positions per pass over the weight row, 8 channels per step (one weight
 *   word widened by SXTB16 for the four positions, each position's word by SXTAB16 with the
 *   zero point, SMLAD), the loop nest in assembly on DSP cores (gcc spills the row pointers);
 *   c_in = 8: the weights widened once into registers, the zero point folded into the start;
 * - depthwise, by words: a window reads 1 or 2 words per tap row (4 * words >= kernel bytes)
 *   against a filter widened once (SXTB16) with zero lanes for the taps outside the plane.
 *   A plane whose copy with a border of pad bytes of mid_zero fits TB_PWDW_PADDED bytes is
 *   copied into it (the border filled once per call) and all its windows are inside: one grid
 *   against one filter. Larger planes: the filter's read start rs clamped so that the words stay
 *   inside the row, zero rows around it; the inner columns share one filter, their full rows one
 *   grid, the rows cut by the plane's top or bottom one run each (the kernel's rows read from a
 *   start row moved inside the plane, against the filter's rows moved alike); each edge column
 *   builds its filter when the pattern changes and runs down its full-height windows. Runs
 *   unroll the kernel's rows (3, 5, 7), keep the filter in locals and fold the zero point into
 *   the start (every tap read is inside or has a zero weight); without a mask the 3 x 3 and
 *   5 x 5 ones are assembly, and a grid of 3 x 3 goes by pairs of windows along each row. The
 *   windows left (edge columns' first and last rows, planes narrower than the words, other
 *   requantizations) go one by one, rows cut at the plane's edges, taps one by one where the
 *   words would leave the plane.
 * Requantization: for a channel whose shift is in [33, 54] and whose bias cannot saturate the
 * int32 sum, the accumulator starts at the bias and one SMMLA gives
 * floor(p / 2^32) + 2^(t-1) + (y_zero << t) (t = shift - 32, see tb_fast_requant), so the
 * output is that >> t, exactly; other channels take tb_fast_requant. Kernels above 7 take the
 * taps one by one. */
#include "tb_kernels.h"
#include "Internal/tb_nn_fast.h"

#define TB_PWDW_MAX_K 7
#define TB_PWDW_WORDS 2 /* ceil(TB_PWDW_MAX_K / 4) */
/* Planes whose bordered copy fits TB_PWDW_PADDED bytes (16 x 16 with a 7 x 7 kernel: 484) take
 * their depthwise part from it; a window's words read up to 4 * TB_PWDW_WORDS - kernel <= 3
 * bytes past its last row's end (zero weights), hence the slack after the last row. */
#define TB_PWDW_PADDED 488
#define TB_PWDW_SLACK 4

/* The requantization of one channel's outputs: fast (acc started at init = bias, one SMMLA
 * and a shift) when `fast`, else init = 0 and tb_fast_requant. */
typedef struct {
    tb_fast_requant_t q;
    int32_t fast, init, mult, add, t;
} tb_pwdw_rq_t;

/* `terms` products of |x - zero| <= 255 by |w| <= 128 added to the bias (or of |x| <= 128 by
 * |w| to the bias less zero * the sum of the weights) never leave int32 when
 * |bias| + terms * 32768 < 2^31; the shifts 33..54 keep |add| < 2^30 with high in
 * [-2^30, 2^30]. */
static inline tb_pwdw_rq_t tb_pwdw_rq(int32_t bias, int32_t mult, int32_t shift, int32_t y_zero, int32_t terms)
{
    tb_pwdw_rq_t r;
    const int64_t room = (int64_t)INT32_MAX - (int64_t)terms * 32768;
    const int64_t mag = bias < 0 ? -(int64_t)bias : (int64_t)bias;
    r.q = tb_fast_requant_init(bias, mult, shift, y_zero);
    r.fast = (shift >= 33) & (shift <= 54) & (mag < room); /* & rather than &&: no branches */
    r.t = r.fast ? shift - 32 : 0;
    r.init = r.fast ? bias : 0;
    r.mult = mult;
    r.add = r.fast ? (int32_t)(((int64_t)1 << (r.t - 1)) + (int64_t)y_zero * ((int64_t)1 << r.t)) : 0;
    return r;
}

static inline int32_t tb_pwdw_out(const tb_pwdw_rq_t *r, int32_t acc)
{
    if (r->fast) {
        return tb_dsp_smmla(acc, r->mult, r->add) >> r->t;
    }
    return tb_fast_requant(&r->q, acc);
}

/* ------------------------------------------------------------------------- pointwise */

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* Channels whose requantization is fast, c_in a positive multiple of 8: plane[0 .. 4 * quads),
 * four positions per pass. The whole loop nest is assembly (the inner loop needs
 * all 14 registers; gcc would spill the row pointers): per 4 channels one weight word widened
 * (SXTB16) for the four positions, each position's word widened with the zero point
 * (SXTAB16), 2 SMLAD per position, loads in runs (pipelined); per pass the four accumulators
 * start at the bias and end as SMMLA, ASR, SSAT, STRB (tb_pwdw_out). Without DSP (the host
 * build) tb_pwdw_plane's plain loop does these positions too. */
static void tb_pwdw_plane_quads(const int8_t *x, int32_t quads, int32_t c_in, int32_t x_zero, const int8_t *wr,
                                const tb_pwdw_rq_t *r, int8_t *plane)
{
    const uint32_t zp = tb_dsp_pair(-x_zero);
    const int8_t *w0 = wr, *wend = wr + c_in, *x2;
    int8_t *p = plane, *pend = plane + 4 * quads;
    const int32_t init = r->init, mult = r->mult, add = r->add, t = r->t;
    const int8_t *w;
    int32_t a0, a1, a2, a3;
    uint32_t t0, t1, t2, t3, t4;
#define TB_PWDW_STEP4(tail)                                                                  \
        "ldr %[t0], [%[w]], #4\n\t"                                                       \
        "ldr %[t1], [%[x], %[s]]\n\t"                                                     \
        "ldr %[t2], [%[x2], %[s]]\n\t"                                                    \
        "sxtb16 %[t3], %[t0]\n\t"                                                         \
        "sxtb16 %[t0], %[t0], ror #8\n\t"                                                 \
        "sxtab16 %[t4], %[zp], %[t1]\n\t"                                                 \
        "smlad %[a1], %[t4], %[t3], %[a1]\n\t"                                            \
        "sxtab16 %[t1], %[zp], %[t1], ror #8\n\t"                                         \
        "smlad %[a1], %[t1], %[t0], %[a1]\n\t"                                            \
        "sxtab16 %[t4], %[zp], %[t2]\n\t"                                                 \
        "smlad %[a3], %[t4], %[t3], %[a3]\n\t"                                            \
        "sxtab16 %[t2], %[zp], %[t2], ror #8\n\t"                                         \
        "smlad %[a3], %[t2], %[t0], %[a3]\n\t"                                            \
        "ldr %[t1], [%[x]], #4\n\t"                                                       \
        "ldr %[t2], [%[x2]], #4\n\t"                                                      \
        tail                                                                              \
        "sxtab16 %[t4], %[zp], %[t1]\n\t"                                                 \
        "smlad %[a0], %[t4], %[t3], %[a0]\n\t"                                            \
        "sxtab16 %[t1], %[zp], %[t1], ror #8\n\t"                                         \
        "smlad %[a0], %[t1], %[t0], %[a0]\n\t"                                            \
        "sxtab16 %[t4], %[zp], %[t2]\n\t"                                                 \
        "smlad %[a2], %[t4], %[t3], %[a2]\n\t"                                            \
        "sxtab16 %[t2], %[zp], %[t2], ror #8\n\t"                                         \
        "smlad %[a2], %[t2], %[t0], %[a2]\n\t"
#define TB_PWDW_OUT(a) "smmla %[" a "], %[" a "], %[t0], %[t1]\n\t" "asr %[" a "], %[" a "], %[t2]\n\t" \
        "ssat %[" a "], #8, %[" a "]\n\t"
    __asm volatile(
        "2:\n\t"
        "ldr %[a0], %[init]\n\t"
        "ldr %[w], %[w0]\n\t"
        "mov %[a1], %[a0]\n\t"
        "mov %[a2], %[a0]\n\t"
        "mov %[a3], %[a0]\n\t"
        "add %[x2], %[x], %[s], lsl #1\n\t"
        "1:\n\t"
        TB_PWDW_STEP4("")
        TB_PWDW_STEP4("ldr %[t4], %[wend]\n\tcmp %[w], %[t4]\n\t")
        "bne 1b\n\t"
        "ldr %[t0], %[mult]\n\t"
        "ldr %[t1], %[add]\n\t"
        "ldr %[t2], %[t]\n\t"
        "ldr %[t3], %[p]\n\t"
        TB_PWDW_OUT("a0") TB_PWDW_OUT("a1") TB_PWDW_OUT("a2") TB_PWDW_OUT("a3")
        "strb %[a0], [%[t3]]\n\t"
        "strb %[a1], [%[t3], #1]\n\t"
        "strb %[a2], [%[t3], #2]\n\t"
        "strb %[a3], [%[t3], #3]\n\t"
        "adds %[t3], #4\n\t"
        "str %[t3], %[p]\n\t"
        "ldr %[t4], %[pend]\n\t"
        "add %[x], %[x], %[s], lsl #1\n\t"
        "add %[x], %[x], %[s]\n\t"
        "cmp %[t3], %[t4]\n\t"
        "bne 2b\n\t"
        : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [x] "+r"(x), [x2] "=&r"(x2),
          [w] "=&r"(w), [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4),
          [p] "+m"(p)
        : [s] "r"(c_in), [zp] "r"(zp), [w0] "m"(w0), [wend] "m"(wend), [pend] "m"(pend), [init] "m"(init),
          [mult] "m"(mult), [add] "m"(add), [t] "m"(t)
        : "cc", "memory");
#undef TB_PWDW_STEP4
}

/* tb_pwdw_plane_quads for c_in = 8: the weight row widened once (4 registers), the zero point
 * folded into the start (init - x_zero * the sum of the weights: every partial sum is that of
 * the contract taken mod 2^32, the last one fits int32), so each position is 2 word loads,
 * 4 SXTB16, 4 SMLAD (the first from the start); per 4 positions SMMLA, ASR, SSAT, STRB each. */
static void tb_pwdw_plane_quads8(const int8_t *x, int32_t quads, int32_t x_zero, const int8_t *wr,
                                 const tb_pwdw_rq_t *r, int8_t *plane)
{
    const uint32_t v0 = tb_dsp_read4(wr), v1 = tb_dsp_read4(wr + 4);
    const uint32_t w0e = tb_dsp_sxtb16(v0), w0o = tb_dsp_sxtb16_ror8(v0);
    const uint32_t w1e = tb_dsp_sxtb16(v1), w1o = tb_dsp_sxtb16_ror8(v1);
    const int32_t init = r->init - x_zero * (tb_dsp_lo(w0e) + tb_dsp_hi(w0e) + tb_dsp_lo(w0o) + tb_dsp_hi(w0o) +
                                             tb_dsp_lo(w1e) + tb_dsp_hi(w1e) + tb_dsp_lo(w1o) + tb_dsp_hi(w1o));
    const int32_t mult = r->mult, add = r->add, t = r->t;
    const int8_t *pend = plane + 4 * quads;
    int8_t *p = plane;
    int32_t a0, a1, a2, a3;
    uint32_t t0, t1, t2;
#define TB_PWDW_POS8(a)                                                                       \
        "ldr %[t0], [%[x]], #4\n\t"                                                           \
        "ldr %[t1], [%[x]], #4\n\t"                                                           \
        "sxtb16 %[t2], %[t0]\n\t"                                                             \
        "smlad %[" a "], %[t2], %[w0e], %[init]\n\t"                                          \
        "sxtb16 %[t0], %[t0], ror #8\n\t"                                                     \
        "smlad %[" a "], %[t0], %[w0o], %[" a "]\n\t"                                         \
        "sxtb16 %[t2], %[t1]\n\t"                                                             \
        "smlad %[" a "], %[t2], %[w1e], %[" a "]\n\t"                                         \
        "sxtb16 %[t1], %[t1], ror #8\n\t"                                                     \
        "smlad %[" a "], %[t1], %[w1o], %[" a "]\n\t"
    __asm volatile(
        "1:\n\t"
        TB_PWDW_POS8("a0") TB_PWDW_POS8("a1") TB_PWDW_POS8("a2") TB_PWDW_POS8("a3")
        "ldr %[t0], %[mult]\n\t"
        "ldr %[t1], %[add]\n\t"
        "ldr %[t2], %[t]\n\t"
        TB_PWDW_OUT("a0") TB_PWDW_OUT("a1") TB_PWDW_OUT("a2") TB_PWDW_OUT("a3")
        "strb %[a0], [%[p]]\n\t"
        "strb %[a1], [%[p], #1]\n\t"
        "strb %[a2], [%[p], #2]\n\t"
        "strb %[a3], [%[p], #3]\n\t"
        "ldr %[t0], %[pend]\n\t"
        "add %[p], %[p], #4\n\t"
        "cmp %[p], %[t0]\n\t"
        "bne 1b\n\t"
        : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [x] "+r"(x), [p] "+r"(p),
          [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2)
        : [w0e] "r"(w0e), [w0o] "r"(w0o), [w1e] "r"(w1e), [w1o] "r"(w1o), [init] "r"(init), [pend] "m"(pend),
          [mult] "m"(mult), [add] "m"(add), [t] "m"(t)
        : "cc", "memory");
#undef TB_PWDW_POS8
#undef TB_PWDW_OUT
}
#endif

/* The pointwise part of one channel into plane[0 .. positions); the weight row wr. */
static __attribute__((noinline)) void tb_pwdw_plane(const int8_t *x, int32_t positions, int32_t c_in, int32_t x_zero,
                                                    const int8_t *wr, const tb_pwdw_rq_t *r, int8_t *plane)
{
    const uint32_t zp = tb_dsp_pair(-x_zero);
    int32_t pos = 0;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    if (r->fast & ((c_in & 7) == 0) & (positions >= 4)) {
        pos = positions & ~3;
        if (c_in == 8) {
            tb_pwdw_plane_quads8(x, pos / 4, x_zero, wr, r, plane);
        } else {
            tb_pwdw_plane_quads(x, pos / 4, c_in, x_zero, wr, r, plane);
        }
    }
#endif
    for (; pos + 4 <= positions; pos += 4) {
        int32_t acc[4];
        acc[0] = acc[1] = acc[2] = acc[3] = r->init; /* not an initializer: -Os makes it a memset */
        tb_fast_dot_4x1(x + pos * c_in, c_in, wr, c_in, x_zero, zp, acc);
        plane[pos] = (int8_t)tb_dsp_ssat8(tb_pwdw_out(r, acc[0]));
        plane[pos + 1] = (int8_t)tb_dsp_ssat8(tb_pwdw_out(r, acc[1]));
        plane[pos + 2] = (int8_t)tb_dsp_ssat8(tb_pwdw_out(r, acc[2]));
        plane[pos + 3] = (int8_t)tb_dsp_ssat8(tb_pwdw_out(r, acc[3]));
    }
    for (; pos < positions; pos++) {
        const int32_t acc = r->init + tb_fast_dot_1x1(x + pos * c_in, wr, c_in, x_zero, zp);
        plane[pos] = (int8_t)tb_dsp_ssat8(tb_pwdw_out(r, acc));
    }
}

/* ------------------------------------------------------------------------- depthwise */

/* The filter of one output column: tap row ky at index TB_PWDW_RPAD + ky, its words q widened
 * (e: lanes 0 and 2, o: 1 and 3), `rsum` the sum of its taps; the TB_PWDW_RPAD rows before and
 * after stay zero, so that a window cut by the plane's top or bottom reads the kernel's rows
 * from a start row moved inside the plane against a view of the filter moved alike. */
#define TB_PWDW_RPAD 3 /* TB_PWDW_MAX_K / 2 */
#define TB_PWDW_FROWS (TB_PWDW_RPAD + TB_PWDW_MAX_K + TB_PWDW_RPAD)
typedef struct {
    uint32_t e[TB_PWDW_FROWS][TB_PWDW_WORDS], o[TB_PWDW_FROWS][TB_PWDW_WORDS];
    int32_t rsum[TB_PWDW_FROWS];
} tb_pwdw_filter_t;

/* n words at w set to v (no memset: the kernels use no libc). */
static void tb_pwdw_fill(uint32_t *w, int32_t n, uint32_t v)
{
    int32_t j;
    for (j = 0; j < n; j++) {
        w[j] = v;
        __asm("" : : "r"(w) : "memory");
    }
}

/* The channel's filter rows as bytes, TB_PWDW_LEAD zeros before and after each row, so that
 * a column's words are plain reads: lane L of word q holds tap 4q + L - lead. */
#define TB_PWDW_LEAD 8 /* >= the largest lead, 4 * TB_PWDW_WORDS - 1 */
#define TB_PWDW_ROW 24 /* >= TB_PWDW_LEAD + TB_PWDW_MAX_K / 2 + 4 * TB_PWDW_WORDS, a multiple of 4 */
typedef struct {
    uint32_t align; /* b word-aligned: cleared by words */
    int8_t b[TB_PWDW_MAX_K][TB_PWDW_ROW];
} tb_pwdw_rows_t;

/* The channel's taps into rows cleared once per call (tb_pwdw_fill): the zeros around them
 * are never written. */
static void tb_pwdw_pad_rows(const int8_t *wd, int32_t kernel, tb_pwdw_rows_t *rows)
{
    int32_t ky, kx;
    for (ky = 0; ky < kernel; ky++) {
        for (kx = 0; kx < kernel; kx++) {
            rows->b[ky][TB_PWDW_LEAD + kx] = wd[ky * kernel + kx];
        }
    }
}

/* The filter of a column read from rs with lead = ix0 - rs in [-pad, span - kernel]: the
 * taps that land in lanes are exactly those inside the row when the row holds the span
 * (rs clamped into [0, w_in - span]); taps [kx0, kx1) kept explicitly for narrower rows. */
static void tb_pwdw_filter(const tb_pwdw_rows_t *rows, int32_t kernel, int32_t words, int32_t lead, int32_t kx0,
                           int32_t kx1, int32_t narrow, tb_pwdw_filter_t *f)
{
    int32_t ky, q;
    for (ky = 0; ky < kernel; ky++) {
        const int8_t *rb = rows->b[ky] + TB_PWDW_LEAD - lead;
        uint32_t *e = f->e[TB_PWDW_RPAD + ky], *o = f->o[TB_PWDW_RPAD + ky];
        int32_t sum = 0;
        for (q = 0; q < words; q++) {
            uint32_t v = tb_dsp_read4(rb + 4 * q);
            if (narrow) {
                int32_t l;
                for (l = 0; l < 4; l++) { /* branch-free: lanes of taps outside [kx0, kx1) cleared */
                    const uint32_t out = (uint32_t)(4 * q + l - lead - kx0) >= (uint32_t)(kx1 - kx0);
                    v &= ~((out * 0xFFu) << (8 * l));
                }
            }
            e[q] = tb_dsp_sxtb16(v);
            o[q] = tb_dsp_sxtb16_ror8(v);
            sum += tb_dsp_lo(e[q]) + tb_dsp_hi(e[q]) + tb_dsp_lo(o[q]) + tb_dsp_hi(o[q]);
        }
        f->rsum[TB_PWDW_RPAD + ky] = sum;
    }
}

/* acc + the window rows [ky0, ky1) read from p (row ky0 of the window at p + ky0 * w_in),
 * `words` words per row (a constant). */
static inline __attribute__((always_inline)) int32_t tb_pwdw_rows(const int8_t *p, int32_t w_in,
                                                                  const tb_pwdw_filter_t *f, int32_t ky0, int32_t ky1,
                                                                  int32_t words, uint32_t mz, int32_t acc)
{
    int32_t ky, q;
    for (ky = ky0; ky < ky1; ky++) {
        const int8_t *r = p + ky * w_in;
#pragma GCC unroll 2
        for (q = 0; q < words; q++) {
            const uint32_t v = tb_dsp_read4(r + 4 * q);
            acc = tb_dsp_smlad(tb_dsp_sxtab16_ror8(mz, v), f->o[TB_PWDW_RPAD + ky][q],
                               tb_dsp_smlad(tb_dsp_sxtab16(mz, v), f->e[TB_PWDW_RPAD + ky][q], acc));
        }
    }
    return acc;
}

/* Window (oy, ox) tap by tap (kernels above TB_PWDW_MAX_K, words that would leave the plane). */
static int32_t tb_pwdw_taps(const int8_t *plane, int32_t h_in, int32_t w_in, const int8_t *wd, int32_t kernel,
                            int32_t stride, int32_t oy, int32_t ox, int32_t mid_zero, int32_t acc)
{
    int32_t ky0, ky1, kx0, kx1, ky, kx;
    const int32_t iy0 = oy * stride - kernel / 2, ix0 = ox * stride - kernel / 2;
    tb_fast_tap_range(oy, stride, kernel, h_in, &ky0, &ky1);
    tb_fast_tap_range(ox, stride, kernel, w_in, &kx0, &kx1);
    for (ky = ky0; ky < ky1; ky++) {
        const int8_t *r = plane + (iy0 + ky) * w_in + ix0;
        const int8_t *wk = wd + ky * kernel;
        for (kx = kx0; kx < kx1; kx++) {
            acc += (r[kx] - mid_zero) * wk[kx];
        }
    }
    return acc;
}

/* The geometry of one depthwise call. */
typedef struct {
    int32_t h_in, w_in, h_out, w_out, kernel, stride, pad, words, c_mid, mid_zero;
    int32_t oy_lo, oy_hi; /* output rows [oy_lo, oy_hi) have every tap row inside */
    int8_t *padded;       /* small planes: the plane with a border of pad bytes of mid_zero, or NULL */
    int32_t pitch;        /* its row length, w_in + 2 * pad */
} tb_pwdw_geo_t;

/* Where a run's windows lie: `rows` rows of n windows, the first at p, the next of a row pstep
 * bytes on, the next row prow bytes on, the tap rows w_in bytes apart; their outputs y[i],
 * y[i + ystep], ..., the rows yrow apart. */
typedef struct {
    const int8_t *p;
    int32_t n, pstep, w_in, i, ystep, rows, prow, yrow;
} tb_pwdw_walk_t;

static inline tb_pwdw_walk_t tb_pwdw_walk(const int8_t *p, int32_t n, int32_t pstep, int32_t w_in, int32_t i,
                                          int32_t ystep, int32_t rows, int32_t prow, int32_t yrow)
{
    const tb_pwdw_walk_t wk = {p, n, pstep, w_in, i, ystep, rows, prow, yrow};
    return wk;
}

/* The windows of a walk, k rows each (k a constant: the rows unrolled, the filter in locals; set
 * up once for all the walk's rows), against the filter rows base .. base + k - 1 (zero rows for the
 * window's taps outside the plane); outputs y[i], y[i + ystep], ...; fast requantization only.
 * The lanes and rows of the taps outside hold zero weights, so the zero point goes into the
 * start: init = bias - mid_zero * (the sum of the rows read), and the bytes are widened as they
 * are. */
static inline __attribute__((always_inline)) void tb_pwdw_run(const tb_pwdw_walk_t *wk, const tb_pwdw_filter_t *f,
                                                              int32_t base, int32_t k, int32_t mid_zero,
                                                              const tb_pwdw_rq_t *r, int8_t *y, uint8_t *mask)
{
    const int32_t words = (k + 3) / 4;
    const int32_t pstep = wk->pstep, w_in = wk->w_in, ystep = wk->ystep, prow = wk->prow, yrow = wk->yrow;
    const int8_t *p0 = wk->p;
    int32_t i0 = wk->i, row;
    const int32_t mult = r->mult, add = r->add, t = r->t;
    uint32_t e[TB_PWDW_MAX_K][TB_PWDW_WORDS], o[TB_PWDW_MAX_K][TB_PWDW_WORDS];
    int32_t ky, q, init, sum = 0;
#pragma GCC unroll 7
    for (ky = 0; ky < k; ky++) {
        sum += f->rsum[base + ky];
#pragma GCC unroll 2
        for (q = 0; q < words; q++) {
            e[ky][q] = f->e[base + ky][q];
            o[ky][q] = f->o[base + ky][q];
        }
    }
    init = r->init - mid_zero * sum;
    for (row = wk->rows; row > 0; row--, p0 += prow, i0 += yrow) {
        const int8_t *p = p0;
        int32_t i = i0, n;
        for (n = wk->n; n > 0; n--, p += pstep, i += ystep) {
            int32_t acc = init;
#pragma GCC unroll 7
            for (ky = 0; ky < k; ky++) {
#pragma GCC unroll 2
                for (q = 0; q < words; q++) {
                    const uint32_t v = tb_dsp_read4(p + ky * w_in + 4 * q);
                    acc = tb_dsp_smlad(tb_dsp_sxtb16_ror8(v), o[ky][q],
                                       tb_dsp_smlad(tb_dsp_sxtb16(v), e[ky][q], acc));
                }
            }
            tb_fast_store_s8(y, mask, i, tb_dsp_smmla(acc, mult, add) >> t);
        }
    }
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* A 3 x 3 filter whose words have no tap in lane 3, as the assembly runs hold it: the row pairs
 * (k0, k2) of the three rows e0, e1, e2 and the middle taps k1 packed as halfwords (o01: rows
 * 0 and 1, o2: row 2), with the start (zero point folded in) and the fast requantization. */
typedef struct {
    uint32_t e0, e1, e2, o01, o2;
    int32_t init, mult, add, t;
} tb_pwdw_k3_t;

static inline tb_pwdw_k3_t tb_pwdw_k3(const tb_pwdw_filter_t *f, int32_t base, int32_t mid_zero,
                                      const tb_pwdw_rq_t *r)
{
    tb_pwdw_k3_t k;
    k.e0 = f->e[base][0];
    k.e1 = f->e[base + 1][0];
    k.e2 = f->e[base + 2][0];
    k.o01 = (f->o[base][0] & 0xFFFFu) | (f->o[base + 1][0] << 16);
    k.o2 = f->o[base + 2][0];
    k.init = r->init - mid_zero * (f->rsum[base] + f->rsum[base + 1] + f->rsum[base + 2]);
    k.mult = r->mult;
    k.add = r->add;
    k.t = r->t;
    return k;
}

/* The end of a one-window step of the assembly runs: the requantization (SMMLA, ASR, SSAT), the
 * store, the step to the next window (p by ps, yp by ys) until yp reaches yend. */
#define TB_PWDW_NEXT1                                                                         \
        "ldr %[t0], %[mult]\n\t"                                                              \
        "ldr %[t1], %[add]\n\t"                                                               \
        "ldr %[t2], %[t]\n\t"                                                                 \
        "smmla %[acc], %[acc], %[t0], %[t1]\n\t"                                              \
        "asr %[acc], %[acc], %[t2]\n\t"                                                       \
        "ssat %[acc], #8, %[acc]\n\t"                                                         \
        "strb %[acc], [%[yp]]\n\t"                                                            \
        "ldr %[t0], %[yend]\n\t"                                                              \
        "add %[yp], %[yp], %[ys]\n\t"                                                         \
        "add %[p], %[p], %[ps]\n\t"                                                           \
        "cmp %[yp], %[t0]\n\t"                                                                \
        "bne 1b\n\t"

/* Windows at p, p + pstep, ... into yp, yp + ystep, ... up to yend (at least one), the filter
 * in 5 registers (SMLABB/SMLABT against byte 1 of each row word: lane 3 holds no tap), three
 * word loads per window, SMMLA, ASR, SSAT, STRB. In assembly: gcc spills the filter. */
static inline __attribute__((always_inline)) void tb_pwdw_loop3(const int8_t *p, int8_t *yp, const int8_t *yend,
                                                                int32_t w_in, int32_t pstep, int32_t ystep,
                                                                const tb_pwdw_k3_t *k)
{
    const int32_t init = k->init, mult = k->mult, add = k->add, t = k->t;
    int32_t acc;
    uint32_t t0, t1, t2;
    __asm volatile(
        "1:\n\t"
        "ldr %[t0], [%[p]]\n\t"
        "ldr %[t1], [%[p], %[w]]\n\t"
        "ldr %[acc], %[init]\n\t"
        "sxtb16 %[t2], %[t0]\n\t"
        "smlad %[acc], %[t2], %[e0], %[acc]\n\t"
        "sxtb16 %[t0], %[t0], ror #8\n\t"
        "smlabb %[acc], %[t0], %[o01], %[acc]\n\t"
        "sxtb16 %[t2], %[t1]\n\t"
        "smlad %[acc], %[t2], %[e1], %[acc]\n\t"
        "sxtb16 %[t1], %[t1], ror #8\n\t"
        "smlabt %[acc], %[t1], %[o01], %[acc]\n\t"
        "ldr %[t0], [%[p], %[w], lsl #1]\n\t"
        "sxtb16 %[t2], %[t0]\n\t"
        "smlad %[acc], %[t2], %[e2], %[acc]\n\t"
        "sxtb16 %[t0], %[t0], ror #8\n\t"
        "smlabb %[acc], %[t0], %[o2], %[acc]\n\t"
        TB_PWDW_NEXT1
        : [p] "+r"(p), [yp] "+r"(yp), [acc] "=&r"(acc), [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2)
        : [w] "r"(w_in), [ps] "r"(pstep), [ys] "r"(ystep), [e0] "r"(k->e0), [e1] "r"(k->e1), [e2] "r"(k->e2),
          [o01] "r"(k->o01), [o2] "r"(k->o2), [init] "m"(init), [mult] "m"(mult), [add] "m"(add), [t] "m"(t),
          [yend] "m"(yend)
        : "cc", "memory");
}

/* The requantization and stores of the two windows of a pair step (tb_pwdw_pairs3), and the
 * step to the next pair (the pointer p by `adv` bytes). */
#define TB_PWDW_PAIR_END(adv)                                                                 \
        "ldr %[t0], %[mult]\n\t"                                                              \
        "ldr %[t1], %[add]\n\t"                                                               \
        "ldr %[t2], %[t]\n\t"                                                                 \
        "smmla %[a], %[a], %[t0], %[t1]\n\t"                                                  \
        "smmla %[b], %[b], %[t0], %[t1]\n\t"                                                  \
        "asr %[a], %[a], %[t2]\n\t"                                                           \
        "asr %[b], %[b], %[t2]\n\t"                                                           \
        "ssat %[a], #8, %[a]\n\t"                                                             \
        "ssat %[b], #8, %[b]\n\t"                                                             \
        "strb %[a], [%[yp]]\n\t"                                                              \
        "strb %[b], [%[yp], %[ys]]\n\t"                                                       \
        "ldr %[t0], %[yend]\n\t"                                                              \
        "add %[yp], %[yp], %[ys], lsl #1\n\t"                                                 \
        "add %[p], %[p], #" adv "\n\t"                                                        \
        "cmp %[yp], %[t0]\n\t"                                                                \
        "bne 1b\n\t"
#define TB_PWDW_PAIR_OPERANDS                                                                 \
        : [p] "+r"(*pp), [yp] "+r"(*yy), [a] "=&r"(a), [b] "=&r"(b), [t0] "=&r"(t0), [t1] "=&r"(t1), \
          [t2] "=&r"(t2)                                                                      \
        : [w] "r"(w_in), [ys] "r"(ystep), [e0] "r"(k->e0), [e1] "r"(k->e1), [e2] "r"(k->e2),     \
          [o01] "r"(k->o01), [o2] "r"(k->o2), [init] "m"(init), [mult] "m"(mult), [add] "m"(add), \
          [t] "m"(t), [yend] "m"(yend)                                                        \
        : "cc", "memory"

/* Pairs of adjacent windows of one output row (stride 1 or 2) from *pp into *yy up to yend (at
 * least one pair), both pointers left after the last pair. Stride 1: the two windows share
 * each row's word b0..b3 (the first takes b0 k0 + b1 k1 + b2 k2, the second b1 k0 + b2 k1 +
 * b3 k2: SMLAD of the odd bytes against (k0, k2), SMLATB/SMLATT of byte 2 against k1), 3 loads
 * per pair; stride 2: each window its own word, as tb_pwdw_loop3. Either way the filter and
 * the requantization's loads serve two windows. */
static inline __attribute__((always_inline)) void tb_pwdw_pairs3(const int8_t **pp, int8_t **yy, const int8_t *yend,
                                                                 int32_t w_in, int32_t stride, int32_t ystep,
                                                                 const tb_pwdw_k3_t *k)
{
    const int32_t init = k->init, mult = k->mult, add = k->add, t = k->t;
    int32_t a, b;
    uint32_t t0, t1, t2;
    if (stride == 1) {
        __asm volatile(
            "1:\n\t"
            "ldr %[t0], [%[p]]\n\t"
            "ldr %[t1], [%[p], %[w]]\n\t"
            "ldr %[a], %[init]\n\t"
            "sxtb16 %[t2], %[t0]\n\t"
            "mov %[b], %[a]\n\t"
            "smlad %[a], %[t2], %[e0], %[a]\n\t"
            "sxtb16 %[t0], %[t0], ror #8\n\t"
            "smlatb %[b], %[t2], %[o01], %[b]\n\t"
            "smlabb %[a], %[t0], %[o01], %[a]\n\t"
            "smlad %[b], %[t0], %[e0], %[b]\n\t"
            "sxtb16 %[t2], %[t1]\n\t"
            "sxtb16 %[t1], %[t1], ror #8\n\t"
            "smlad %[a], %[t2], %[e1], %[a]\n\t"
            "smlatt %[b], %[t2], %[o01], %[b]\n\t"
            "smlabt %[a], %[t1], %[o01], %[a]\n\t"
            "smlad %[b], %[t1], %[e1], %[b]\n\t"
            "ldr %[t0], [%[p], %[w], lsl #1]\n\t"
            "sxtb16 %[t2], %[t0]\n\t"
            "sxtb16 %[t0], %[t0], ror #8\n\t"
            "smlad %[a], %[t2], %[e2], %[a]\n\t"
            "smlatb %[b], %[t2], %[o2], %[b]\n\t"
            "smlabb %[a], %[t0], %[o2], %[a]\n\t"
            "smlad %[b], %[t0], %[e2], %[b]\n\t"
            TB_PWDW_PAIR_END("2")
            TB_PWDW_PAIR_OPERANDS);
    } else {
#define TB_PWDW_LOAD2(row)                                                                    \
            "ldr %[t0], [" row "]\n\t"                                                        \
            "ldr %[t1], [" row ", #2]\n\t"
#define TB_PWDW_MAC2(e, o, half)                                                              \
            "sxtb16 %[t2], %[t0]\n\t"                                                         \
            "smlad %[a], %[t2], %[" e "], %[a]\n\t"                                           \
            "sxtb16 %[t0], %[t0], ror #8\n\t"                                                 \
            "smlab" half " %[a], %[t0], %[" o "], %[a]\n\t"                                   \
            "sxtb16 %[t2], %[t1]\n\t"                                                         \
            "smlad %[b], %[t2], %[" e "], %[b]\n\t"                                           \
            "sxtb16 %[t1], %[t1], ror #8\n\t"                                                 \
            "smlab" half " %[b], %[t1], %[" o "], %[b]\n\t"
        __asm volatile(
            "1:\n\t"
            "ldr %[a], %[init]\n\t"
            TB_PWDW_LOAD2("%[p]")
            "mov %[b], %[a]\n\t"
            TB_PWDW_MAC2("e0", "o01", "b")
            "add %[t2], %[p], %[w]\n\t"
            TB_PWDW_LOAD2("%[t2]")
            TB_PWDW_MAC2("e1", "o01", "t")
            "add %[t2], %[p], %[w], lsl #1\n\t"
            TB_PWDW_LOAD2("%[t2]")
            TB_PWDW_MAC2("e2", "o2", "b")
            TB_PWDW_PAIR_END("4")
            TB_PWDW_PAIR_OPERANDS);
#undef TB_PWDW_LOAD2
#undef TB_PWDW_MAC2
    }
}
#undef TB_PWDW_PAIR_END
#undef TB_PWDW_PAIR_OPERANDS
#endif

/* tb_pwdw_run of a 3 x 3 kernel without a mask (assembly on DSP cores: tb_pwdw_loop3). */
static void tb_pwdw_run3(const tb_pwdw_walk_t *wk, const tb_pwdw_filter_t *f, int32_t base, int32_t mid_zero,
                         const tb_pwdw_rq_t *r, int8_t *y)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    const tb_pwdw_k3_t k = tb_pwdw_k3(f, base, mid_zero, r);
    const int8_t *p = wk->p;
    int8_t *yp = y + wk->i;
    int32_t row;
    for (row = wk->rows; row > 0; row--, p += wk->prow, yp += wk->yrow) {
        tb_pwdw_loop3(p, yp, yp + wk->n * wk->ystep, wk->w_in, wk->pstep, wk->ystep, &k);
    }
#else
    tb_pwdw_run(wk, f, base, 3, mid_zero, r, y, NULL);
#endif
}

/* tb_pwdw_run of a 5 x 5 kernel without a mask whose words hold no tap past lane 4 (lead <= 0).
 * On DSP cores the loop is assembly (gcc spills the filter): per row the word of lanes 0-3
 * (SXTB16, two SMLAD against the rows' (k0, k2), (k1, k3) words read from the filter) and byte 4
 * by LDRSB against the row's k4 (halfwords, two rows a word), SMMLA, ASR, SSAT, STRB. */
static void tb_pwdw_run5(const tb_pwdw_walk_t *wk, const tb_pwdw_filter_t *f, int32_t base, int32_t mid_zero,
                         const tb_pwdw_rq_t *r, int8_t *y)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    uint32_t k[13]; /* per row (k0, k2), (k1, k3); then k4 of rows (0, 1), (2, 3), (4, -) */
    const int32_t w_in = wk->w_in, pstep = wk->pstep, ystep = wk->ystep;
    const int8_t *p0 = wk->p;
    int8_t *y0 = y + wk->i;
    int32_t ky, row, sum = 0;
    int32_t init, mult = r->mult, add = r->add, t = r->t;
    for (ky = 0; ky < 5; ky++) {
        k[2 * ky] = f->e[base + ky][0];
        k[2 * ky + 1] = f->o[base + ky][0];
        sum += f->rsum[base + ky];
    }
    k[10] = (f->e[base][1] & 0xFFFFu) | (f->e[base + 1][1] << 16);
    k[11] = (f->e[base + 2][1] & 0xFFFFu) | (f->e[base + 3][1] << 16);
    k[12] = f->e[base + 4][1];
    init = r->init - mid_zero * sum;
    for (row = wk->rows; row > 0; row--, p0 += wk->prow, y0 += wk->yrow) {
        const int8_t *p = p0, *rp;
        int8_t *yp = y0;
        const int8_t *yend = yp + wk->n * ystep;
        int32_t acc;
        uint32_t t0, t1, t2, f0, f1, g;
#define TB_PWDW_ROW5(row, off, half)                                                          \
        "ldr %[t0], [" row "]\n\t"                                                            \
        "ldrsb %[t1], [" row ", #4]\n\t"                                                      \
        "ldr %[f0], [%[k], #" off "]\n\t"                                                     \
        "ldr %[f1], [%[k], #" off " + 4]\n\t"                                                 \
        "sxtb16 %[t2], %[t0]\n\t"                                                             \
        "smlad %[acc], %[t2], %[f0], %[acc]\n\t"                                              \
        "sxtb16 %[t0], %[t0], ror #8\n\t"                                                     \
        "smlad %[acc], %[t0], %[f1], %[acc]\n\t"                                              \
        "smlab" half " %[acc], %[t1], %[g], %[acc]\n\t"
    __asm volatile(
        "1:\n\t"
        "ldr %[acc], %[init]\n\t"
        "ldr %[g], [%[k], #40]\n\t"
        TB_PWDW_ROW5("%[p]", "0", "b")
        "add %[rp], %[p], %[w]\n\t"
        TB_PWDW_ROW5("%[rp]", "8", "t")
        "add %[rp], %[rp], %[w]\n\t"
        "ldr %[g], [%[k], #44]\n\t"
        TB_PWDW_ROW5("%[rp]", "16", "b")
        "add %[rp], %[rp], %[w]\n\t"
        TB_PWDW_ROW5("%[rp]", "24", "t")
        "add %[rp], %[rp], %[w]\n\t"
        "ldr %[g], [%[k], #48]\n\t"
        TB_PWDW_ROW5("%[rp]", "32", "b")
        TB_PWDW_NEXT1
        : [p] "+r"(p), [yp] "+r"(yp), [rp] "=&r"(rp), [acc] "=&r"(acc), [t0] "=&r"(t0), [t1] "=&r"(t1),
          [t2] "=&r"(t2), [f0] "=&r"(f0), [f1] "=&r"(f1), [g] "=&r"(g)
        : [w] "r"(w_in), [ps] "r"(pstep), [ys] "r"(ystep), [k] "r"(k), [init] "m"(init), [mult] "m"(mult),
          [add] "m"(add), [t] "m"(t), [yend] "m"(yend)
        : "cc", "memory");
#undef TB_PWDW_ROW5
#undef TB_PWDW_NEXT1
    }
#else
    tb_pwdw_run(wk, f, base, 5, mid_zero, r, y, NULL);
#endif
}

/* tb_pwdw_run for the kernels 3, 5, 7 (a mask or none: the test out of the loop); the column's
 * lead (ix0 - rs) <= 0 leaves lane 3 of a 3 x 3 filter's words zero (tb_pwdw_run3) and the
 * lanes past 4 of a 5 x 5 one (tb_pwdw_run5). */
static __attribute__((noinline)) void tb_pwdw_runs(const tb_pwdw_walk_t *wk, const tb_pwdw_filter_t *f, int32_t base,
                                                   int32_t k, int32_t lead, int32_t mid_zero, const tb_pwdw_rq_t *r,
                                                   int8_t *y, uint8_t *mask)
{
    if (mask == NULL) {
        if (k == 3 && lead <= 0) {
            tb_pwdw_run3(wk, f, base, mid_zero, r, y);
        } else if (k == 3) {
            tb_pwdw_run(wk, f, base, 3, mid_zero, r, y, NULL);
        } else if (k == 5 && lead <= 0) {
            tb_pwdw_run5(wk, f, base, mid_zero, r, y);
        } else if (k == 5) {
            tb_pwdw_run(wk, f, base, 5, mid_zero, r, y, NULL);
        } else {
            tb_pwdw_run(wk, f, base, 7, mid_zero, r, y, NULL);
        }
    } else if (k == 3) {
        tb_pwdw_run(wk, f, base, 3, mid_zero, r, y, mask);
    } else if (k == 5) {
        tb_pwdw_run(wk, f, base, 5, mid_zero, r, y, mask);
    } else {
        tb_pwdw_run(wk, f, base, 7, mid_zero, r, y, mask);
    }
}

/* Output rows [oy0, oy1) of column ox (read start rs, filter f) one window each: word reads
 * (`words` a constant) where they stay inside the plane, else tap by tap. */
static inline __attribute__((always_inline)) void tb_pwdw_singles(const tb_pwdw_geo_t *g, const int8_t *plane,
                                                                  const int8_t *wd, const tb_pwdw_filter_t *f,
                                                                  int32_t rs, int32_t oy0, int32_t oy1, int32_t ox,
                                                                  int32_t words, const tb_pwdw_rq_t *r, int8_t *y,
                                                                  uint8_t *mask, int32_t i, int32_t ystep)
{
    const uint32_t mz = tb_dsp_pair(-g->mid_zero);
    const int32_t positions = g->h_in * g->w_in;
    int32_t oy;
    for (oy = oy0; oy < oy1; oy++, i += ystep) {
        const int32_t iy0 = oy * g->stride - g->pad;
        int32_t ky0, ky1, acc;
        tb_fast_tap_range(oy, g->stride, g->kernel, g->h_in, &ky0, &ky1);
        if (ky1 > ky0 && (iy0 + ky1 - 1) * g->w_in + rs + 4 * words <= positions) {
            acc = tb_pwdw_rows(plane + iy0 * g->w_in + rs, g->w_in, f, ky0, ky1, words, mz, r->init);
        } else {
            acc = tb_pwdw_taps(plane, g->h_in, g->w_in, wd, g->kernel, g->stride, oy, ox, g->mid_zero, r->init);
        }
        tb_fast_store_s8(y, mask, i, tb_pwdw_out(r, acc));
    }
}

static __attribute__((noinline)) void tb_pwdw_singles_w(const tb_pwdw_geo_t *g, const int8_t *plane,
                                                        const int8_t *wd, const tb_pwdw_filter_t *f, int32_t rs,
                                                        int32_t oy0, int32_t oy1, int32_t ox, const tb_pwdw_rq_t *r,
                                                        int8_t *y, uint8_t *mask, int32_t i, int32_t ystep)
{
    if (g->words == 1) {
        tb_pwdw_singles(g, plane, wd, f, rs, oy0, oy1, ox, 1, r, y, mask, i, ystep);
    } else {
        tb_pwdw_singles(g, plane, wd, f, rs, oy0, oy1, ox, 2, r, y, mask, i, ystep);
    }
}

/* Output row oy's windows read k rows from row rr = iy0 clamped into [0, h_in - k] against the
 * filter rows from *base on (TB_PWDW_RPAD for a window inside). */
static inline int32_t tb_pwdw_row_start(const tb_pwdw_geo_t *g, int32_t oy, int32_t *base)
{
    const int32_t iy0 = oy * g->stride - g->pad;
    int32_t rr = iy0 < g->h_in - g->kernel ? iy0 : g->h_in - g->kernel;
    rr = rr > 0 ? rr : 0;
    *base = TB_PWDW_RPAD - (iy0 - rr);
    return rr;
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* tb_pwdw_grid of a 3 x 3 kernel without a mask: per row pairs of windows (tb_pwdw_pairs3) and
 * an odd last one (tb_pwdw_loop3), the filter in registers set up once; outputs from yp on. */
static __attribute__((noinline)) void tb_pwdw_grid3(const tb_pwdw_geo_t *g, const int8_t *p, int32_t pitch,
                                                    int32_t rows, int32_t n, const tb_pwdw_filter_t *f,
                                                    const tb_pwdw_rq_t *r, int8_t *yp)
{
    const int32_t ystep = g->c_mid, yrow = g->w_out * g->c_mid, prow = g->stride * pitch, pairs = n >> 1;
    const tb_pwdw_k3_t k = tb_pwdw_k3(f, TB_PWDW_RPAD, g->mid_zero, r);
    for (; rows > 0; rows--, p += prow, yp += yrow) {
        const int8_t *q = p;
        int8_t *yq = yp;
        if (pairs > 0) {
            tb_pwdw_pairs3(&q, &yq, yp + 2 * pairs * ystep, pitch, g->stride, ystep, &k);
        }
        if (n & 1) {
            tb_pwdw_loop3(q, yq, yq + ystep, pitch, g->stride, ystep, &k);
        }
    }
}
#endif

/* The windows of `rows` output rows x n columns whose taps are all inside the buffer at p (rows
 * `pitch` bytes apart): the first at p, the next of a row stride bytes on, the next row stride *
 * pitch bytes on; against the filter rows from TB_PWDW_RPAD on (lead 0); outputs y[i],
 * y[i + c_mid], ..., the rows w_out * c_mid apart:
 * tb_pwdw_grid3; else one run of all the rows. */
static inline __attribute__((always_inline)) void tb_pwdw_grid(const tb_pwdw_geo_t *g, const int8_t *p,
                                                               int32_t pitch, int32_t rows, int32_t n,
                                                               const tb_pwdw_filter_t *f, const tb_pwdw_rq_t *r,
                                                               int8_t *y, uint8_t *mask, int32_t i)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    if (g->kernel == 3 && mask == NULL) {
        tb_pwdw_grid3(g, p, pitch, rows, n, f, r, y + i);
        return;
    }
#endif
    {
        const tb_pwdw_walk_t wk = tb_pwdw_walk(p, n, g->stride, pitch, i, g->c_mid, rows, g->stride * pitch,
                                               g->w_out * g->c_mid);
        tb_pwdw_runs(&wk, f, TB_PWDW_RPAD, g->kernel, 0, g->mid_zero, r, y, mask);
    }
}

/* The plane into the interior of the bordered plane g->padded (rows g->pitch bytes apart, the
 * border holding mid_zero from the call's start on). */
static void tb_pwdw_copy_in(const tb_pwdw_geo_t *g, const int8_t *plane)
{
    int32_t iy, j;
    for (iy = 0; iy < g->h_in; iy++) {
        const int8_t *src = plane + iy * g->w_in;
        int8_t *dst = g->padded + (iy + g->pad) * g->pitch + g->pad;
        for (j = 0; j + 4 <= g->w_in; j += 4) {
            const uint32_t v = tb_dsp_read4(src + j);
            __builtin_memcpy(dst + j, &v, 4);
        }
        for (; j < g->w_in; j++) {
            dst[j] = src[j];
        }
    }
}

/* The depthwise part of channel ch over the plane. Channels of fast requantization, kernels
 * 3, 5, 7, planes of at least kernel rows and span columns: the inner columns (every tap
 * inside along x) output row by output row, each row one run along it (its windows read the
 * kernel's rows from tb_pwdw_row_start); each edge column with its filter, its full-height
 * windows in one run down the column, the others one by one. Other channels: column by column,
 * one window at a time (rows cut at the plane's edges, taps one by one where the words would
 * leave the plane). */
static __attribute__((noinline)) void tb_pwdw_depthwise(const tb_pwdw_geo_t *g, const int8_t *plane, const int8_t *wd,
                                                        const tb_pwdw_rq_t *r, int8_t *y, uint8_t *mask, int32_t ch,
                                                        tb_pwdw_rows_t *rows, tb_pwdw_filter_t *f)
{
    const int32_t span = 4 * g->words, ystep = g->w_out * g->c_mid;
    const int32_t right = g->w_in - span + g->pad; /* ox * stride <= right: the words inside the row */
    const int32_t narrow = g->w_in < span;
    const int32_t runs = r->fast & ((g->kernel == 3) | (g->kernel == 5) | (g->kernel == 7)) & (g->h_in >= g->kernel) &
                         !narrow;
    int32_t ox_lo = (g->pad + g->stride - 1) / g->stride;
    int32_t ox_hi = right >= 0 ? right / g->stride + 1 : 0;
    tb_pwdw_walk_t wk;
    int32_t key = -1, ox, oy, base;
    if (g->kernel > TB_PWDW_MAX_K) {
        for (oy = 0; oy < g->h_out; oy++) {
            for (ox = 0; ox < g->w_out; ox++) {
                tb_fast_store_s8(y, mask, (oy * g->w_out + ox) * g->c_mid + ch,
                                 tb_pwdw_out(r, tb_pwdw_taps(plane, g->h_in, g->w_in, wd, g->kernel, g->stride, oy, ox,
                                                             g->mid_zero, r->init)));
            }
        }
        return;
    }
    tb_pwdw_pad_rows(wd, g->kernel, rows);
    if (g->padded != NULL && r->fast) { /* every window inside the bordered plane */
        tb_pwdw_copy_in(g, plane);
        tb_pwdw_filter(rows, g->kernel, g->words, 0, 0, g->kernel, 0, f);
        tb_pwdw_grid(g, g->padded, g->pitch, g->h_out, g->w_out, f, r, y, mask, ch);
        return;
    }
    ox_hi = ox_hi < g->w_out ? ox_hi : g->w_out;
    if (!runs || ox_lo >= ox_hi) {
        ox_lo = ox_hi = 0;
    }
    if (ox_lo < ox_hi) {
        key = g->kernel;
        tb_pwdw_filter(rows, g->kernel, g->words, 0, 0, g->kernel, 0, f);
        for (oy = 0; oy < g->h_out; oy++) {
            int32_t rr;
            if (oy == g->oy_lo && g->oy_lo < g->oy_hi) { /* the full rows */
                tb_pwdw_grid(g, plane + (oy * g->stride - g->pad) * g->w_in + ox_lo * g->stride - g->pad, g->w_in,
                             g->oy_hi - g->oy_lo, ox_hi - ox_lo, f, r, y, mask, (oy * g->w_out + ox_lo) * g->c_mid + ch);
                oy = g->oy_hi - 1;
                continue;
            }
            rr = tb_pwdw_row_start(g, oy, &base);
            wk = tb_pwdw_walk(plane + rr * g->w_in + ox_lo * g->stride - g->pad, ox_hi - ox_lo, g->stride, g->w_in,
                              (oy * g->w_out + ox_lo) * g->c_mid + ch, g->c_mid, 1, 0, 0);
            tb_pwdw_runs(&wk, f, base, g->kernel, 0, g->mid_zero, r, y, mask);
        }
    }
    for (ox = 0; ox < g->w_out; ox++) {
        const int32_t ix0 = ox * g->stride - g->pad;
        const int32_t i = ox * g->c_mid + ch;
        int32_t kx0, kx1, rs;
        if (ox == ox_lo && ox_lo < ox_hi) {
            ox = ox_hi - 1; /* the inner columns are done */
            continue;
        }
        tb_fast_tap_range(ox, g->stride, g->kernel, g->w_in, &kx0, &kx1);
        rs = ix0 < g->w_in - span ? ix0 : g->w_in - span;
        rs = rs > 0 ? rs : 0;
        if ((ix0 - rs) * 64 + kx0 * 8 + kx1 != key) {
            key = (ix0 - rs) * 64 + kx0 * 8 + kx1;
            tb_pwdw_filter(rows, g->kernel, g->words, ix0 - rs, kx0, kx1, narrow, f);
        }
        if (!runs) {
            tb_pwdw_singles_w(g, plane, wd, f, rs, 0, g->h_out, ox, r, y, mask, i, ystep);
            continue;
        }
        tb_pwdw_singles_w(g, plane, wd, f, rs, 0, g->oy_lo, ox, r, y, mask, i, ystep);
        if (g->oy_lo < g->oy_hi) {
            wk = tb_pwdw_walk(plane + (g->oy_lo * g->stride - g->pad) * g->w_in + rs, g->oy_hi - g->oy_lo,
                              g->stride * g->w_in, g->w_in, i + g->oy_lo * ystep, ystep, 1, 0, 0);
            tb_pwdw_runs(&wk, f, TB_PWDW_RPAD, g->kernel, ix0 - rs, g->mid_zero, r, y, mask);
        }
        oy = g->oy_hi > g->oy_lo ? g->oy_hi : g->oy_lo;
        tb_pwdw_singles_w(g, plane, wd, f, rs, oy, g->h_out, ox, r, y, mask, i + oy * ystep, ystep);
    }
}

int32_t tb_pwdw_fwd_s8(const int8_t *x, int32_t h_in, int32_t w_in, int32_t c_in, int32_t x_zero,
                       const int8_t *pw_w, const int32_t *pw_bias, const int32_t *pw_mult,
                       const int32_t *pw_shift, int32_t mid_zero, int32_t c_mid, int8_t *plane,
                       const int8_t *dw_w, const int32_t *dw_bias, int32_t kernel, int32_t stride,
                       const int32_t *dw_mult, const int32_t *dw_shift, int32_t y_zero, int8_t *y,
                       uint8_t *mask)
{
    tb_pwdw_geo_t g;
    tb_pwdw_rows_t rows;
    tb_pwdw_filter_t f;
    uint32_t padded[TB_PWDW_PADDED / 4];
    const int32_t kk = kernel * kernel;
    int32_t ch;
    g.h_in = h_in;
    g.w_in = w_in;
    g.h_out = (h_in + stride - 1) / stride;
    g.w_out = (w_in + stride - 1) / stride;
    g.kernel = kernel;
    g.stride = stride;
    g.pad = kernel / 2;
    g.words = (kernel + 3) / 4;
    g.c_mid = c_mid;
    g.mid_zero = mid_zero;
    g.oy_lo = (g.pad + stride - 1) / stride;                 /* oy * stride >= pad */
    g.oy_hi = h_in - kernel + g.pad >= 0 ? (h_in - kernel + g.pad) / stride + 1 : 0; /* oy * stride - pad + k <= h_in */
    g.pitch = w_in + 2 * g.pad;
    g.padded = NULL;
    if ((kernel == 3) | (kernel == 5) | (kernel == 7)) {
        const int32_t bytes = (h_in + 2 * g.pad) * g.pitch + TB_PWDW_SLACK;
        if (bytes <= TB_PWDW_PADDED) {
            tb_pwdw_fill(padded, (bytes + 3) / 4, 0x01010101u * (uint8_t)mid_zero);
            g.padded = (int8_t *)(void *)padded;
        }
    }
    tb_fast_mask_clear(mask, g.h_out * g.w_out * c_mid);
    /* once per call: the channels write only the taps and the filter rows of the kernel */
    tb_pwdw_fill((uint32_t *)(void *)rows.b, (int32_t)(sizeof rows.b / 4), 0);
    tb_pwdw_fill((uint32_t *)(void *)&f, (int32_t)(sizeof f / 4), 0);
    for (ch = 0; ch < c_mid; ch++) {
        const tb_pwdw_rq_t rp = tb_pwdw_rq(pw_bias[ch], pw_mult[ch], pw_shift[ch], mid_zero, c_in);
        const tb_pwdw_rq_t rd = tb_pwdw_rq(dw_bias[ch], dw_mult[ch], dw_shift[ch], y_zero, kk);
        tb_pwdw_plane(x, h_in * w_in, c_in, x_zero, pw_w + ch * c_in, &rp, plane);
        tb_pwdw_depthwise(&g, plane, dw_w + ch * kk, &rd, y, mask, ch, &rows, &f);
    }
    return g.h_out * g.w_out * c_mid;
}
