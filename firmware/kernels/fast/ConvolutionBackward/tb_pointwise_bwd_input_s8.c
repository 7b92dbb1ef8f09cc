/* tb_pointwise_bwd_input_s8, fast: the same bytes and exponent as
 * src/ConvolutionBackward/tb_pointwise_bwd_input_s8.c, in one pass over the accumulators
 * instead of two.
 *
 * Every accumulator is exact (int64) and the runtime shift rule is kept: n is the smallest
 * shift that brings every accumulator into [-127, 127]. The reference finds n in a first pass
 * and writes in a second. Here the outputs are written as the accumulators come, at the
 * smallest shift that fits those seen so far; when an accumulator needs a larger shift, the
 * outputs already written are shifted on (tb_pwbi_reshift). Shifting an output
 * b = round_shift(a, m) on by s gives round_shift(a, m + s) exactly, except when
 * b + 2^(s-1) is a multiple of 2^s: then the result also depends on the sign of the bits of a
 * that b dropped, and that accumulator is computed again (with the others of its block of 4
 * input channels, once for the block's ties, by the loop without room). To make late increases (and so
 * recomputations) rare, n starts at the shift of the position whose masked gradients times
 * factors have the largest sum of magnitudes, computed first and not written.
 *
 * Positions are written in pairs from the last to the first. While a pair is computed, the
 * bytes of the positions below it are not yet written; when they are enough, they hold the
 * pair's masked gradients times factors (int32, interleaved), and the main loop (assembly on
 * DSP cores) reads two words per output channel, sign-extends each of two weights once and
 * makes four SMLAL, 8 output channels per loop step (one position alone, if the room holds only its products: one word and four
 * SMLAL per output channel, 4 input channels per block). Without room a position is computed
 * alone, 4 input channels per block, over the output channels whose mask bit is set (32 bits
 * at a time, the lowest set bit found with RBIT + CLZ) and gradient is not 0, its products
 * formed in the loop: the layers without room are those with many output channels, whose
 * masks (a clamped expansion) pass few gradients. Those windows of bits, with the bits of zero
 * gradients cleared, are made once per position into the room when it holds them (4 bytes per
 * 32 channels: every position but the lowest ones), else read from the mask per block. In a
 * call with dense products (7/8 or more not 0) a window whose bits are all set is taken
 * channel by channel without the search. A block's outputs that fit the shift are written
 * with the shift inlined.
 *
 * No 16-bit SIMD (SMLAD): a product gradient x factor needs 23 bits (|g| <= 127, factor <= 2^15),
 * and splitting it into two 16-bit halves takes twice the multiplies SMLAD saves; the sums
 * reach 2^29 * c_out, past 32 bits from c_out = 5 on, so they stay in int64 (SMLAL), except
 * for a pair whose sums of |products| are below 2^24 (found while filling the room): their
 * sums fit int32, and 8 int32 accumulators (MLA) take 4 input channels per block. */
#include "tb_kernels.h"
#include "Internal/tb_nn_fast.h"

/* Asm text: the 4 int8 weights of word wv, each widened by SXTB into t, times product g into
 * the int64 accumulators lo0:hi0 .. lo3:hi3 (SMLAL): the end of a step of each int64 loop below
 * (set bits, dense products, one position's products, a position's list). */
#define TB_PWBI_SMLAL4(g, wv, t)                                                             \
    "sxtb %[" t "], %[" wv "]\n\t"                                                           \
    "smlal %[lo0], %[hi0], %[" g "], %[" t "]\n\t"                                           \
    "sxtb %[" t "], %[" wv "], ror #8\n\t"                                                   \
    "smlal %[lo1], %[hi1], %[" g "], %[" t "]\n\t"                                           \
    "sxtb %[" t "], %[" wv "], ror #16\n\t"                                                  \
    "smlal %[lo2], %[hi2], %[" g "], %[" t "]\n\t"                                           \
    "asr %[" t "], %[" wv "], #24\n\t"                                                       \
    "smlal %[lo3], %[hi3], %[" g "], %[" t "]\n\t"

typedef struct {
    const int8_t *grad;
    const uint8_t *mask;
    const int8_t *w_train, *w_frozen;
    const int32_t *w_factor;
    int32_t k_train, c_in, c_out, positions;
    int8_t *grad_in;
    int32_t dense;         /* 7/8 of the products or more are not 0 */
    int32_t narrow;        /* the pair in the room has int32 sums (tb_pwbi_fill) */
    int32_t nonzero;       /* set bits of the windows of tb_pwbi_nonzero */
    tb_fast_shift_t shift; /* over the accumulators seen so far */
} tb_pwbi_t;

/* The masked gradient of output element i (channel c) times the factor of c. */
static inline int32_t tb_pwbi_gf(const tb_pwbi_t *k, int32_t i, int32_t c)
{
    return tb_nn_mask_get(k->mask, i) ? k->grad[i] * k->w_factor[c] : 0;
}

/* acc[j] += g * (int8) byte j of wv, j < nb <= 4 */
static inline void tb_pwbi_mac4(int64_t *acc, int32_t g, uint32_t wv, int32_t nb)
{
    acc[0] += (int64_t)g * (int8_t)wv;
    if (nb > 1) {
        acc[1] += (int64_t)g * (int8_t)(wv >> 8);
    }
    if (nb > 2) {
        acc[2] += (int64_t)g * (int8_t)(wv >> 16);
    }
    if (nb > 3) {
        acc[3] += (int64_t)g * (int8_t)(wv >> 24);
    }
}

/* The nb <= 4 weights of channel c from w (the block's first input channel, row stride). */
static inline uint32_t tb_pwbi_weights(const int8_t *w, int32_t c, int32_t stride, int32_t nb)
{
    const int8_t *p = w + c * stride;
    if (nb == 4) {
        return tb_dsp_read4(p);
    }
    return (uint8_t)p[0] | (nb > 1 ? (uint32_t)(uint8_t)p[1] << 8 : 0u) |
           (nb > 2 ? (uint32_t)(uint8_t)p[2] << 16 : 0u);
}

/* The mask bits of output elements i .. i + n - 1 (n <= 32), LSB first (all set without a mask). */
static inline uint32_t tb_pwbi_bits(const uint8_t *mask, int32_t i, int32_t n)
{
    const uint32_t all = n == 32 ? 0xFFFFFFFFu : (1u << n) - 1u;
    const int32_t first = i >> 3, last = (i + n - 1) >> 3;
    uint64_t v = 0;
    int32_t b;
    if (mask == NULL) {
        return all;
    }
    for (b = last; b >= first; b--) {
        v = (v << 8) | mask[b];
    }
    return (uint32_t)(v >> (i & 7)) & all;
}

/* The output channels c0 + j of one position for the set bits j of `bits`, their gradients not
 * 0: acc[q] += gf(c) * w[c * stride + q], q < 4 (w: the weights of the block's first input
 * channel, at c0). On DSP cores one step per set bit: the lowest set bit (RBIT, CLZ), the
 * gradient, the factor, the product, the 4 weights in one word, 4 SXTB + SMLAL. */
static __attribute__((noinline)) void tb_pwbi_sparse_bits(const int8_t *g, const int32_t *f, const int8_t *w,
                                                        int32_t stride, uint32_t bits, int64_t *acc)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    uint32_t lo0 = (uint32_t)acc[0], hi0 = (uint32_t)((uint64_t)acc[0] >> 32);
    uint32_t lo1 = (uint32_t)acc[1], hi1 = (uint32_t)((uint64_t)acc[1] >> 32);
    uint32_t lo2 = (uint32_t)acc[2], hi2 = (uint32_t)((uint64_t)acc[2] >> 32);
    uint32_t lo3 = (uint32_t)acc[3], hi3 = (uint32_t)((uint64_t)acc[3] >> 32);
    int32_t t1, t2, t3;
    __asm volatile(
        "1:\n\t"
        "rbit %[t1], %[bits]\n\t"
        "clz %[t1], %[t1]\n\t"
        "sub %[t3], %[bits], #1\n\t"
        "and %[bits], %[bits], %[t3]\n\t"
        "ldrsb %[t2], [%[gp], %[t1]]\n\t"
        "ldr %[t3], %[fp]\n\t"
        "cmp %[t2], #0\n\t"
        "beq 2f\n\t"
        "ldr %[t3], [%[t3], %[t1], lsl #2]\n\t"
        "mul %[t2], %[t2], %[t3]\n\t"
        "ldr %[t3], %[s]\n\t"
        "mla %[t1], %[t1], %[t3], %[wp]\n\t"
        "ldr %[t1], [%[t1]]\n\t"
        TB_PWBI_SMLAL4("t2", "t1", "t3")
        "2:\n\t"
        "cmp %[bits], #0\n\t"
        "bne 1b\n\t"
        : [lo0] "+r"(lo0), [hi0] "+r"(hi0), [lo1] "+r"(lo1), [hi1] "+r"(hi1), [lo2] "+r"(lo2),
          [hi2] "+r"(hi2), [lo3] "+r"(lo3), [hi3] "+r"(hi3), [bits] "+r"(bits), [t1] "=&r"(t1),
          [t2] "=&r"(t2), [t3] "=&r"(t3)
        : [gp] "r"(g), [wp] "r"(w), [fp] "m"(f), [s] "m"(stride)
        : "cc", "memory");
    acc[0] = (int64_t)(((uint64_t)hi0 << 32) | lo0);
    acc[1] = (int64_t)(((uint64_t)hi1 << 32) | lo1);
    acc[2] = (int64_t)(((uint64_t)hi2 << 32) | lo2);
    acc[3] = (int64_t)(((uint64_t)hi3 << 32) | lo3);
#else
    while (bits != 0) {
        const int32_t j = (int32_t)__builtin_ctz(bits);
        bits &= bits - 1u;
        if (g[j] != 0) {
            tb_pwbi_mac4(acc, g[j] * f[j], tb_pwbi_weights(w, j, stride, 4), 4);
        }
    }
#endif
}

/* The output channels c < n (n a multiple of 4, every mask bit set) of one position:
 * acc[q] += g[c] * f[c] * w[c * stride + q], q < 4. On DSP cores one step per channel: the
 * gradient, the factor, the product, the 4 weights in one word, 4 SXTB + SMLAL. */
static __attribute__((noinline)) void tb_pwbi_dense_run(const int8_t *g, const int32_t *f, const int8_t *w,
                                                      int32_t stride, int32_t n, int64_t *acc)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    const int8_t *end = g + n;
    uint32_t lo0 = (uint32_t)acc[0], hi0 = (uint32_t)((uint64_t)acc[0] >> 32);
    uint32_t lo1 = (uint32_t)acc[1], hi1 = (uint32_t)((uint64_t)acc[1] >> 32);
    uint32_t lo2 = (uint32_t)acc[2], hi2 = (uint32_t)((uint64_t)acc[2] >> 32);
    uint32_t lo3 = (uint32_t)acc[3], hi3 = (uint32_t)((uint64_t)acc[3] >> 32);
    int32_t gv, t;
    uint32_t wv;
#define TB_PWBI_DENSE1                                                                       \
        "ldrsb %[gv], [%[gp]], #1\n\t"                                                        \
        "ldr %[t], [%[fp]], #4\n\t"                                                           \
        "ldr %[wv], [%[wp]]\n\t"                                                              \
        "mul %[gv], %[gv], %[t]\n\t"                                                          \
        "ldr %[t], %[s]\n\t"                                                                  \
        "add %[wp], %[wp], %[t]\n\t"                                                          \
        TB_PWBI_SMLAL4("gv", "wv", "t")
    __asm volatile(
        "1:\n\t"
        TB_PWBI_DENSE1 TB_PWBI_DENSE1 TB_PWBI_DENSE1 TB_PWBI_DENSE1
        "ldr %[t], %[end]\n\t"
        "cmp %[gp], %[t]\n\t"
        "bne 1b\n\t"
        : [lo0] "+r"(lo0), [hi0] "+r"(hi0), [lo1] "+r"(lo1), [hi1] "+r"(hi1), [lo2] "+r"(lo2),
          [hi2] "+r"(hi2), [lo3] "+r"(lo3), [hi3] "+r"(hi3), [gp] "+r"(g), [fp] "+r"(f), [wp] "+r"(w),
          [gv] "=&r"(gv), [wv] "=&r"(wv), [t] "=&r"(t)
        : [s] "m"(stride), [end] "m"(end)
        : "cc", "memory");
#undef TB_PWBI_DENSE1
    acc[0] = (int64_t)(((uint64_t)hi0 << 32) | lo0);
    acc[1] = (int64_t)(((uint64_t)hi1 << 32) | lo1);
    acc[2] = (int64_t)(((uint64_t)hi2 << 32) | lo2);
    acc[3] = (int64_t)(((uint64_t)hi3 << 32) | lo3);
#else
    int32_t c;
    for (c = 0; c < n; c++) {
        tb_pwbi_mac4(acc, g[c] * f[c], tb_pwbi_weights(w, c, stride, 4), 4);
    }
#endif
}

/* One position from its list of n entries (product, byte offset of the output channel's weights;
 * tb_pwbi_list): acc[j] = sum of product * w[offset + j], j < nb <= 4. On DSP cores one step
 * per entry: the two words, the 4 weights in one word, 4 SXTB + SMLAL; no bit search, no
 * gradient test, no factor load or multiply, repeated per block of input channels. */
static __attribute__((noinline)) void tb_pwbi_listrun(const int32_t *e, int32_t n, const int8_t *w, int32_t nb,
                                                      int64_t *acc)
{
    const int32_t *end = e + 2 * n;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    if (nb == 4 && n > 0) {
        uint32_t lo0 = 0, hi0 = 0, lo1 = 0, hi1 = 0, lo2 = 0, hi2 = 0, lo3 = 0, hi3 = 0;
        int32_t g, t;
        uint32_t wv;
        __asm volatile(
            "1:\n\t"
            "ldr %[t], [%[ep], #4]\n\t"
            "ldr %[g], [%[ep]], #8\n\t"
            "ldr %[wv], [%[wp], %[t]]\n\t"
            TB_PWBI_SMLAL4("g", "wv", "t")
            "ldr %[t], %[end]\n\t"
            "cmp %[ep], %[t]\n\t"
            "bne 1b\n\t"
            : [lo0] "+r"(lo0), [hi0] "+r"(hi0), [lo1] "+r"(lo1), [hi1] "+r"(hi1), [lo2] "+r"(lo2),
              [hi2] "+r"(hi2), [lo3] "+r"(lo3), [hi3] "+r"(hi3), [ep] "+r"(e), [g] "=&r"(g),
              [wv] "=&r"(wv), [t] "=&r"(t)
            : [wp] "r"(w), [end] "m"(end)
            : "cc", "memory");
        acc[0] = (int64_t)(((uint64_t)hi0 << 32) | lo0);
        acc[1] = (int64_t)(((uint64_t)hi1 << 32) | lo1);
        acc[2] = (int64_t)(((uint64_t)hi2 << 32) | lo2);
        acc[3] = (int64_t)(((uint64_t)hi3 << 32) | lo3);
        return;
    }
#endif
    acc[0] = acc[1] = acc[2] = acc[3] = 0;
    for (; e != end; e += 2) {
        const int8_t *p = w + e[1];
        tb_pwbi_mac4(acc, e[0], tb_pwbi_weights(p, 0, 0, nb), nb);
    }
}

/* One position, its products formed here: acc[j] = sum over the output channels c whose mask
 * bit is set (32 bits at a time) and gradient is not 0 of gf(c) * w[c * stride + j], j < nb <= 4
 * (w: the weights of the block's first input channel). nz: the position's windows of mask bits
 * with the zero gradients cleared (tb_pwbi_nonzero), or NULL: the mask read per window. Not
 * inlined: one copy for the blocks and for the ties of tb_pwbi_reshift, costing the same. */
static __attribute__((noinline)) void tb_pwbi_sparse(const tb_pwbi_t *k, int32_t pos, const int8_t *w,
                                                     int32_t stride, int32_t nb, const uint32_t *nz,
                                                     int64_t *acc)
{
    const int8_t *g = k->grad + pos * k->c_out;
    int32_t c0;
    acc[0] = acc[1] = acc[2] = acc[3] = 0;
    for (c0 = 0; c0 < k->c_out; c0 += 32) {
        const int32_t n = k->c_out - c0 < 32 ? k->c_out - c0 : 32;
        uint32_t bits = nz != NULL ? nz[c0 >> 5] : tb_pwbi_bits(k->mask, pos * k->c_out + c0, n);
        if (bits == 0) {
            continue;
        }
        if (nb == 4) {
            const int32_t n4 = n & ~3;
            const uint32_t run = n4 == 32 ? 0xFFFFFFFFu : (1u << n4) - 1u;
            if (k->dense && n4 > 0 && (bits & run) == run) { /* all set: no bit search */
                tb_pwbi_dense_run(g + c0, k->w_factor + c0, w + c0 * stride, stride, n4, acc);
                bits &= ~run;
            }
            if (bits != 0) {
                tb_pwbi_sparse_bits(g + c0, k->w_factor + c0, w + c0 * stride, stride, bits, acc);
            }
            continue;
        }
        while (bits != 0) {
            const int32_t c = c0 + (int32_t)__builtin_ctz(bits);
            bits &= bits - 1u;
            if (g[c] != 0) {
                tb_pwbi_mac4(acc, g[c] * k->w_factor[c], tb_pwbi_weights(w, c, stride, nb), nb);
            }
        }
    }
}

/* One position, its products read from gf: acc[j] = sum over c of gf[c] * w[c * stride + j],
 * j < nb <= 4 (w: the weights of the block's first input channel). */
static void tb_pwbi_single(const tb_pwbi_t *k, const int32_t *gf, const int8_t *w, int32_t stride,
                           int32_t nb, int64_t *acc)
{
    int32_t c = 0;
    acc[0] = acc[1] = acc[2] = acc[3] = 0;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    if (nb == 4 && k->c_out >= 4) {
        const int32_t *end = gf + (k->c_out & ~3);
        uint32_t lo0 = 0, hi0 = 0, lo1 = 0, hi1 = 0, lo2 = 0, hi2 = 0, lo3 = 0, hi3 = 0;
        int32_t g, t;
        uint32_t wv;
        /* One output channel: its product, its 4 weights in one word, 4 SXTB + SMLAL. */
#define TB_PWBI_STEP1                                                                        \
        "ldr %[g], [%[gp]], #4\n\t"                                                           \
        "ldr %[wv], [%[wp]]\n\t"                                                              \
        "add %[wp], %[wp], %[s]\n\t"                                                          \
        TB_PWBI_SMLAL4("g", "wv", "t")
        __asm volatile(
            "1:\n\t"
            TB_PWBI_STEP1 TB_PWBI_STEP1 TB_PWBI_STEP1 TB_PWBI_STEP1
            "ldr %[t], %[end]\n\t"
            "cmp %[gp], %[t]\n\t"
            "bne 1b\n\t"
            : [lo0] "+r"(lo0), [hi0] "+r"(hi0), [lo1] "+r"(lo1), [hi1] "+r"(hi1), [lo2] "+r"(lo2),
              [hi2] "+r"(hi2), [lo3] "+r"(lo3), [hi3] "+r"(hi3), [gp] "+r"(gf), [wp] "+r"(w),
              [g] "=&r"(g), [wv] "=&r"(wv), [t] "=&r"(t)
            : [s] "r"(stride), [end] "m"(end)
            : "cc", "memory");
#undef TB_PWBI_STEP1
        acc[0] = (int64_t)(((uint64_t)hi0 << 32) | lo0);
        acc[1] = (int64_t)(((uint64_t)hi1 << 32) | lo1);
        acc[2] = (int64_t)(((uint64_t)hi2 << 32) | lo2);
        acc[3] = (int64_t)(((uint64_t)hi3 << 32) | lo3);
        c = k->c_out & ~3;
        gf -= c; /* the loop below indexes from the start */
        w -= c * stride;
    }
#endif
    for (; c < k->c_out; c++) {
        if (gf[c] != 0) {
            tb_pwbi_mac4(acc, gf[c], tb_pwbi_weights(w, c, stride, nb), nb);
        }
    }
}

/* Two positions (interleaved products gf[2c], gf[2c + 1]): acc[4q + j] = sum over c of
 * gf[2c + q] * w[c * stride + j], j < nb <= 2. */
static void tb_pwbi_pair(const tb_pwbi_t *k, const int32_t *gf, const int8_t *w, int32_t stride,
                         int32_t nb, int64_t *acc)
{
    int64_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    int32_t c = 0;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    if (nb == 2 && k->c_out >= 4) {
        const int32_t *end = gf + 2 * (k->c_out & ~3);
        const int32_t n4 = k->c_out >> 2;
        uint32_t lo00 = 0, hi00 = 0, lo01 = 0, hi01 = 0, lo10 = 0, hi10 = 0, lo11 = 0, hi11 = 0;
        int32_t g0, g1, t;
        /* One output channel: its two products, two weights sign-extended once, four SMLAL. */
#define TB_PWBI_STEP                                                                         \
        "ldr %[g0], [%[gp]], #4\n\t"                                                         \
        "ldr %[g1], [%[gp]], #4\n\t"                                                         \
        "ldrsb %[t], [%[wp]]\n\t"                                                            \
        "smlal %[lo00], %[hi00], %[g0], %[t]\n\t"                                            \
        "smlal %[lo10], %[hi10], %[g1], %[t]\n\t"                                            \
        "ldrsb %[t], [%[wp], #1]\n\t"                                                        \
        "add %[wp], %[wp], %[s]\n\t"                                                         \
        "smlal %[lo01], %[hi01], %[g0], %[t]\n\t"                                            \
        "smlal %[lo11], %[hi11], %[g1], %[t]\n\t"
        /* 4 output channels if c_out / 4 is odd, then 8 per loop step */
        __asm volatile(
            "ldr %[t], %[n4]\n\t"
            "tst %[t], #1\n\t"
            "beq 2f\n\t"
            TB_PWBI_STEP TB_PWBI_STEP TB_PWBI_STEP TB_PWBI_STEP
            "ldr %[t], %[end]\n\t"
            "cmp %[gp], %[t]\n\t"
            "beq 3f\n\t"
            "2:\n\t"
            TB_PWBI_STEP TB_PWBI_STEP TB_PWBI_STEP TB_PWBI_STEP
            TB_PWBI_STEP TB_PWBI_STEP TB_PWBI_STEP TB_PWBI_STEP
            "ldr %[t], %[end]\n\t"
            "cmp %[gp], %[t]\n\t"
            "bne 2b\n\t"
            "3:\n\t"
            : [lo00] "+r"(lo00), [hi00] "+r"(hi00), [lo01] "+r"(lo01), [hi01] "+r"(hi01),
              [lo10] "+r"(lo10), [hi10] "+r"(hi10), [lo11] "+r"(lo11), [hi11] "+r"(hi11),
              [gp] "+r"(gf), [wp] "+r"(w), [g0] "=&r"(g0), [g1] "=&r"(g1), [t] "=&r"(t)
            : [s] "r"(stride), [end] "m"(end), [n4] "m"(n4)
            : "cc", "memory");
#undef TB_PWBI_STEP
        a00 = (int64_t)(((uint64_t)hi00 << 32) | lo00);
        a01 = (int64_t)(((uint64_t)hi01 << 32) | lo01);
        a10 = (int64_t)(((uint64_t)hi10 << 32) | lo10);
        a11 = (int64_t)(((uint64_t)hi11 << 32) | lo11);
        c = k->c_out & ~3;
    }
#endif
    for (; c < k->c_out; c++, gf += 2, w += stride) {
        a00 += (int64_t)gf[0] * w[0];
        a10 += (int64_t)gf[1] * w[0];
        if (nb > 1) {
            a01 += (int64_t)gf[0] * w[1];
            a11 += (int64_t)gf[1] * w[1];
        }
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[4] = a10;
    acc[5] = a11;
}

/* Two positions (interleaved products gf[2c], gf[2c + 1]) whose sums of |products| are below
 * 2^24, so that every partial sum over weights |w| <= 128 stays inside int32:
 * acc[4q + j] = sum over c of gf[2c + q] * w[c * stride + j], j < 4. On DSP cores 8 int32
 * accumulators (MLA) where the int64 ones (SMLAL) hold 4: the 4 weights of an output channel
 * in one word, sign-extended once for both positions, 8 output channels per loop step. */
static void tb_pwbi_pair4(const tb_pwbi_t *k, const int32_t *gf, const int8_t *w, int32_t stride,
                          int64_t *acc)
{
    int32_t c = 0, j;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    if (k->c_out >= 4) { /* sets every accumulator */
        const int32_t *end = gf + 2 * (k->c_out & ~3);
        const int32_t n4 = k->c_out >> 2;
        int32_t a00 = 0, a01 = 0, a02 = 0, a03 = 0, a10 = 0, a11 = 0, a12 = 0, a13 = 0;
        int32_t g0, g1, t;
        uint32_t wv;
        /* One output channel: its two products, its 4 weights in one word, 4 SXTB, 8 MLA. */
#define TB_PWBI_STEP4                                                                        \
        "ldr %[g0], [%[gp]], #4\n\t"                                                         \
        "ldr %[g1], [%[gp]], #4\n\t"                                                         \
        "ldr %[wv], [%[wp]]\n\t"                                                             \
        "ldr %[t], %[s]\n\t"                                                                 \
        "add %[wp], %[wp], %[t]\n\t"                                                         \
        "sxtb %[t], %[wv]\n\t"                                                               \
        "mla %[a00], %[g0], %[t], %[a00]\n\t"                                                \
        "mla %[a10], %[g1], %[t], %[a10]\n\t"                                                \
        "sxtb %[t], %[wv], ror #8\n\t"                                                       \
        "mla %[a01], %[g0], %[t], %[a01]\n\t"                                                \
        "mla %[a11], %[g1], %[t], %[a11]\n\t"                                                \
        "sxtb %[t], %[wv], ror #16\n\t"                                                      \
        "mla %[a02], %[g0], %[t], %[a02]\n\t"                                                \
        "mla %[a12], %[g1], %[t], %[a12]\n\t"                                                \
        "asr %[t], %[wv], #24\n\t"                                                           \
        "mla %[a03], %[g0], %[t], %[a03]\n\t"                                                \
        "mla %[a13], %[g1], %[t], %[a13]\n\t"
        /* 4 output channels if c_out / 4 is odd, then 8 per loop step */
        __asm volatile(
            "ldr %[t], %[n4]\n\t"
            "tst %[t], #1\n\t"
            "beq 2f\n\t"
            TB_PWBI_STEP4 TB_PWBI_STEP4 TB_PWBI_STEP4 TB_PWBI_STEP4
            "ldr %[t], %[end]\n\t"
            "cmp %[gp], %[t]\n\t"
            "beq 3f\n\t"
            "2:\n\t"
            TB_PWBI_STEP4 TB_PWBI_STEP4 TB_PWBI_STEP4 TB_PWBI_STEP4
            TB_PWBI_STEP4 TB_PWBI_STEP4 TB_PWBI_STEP4 TB_PWBI_STEP4
            "ldr %[t], %[end]\n\t"
            "cmp %[gp], %[t]\n\t"
            "bne 2b\n\t"
            "3:\n\t"
            : [a00] "+r"(a00), [a01] "+r"(a01), [a02] "+r"(a02), [a03] "+r"(a03), [a10] "+r"(a10),
              [a11] "+r"(a11), [a12] "+r"(a12), [a13] "+r"(a13), [gp] "+r"(gf), [wp] "+r"(w),
              [g0] "=&r"(g0), [g1] "=&r"(g1), [wv] "=&r"(wv), [t] "=&r"(t)
            : [s] "m"(stride), [end] "m"(end), [n4] "m"(n4)
            : "cc", "memory");
#undef TB_PWBI_STEP4
        acc[0] = a00;
        acc[1] = a01;
        acc[2] = a02;
        acc[3] = a03;
        acc[4] = a10;
        acc[5] = a11;
        acc[6] = a12;
        acc[7] = a13;
        c = k->c_out & ~3;
    } else
#endif
    {
        for (j = 0; j < 8; j++) {
            acc[j] = 0;
        }
    }
    for (; c < k->c_out; c++, gf += 2, w += stride) {
        for (j = 0; j < 4; j++) {
            acc[j] += (int64_t)gf[0] * w[j];
            acc[4 + j] += (int64_t)gf[1] * w[j];
        }
    }
}

/* Outputs [first, end) of grad_in were written at shift m: rewrite them at shift m2 > m. A tie
 * is computed again with the block of (up to) 4 input channels of its part that holds it, by
 * tb_pwbi_sparse (the room may hold the products of the positions being settled), once for
 * the ties of the block: those of a raise are many (about half of the outputs for m2 = m + 1). */
static void tb_pwbi_reshift(const tb_pwbi_t *k, int32_t first, int32_t end, int32_t m, int32_t m2)
{
    int32_t i, exact, pos = first / k->c_in, ci = first % k->c_in, block = -1; /* acc's block */
    int64_t acc[4];
    for (i = first; i < end; i++) {
        const int8_t v = tb_fast_shift_on(k->grad_in[i], m, m2, &exact);
        if (exact) {
            k->grad_in[i] = v;
        } else {
            const int32_t frozen = ci >= k->k_train, p0 = frozen ? k->k_train : 0;
            const int32_t len = frozen ? k->c_in - k->k_train : k->k_train, cb = p0 + ((ci - p0) & ~3);
            if (cb != block) {
                tb_pwbi_sparse(k, pos, (frozen ? k->w_frozen : k->w_train) + (cb - p0), len,
                               p0 + len - cb < 4 ? p0 + len - cb : 4, NULL, acc);
                block = cb;
            }
            k->grad_in[i] = (int8_t)tb_nn_round_shift(acc[ci - cb], m2);
        }
        if (++ci == k->c_in) {
            ci = 0;
            pos++;
            block = -1;
        }
    }
}

/* Settle one block of np positions from pos (acc[4q + j], j < nb, input channel ci of each):
 * raise the shift to fit it; if writing, shift on what is written (the positions above, and
 * these positions below ci), then write it. */
static void tb_pwbi_settle(tb_pwbi_t *k, int32_t pos, int32_t np, int32_t ci, int32_t nb,
                           const int64_t *acc, int32_t write)
{
    const int32_t m = k->shift.n;
    int32_t m2 = m, q, j;
    if (write && m < 32) { /* the common case, straight if all fit */
        /* Each output as round_shift from the two words, written; it fits the shift exactly when
         * it lies in [-127, 127] (tb_fast_shift_set's bounds): else the outputs are written again
         * below, after the shift grows. */
        const uint32_t r = (uint32_t)k->shift.round;
        uint32_t bad = 0;
        for (q = 0; q < np; q++) {
            int8_t *out = k->grad_in + (pos + q) * k->c_in + ci;
            for (j = 0; j < nb; j++) {
                const uint64_t t = (uint64_t)acc[4 * q + j] + r;
                const uint32_t lo = (uint32_t)t, hi = (uint32_t)(t >> 32);
                const int32_t v = (int32_t)((lo >> m) | (hi << 1 << (31 - m)));
                bad |= ((uint32_t)(v + 127) > 254u) | ((int32_t)hi >> m != v >> 31);
                out[j] = (int8_t)v;
            }
        }
        if (!bad) {
            return;
        }
    }
    for (q = 0; q < np; q++) {
        for (j = 0; j < nb; j++) {
            if (!tb_fast_shift_fits(&k->shift, acc[4 * q + j])) {
                m2 = tb_fast_shift_for(acc[4 * q + j], m2);
            }
        }
    }
    if (m2 > m) {
        tb_fast_shift_set(&k->shift, m2);
        if (write) {
            tb_pwbi_reshift(k, (pos + np) * k->c_in, k->positions * k->c_in, m, m2);
            for (q = 0; q < np; q++) {
                tb_pwbi_reshift(k, (pos + q) * k->c_in, (pos + q) * k->c_in + ci, m, m2);
            }
        }
    }
    if (write) {
        for (q = 0; q < np; q++) {
            for (j = 0; j < nb; j++) {
                k->grad_in[(pos + q) * k->c_in + ci + j] = tb_fast_shift_apply(&k->shift, acc[4 * q + j]);
            }
        }
    }
}

/* The list of position pos's non-zero masked gradients (nz: its windows, tb_pwbi_nonzero) for
 * tb_pwbi_listrun, for the weight part of row stride `stride`: (product, c * stride) per
 * output channel c, after the windows in the room below limit, or NULL if it does not hold
 * them (3 bytes spare, as tb_pwbi_room). Made once per part, read once per block of 4 input
 * channels: the bits are searched and the products formed once, not once per block. */
static const int32_t *tb_pwbi_list(const tb_pwbi_t *k, int32_t pos, const uint32_t *nz, int32_t stride,
                                   int32_t limit)
{
    const int32_t windows = (k->c_out + 31) >> 5;
    const int8_t *g = k->grad + pos * k->c_out;
    int32_t *e, *list, w;
    if (nz == NULL || 4 * windows + 8 * k->nonzero + 3 > limit) {
        return NULL;
    }
    list = e = (int32_t *)(nz + windows);
    for (w = 0; w < windows; w++) {
        uint32_t bits = nz[w];
        while (bits != 0) {
            const int32_t c = 32 * w + (int32_t)__builtin_ctz(bits);
            bits &= bits - 1u;
            e[0] = g[c] * k->w_factor[c];
            e[1] = c * stride;
            e += 2;
        }
    }
    return list;
}

/* Positions pos .. pos + np - 1 (np = 1 or 2; gf: their products, interleaved for two, or NULL
 * for one position computed from the gradient, nz: its windows of non-zero masked gradients
 * or NULL) over both weight parts. */
static void tb_pwbi_positions(tb_pwbi_t *k, const int32_t *gf, const uint32_t *nz, int32_t pos,
                              int32_t np, int32_t limit, int32_t write)
{
    const int32_t block = np == 2 ? 2 : 4;
    int32_t part, ci, nb;
    for (part = 0; part < 2; part++) {
        const int8_t *w = part == 0 ? k->w_train : k->w_frozen;
        const int32_t len = part == 0 ? k->k_train : k->c_in - k->k_train;
        const int32_t ci0 = part == 0 ? 0 : k->k_train;
        const int32_t *list = np == 1 && gf == NULL && len > 0 ? tb_pwbi_list(k, pos, nz, len, limit) : NULL;
        for (ci = 0; ci < len; ci += nb) {
            int64_t acc[8];
            if (np == 2 && k->narrow && len - ci >= 4) { /* int32 sums: 4 input channels */
                nb = 4;
                tb_pwbi_pair4(k, gf, w + ci, len, acc);
            } else {
                nb = len - ci < block ? len - ci : block;
                if (np == 2) {
                    tb_pwbi_pair(k, gf, w + ci, len, nb, acc);
                } else if (gf != NULL) {
                    tb_pwbi_single(k, gf, w + ci, len, nb, acc);
                } else if (list != NULL) {
                    tb_pwbi_listrun(list, k->nonzero, w + ci, nb, acc);
                } else {
                    tb_pwbi_sparse(k, pos, w + ci, len, nb, nz, acc);
                }
            }
            tb_pwbi_settle(k, pos, np, ci0 + ci, nb, acc, write);
        }
    }
}

/* The two positions whose products have the largest sums of magnitudes (a != b unless there
 * is one position), and whether the products are dense. */
static void tb_pwbi_heaviest(tb_pwbi_t *k, int32_t *a, int32_t *b)
{
    int64_t best_a = -1, best_b = -1, nonzero = 0;
    int32_t pos, c;
    *a = *b = 0;
    for (pos = 0; pos < k->positions; pos++) {
        int64_t sum = 0;
        for (c = 0; c < k->c_out; c++) {
            const int32_t g = tb_pwbi_gf(k, pos * k->c_out + c, c);
            sum += g < 0 ? -(int64_t)g : g;
            nonzero += g != 0;
        }
        if (sum > best_a) {
            best_b = best_a;
            *b = *a;
            best_a = sum;
            *a = pos;
        } else if (sum > best_b) {
            best_b = sum;
            *b = pos;
        }
    }
    if (k->positions == 1) {
        *b = *a;
    }
    k->dense = 8 * nonzero >= 7 * (int64_t)k->positions * k->c_out;
}

/* Room for the products of np positions (interleaved for two) in the not yet written bytes
 * below limit: their word-aligned start, or NULL if the bytes do not hold np * c_out words
 * whatever the alignment of grad_in (3 bytes spare: the choice does not depend on the address). */
static int32_t *tb_pwbi_room(const tb_pwbi_t *k, int32_t np, int32_t limit)
{
    if (4 * np * k->c_out + 3 > limit) {
        return NULL;
    }
    return (int32_t *)(((uintptr_t)k->grad_in + 3u) & ~(uintptr_t)3u);
}

/* Fill the room with the products of positions pa and (np = 2) pb, interleaved; a pair is
 * narrow (int32 sums, tb_pwbi_pair4) when each position's sum of |products| is below 2^24
 * (summed in uint32: exact below 1024 output channels, |product| <= 2^22). */
static void tb_pwbi_fill(tb_pwbi_t *k, int32_t *gf, int32_t pa, int32_t pb, int32_t np)
{
    uint32_t sa = 0, sb = 0;
    int32_t c;
    if (np == 1) {
        for (c = 0; c < k->c_out; c++) {
            gf[c] = tb_pwbi_gf(k, pa * k->c_out + c, c);
        }
        return;
    }
    for (c = 0; c < k->c_out; c++) {
        const int32_t a = tb_pwbi_gf(k, pa * k->c_out + c, c), b = tb_pwbi_gf(k, pb * k->c_out + c, c);
        gf[2 * c] = a;
        gf[2 * c + 1] = b;
        sa += (uint32_t)(a < 0 ? -a : a);
        sb += (uint32_t)(b < 0 ? -b : b);
    }
    k->narrow = k->c_out < 1024 && sa < (1u << 24) && sb < (1u << 24);
}

/* The windows of 32 mask bits of position pos with the bits of zero gradients cleared, kept
 * in the room below limit if it holds them (3 bytes spare, as tb_pwbi_room), else NULL: read
 * once per position, not once per block of input channels, and the loops over the bits no
 * longer meet zero gradients. */
static const uint32_t *tb_pwbi_nonzero(tb_pwbi_t *k, int32_t pos, int32_t limit)
{
    const int8_t *g = k->grad + pos * k->c_out;
    uint32_t *nz;
    int32_t c0, j;
    if (4 * ((k->c_out + 31) >> 5) + 3 > limit) {
        return NULL;
    }
    nz = (uint32_t *)(((uintptr_t)k->grad_in + 3u) & ~(uintptr_t)3u);
    k->nonzero = 0;
    for (c0 = 0; c0 < k->c_out; c0 += 32) {
        const int32_t n = k->c_out - c0 < 32 ? k->c_out - c0 : 32;
        uint32_t v = 0;
        for (j = n - 1; j >= 0; j--) {
            v = (v << 1) | (uint32_t)(g[c0 + j] != 0);
        }
        v &= tb_pwbi_bits(k->mask, pos * k->c_out + c0, n);
        nz[c0 >> 5] = v;
        v -= (v >> 1) & 0x55555555u; /* its set bits */
        v = (v & 0x33333333u) + ((v >> 2) & 0x33333333u);
        k->nonzero += (int32_t)((((v + (v >> 4)) & 0x0F0F0F0Fu) * 0x01010101u) >> 24);
    }
    return nz;
}

/* Positions pa and (np = 2) pb, their products kept in the room below `limit` if it holds
 * them (both together, else one at a time, else none: formed in the loop, over the non-zero
 * masked gradients in the room if it holds their bits). Written (write = 1) only for adjacent
 * positions pb = pa + 1. */
static void tb_pwbi_step(tb_pwbi_t *k, int32_t pa, int32_t pb, int32_t np, int32_t limit,
                         int32_t write)
{
    int32_t *gf = tb_pwbi_room(k, np, limit);
    if (gf == NULL && np == 2) {
        tb_pwbi_step(k, pb, pb, 1, limit, write);
        tb_pwbi_step(k, pa, pa, 1, limit, write);
        return;
    }
    k->narrow = 0;
    if (gf != NULL) {
        tb_pwbi_fill(k, gf, pa, pb, np);
    }
    tb_pwbi_positions(k, gf, gf == NULL ? tb_pwbi_nonzero(k, pa, limit) : NULL, pa, np, limit, write);
}

int32_t tb_pointwise_bwd_input_s8(const int8_t *grad, int32_t e_grad, const uint8_t *mask,
                                  int32_t h, int32_t w, int32_t c_in, const int8_t *w_train,
                                  const int8_t *w_frozen, int32_t k_train, int32_t c_out,
                                  const int32_t *w_factor, int32_t w_exp, int8_t *grad_in)
{
    tb_pwbi_t k;
    int32_t hi, a, b;
    k.grad = grad;
    k.mask = mask;
    k.w_train = w_train;
    k.w_frozen = w_frozen;
    k.w_factor = w_factor;
    k.k_train = k_train;
    k.c_in = c_in;
    k.c_out = c_out;
    k.positions = h * w;
    k.grad_in = grad_in;
    tb_fast_shift_set(&k.shift, 0);
    tb_pwbi_heaviest(&k, &a, &b);
    tb_pwbi_step(&k, a, b, a == b ? 1 : 2, k.positions * c_in, 0); /* the shift only: nothing written */
    for (hi = k.positions - 1; hi >= 1; hi -= 2) {
        tb_pwbi_step(&k, hi - 1, hi, 2, (hi - 1) * c_in, 1);
    }
    if (hi == 0) {
        tb_pwbi_step(&k, 0, 0, 1, 0, 1);
    }
    return e_grad + w_exp + k.shift.n;
}
