/* tb_pointwise_bwd_weight_sgd_s8, fast: the same updated weights and biases as
 * src/Update/tb_pointwise_bwd_weight_sgd_s8.c.
 *
 * A weight gradient is a dot product over positions of one output gradient channel and one
 * saved input channel, both strided by their channel counts (HWC). The fast loop nest takes
 * output channels two at a time: for each block of up to TB_PWSGD_BLOCK positions it packs
 * the masked gradient of the pair once into halfword pairs of adjacent positions (one word
 * per channel and position pair; the mask bits as a byte mask by a table, read at one bit
 * offset when c_out is a multiple of 8; the bias sums by SMLAD with (1, 1) on the way), then
 * for each pair of trained input channels gathers the saved input of two positions with two
 * halfword loads into one word (SXTB16) and runs a 2 x 2 tile (channels x input channels) of
 * SMLAD, two positions per instruction (an assembly loop on DSP cores). The zero point comes
 * out of the tiles: sum g * (x - x_zero) = sum g * x - x_zero * (the bias sum). The int32 sums
 * are the reference's (the same products, added in another order, exact in int32); trained
 * input channels go in chunks of TB_PWSGD_CHUNK whose accumulators live on the stack across
 * the blocks (a chunk after the first packs the gradient again and adds no bias sums). With no
 * trained input channel (bias sums only), 4 channels per gradient word in halfword lanes.
 * Each weight and bias then takes the reference's SGD step, in 32 bits for effective shifts
 * 1..62 (tb_pwsgd_delta). Every helper has one call site: the kernel is one leaf function. */
#include "tb_kernels.h"
#include "Internal/tb_nn_fast.h"

#define TB_PWSGD_BLOCK 32 /* positions of gradient packed at a time (even) */
#define TB_PWSGD_CHUNK 32 /* trained input channels accumulated at a time */

/* The byte mask of 4 mask bits: byte j is 0xFF where bit j is set. */
static const uint32_t TB_PWSGD_BYTES[16] = {
    0x00000000u, 0x000000FFu, 0x0000FF00u, 0x0000FFFFu, 0x00FF0000u, 0x00FF00FFu, 0x00FFFF00u,
    0x00FFFFFFu, 0xFF000000u, 0xFF0000FFu, 0xFF00FF00u, 0xFF00FFFFu, 0xFFFF0000u, 0xFFFF00FFu,
    0xFFFFFF00u, 0xFFFFFFFFu};

/* Two consecutive bytes at p as the low halfword (any alignment). */
static inline uint32_t tb_pwsgd_read2(const int8_t *p)
{
    uint16_t v;
    __builtin_memcpy(&v, p, 2);
    return v;
}

/* Mask bits i and i + 1 (bit 1 = bit i + 1); the second may open the next byte. */
static inline uint32_t tb_pwsgd_bits2(const uint8_t *mask, int32_t i)
{
    const int32_t b = i >> 3, o = i & 7;
    uint32_t v = (uint32_t)mask[b] >> o;
    if (o == 7) {
        v |= (uint32_t)mask[b + 1] << 1;
    }
    return v & 3u;
}

/* ------------------------------------------------------------------ packed gradient */

/* The gradient of channels c (and c + 1 when pair) at positions p0 .. p0 + n - 1, masked,
 * packed as g[2 * j + q] = (gm[p0 + 2j, c + q], gm[p0 + 2j + 1, c + q]) (0 for a missing
 * position or channel); sum[q] += the sum of channel c + q's values. masked: 0 no mask, 1 mask
 * bits at any offset, 2 (pairs, c_out a multiple of 8, as in every model) the pair's two bits
 * at the same offset of a byte c_out / 8 bytes apart at each position. masked and pair are
 * constants at each call site, so each gets its own loop. */
static inline void tb_pwsgd_pack(const int8_t *grad, const uint8_t *mask, int32_t c_out, int32_t c,
                                 int32_t p0, int32_t n, int32_t masked, int32_t pair, uint32_t *g,
                                 int32_t *sum)
{
    const uint32_t ones = 0x00010001u;
    int32_t gi = p0 * c_out + c;
    const uint8_t *mp = masked == 2 ? mask + (gi >> 3) : mask;
    const int32_t o = gi & 7, ms = c_out >> 3;
    int32_t s0 = sum[0], s1 = sum[1];
    int32_t j;
    for (j = 0; j + 2 <= n; j += 2, gi += 2 * c_out, g += 2) {
        uint32_t t, w0;
        if (pair) {
            t = tb_pwsgd_read2(grad + gi) | (tb_pwsgd_read2(grad + gi + c_out) << 16);
        } else {
            t = (uint32_t)(uint8_t)grad[gi] | ((uint32_t)(uint8_t)grad[gi + c_out] << 16);
        }
        if (masked == 2) {
            t &= TB_PWSGD_BYTES[(((uint32_t)mp[0] >> o) & 3u) | ((((uint32_t)mp[ms] >> o) & 3u) << 2)];
            mp += 2 * ms;
        } else if (masked) {
            const uint32_t bits = pair ? tb_pwsgd_bits2(mask, gi) | (tb_pwsgd_bits2(mask, gi + c_out) << 2)
                                       : (uint32_t)tb_nn_mask_get(mask, gi) |
                                             ((uint32_t)tb_nn_mask_get(mask, gi + c_out) << 2);
            t &= TB_PWSGD_BYTES[bits];
        }
        w0 = tb_dsp_sxtb16(t);
        g[0] = w0;
        s0 = tb_dsp_smlad(w0, ones, s0);
        if (pair) {
            const uint32_t w1 = tb_dsp_sxtb16_ror8(t);
            g[1] = w1;
            s1 = tb_dsp_smlad(w1, ones, s1);
        } else {
            g[1] = 0;
        }
    }
    if (j < n) { /* the last position of an odd block (masked without a branch) */
        const int32_t v0 = grad[gi] & (masked ? -tb_nn_mask_get(mask, gi) : -1);
        const int32_t v1 = pair ? grad[gi + 1] & (masked ? -tb_nn_mask_get(mask, gi + 1) : -1) : 0;
        g[0] = (uint32_t)v0 & 0xFFFFu;
        g[1] = (uint32_t)v1 & 0xFFFFu;
        s0 += v0;
        s1 += v1;
    }
    sum[0] = s0;
    sum[1] = s1;
}

/* ------------------------------------------------------------------------ dot tiles */

/* acc[0], acc[1] (channel c, input channels ci, ci + 1) and acc[2], acc[3] (channel c + 1)
 * += the packed gradient g of n positions times the saved input x (x points at the first
 * position's ci, positions kt bytes apart), without the zero point: the sums of g * x, from which
 * the caller subtracts x_zero times the sum of g (exact in int32: each term fits and so does the
 * difference, the reference's sum). */
static inline void tb_pwsgd_tile2(const uint32_t *g, const int8_t *x, int32_t kt, int32_t n,
                                  int32_t *acc)
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    const uint32_t *end = g + (n & ~1);
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    if (g != end) {
        uint32_t t0, t1, g0, g1;
        /* The loop below, scheduled by hand: the two halfword loads first, the gradient pair
         * (LDRD) and the pointer step between them and their ORR, the loop test before the
         * multiplies (SXTB16 and SMLAD leave the flags). */
        __asm volatile(
            "1:\n\t"
            "ldrh %[t0], [%[x], %[kt]]\n\t"
            "ldrh %[t1], [%[x]]\n\t"
            "ldrd %[g0], %[g1], [%[g]], #8\n\t"
            "add %[x], %[x], %[kt], lsl #1\n\t"
            "orr %[t1], %[t1], %[t0], lsl #16\n\t"
            "cmp %[g], %[end]\n\t"
            "sxtb16 %[t0], %[t1]\n\t"
            "sxtb16 %[t1], %[t1], ror #8\n\t"
            "smlad %[a00], %[g0], %[t0], %[a00]\n\t"
            "smlad %[a01], %[g0], %[t1], %[a01]\n\t"
            "smlad %[a10], %[g1], %[t0], %[a10]\n\t"
            "smlad %[a11], %[g1], %[t1], %[a11]\n\t"
            "bne 1b\n\t"
            : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [x] "+r"(x),
              [g] "+r"(g), [t0] "=&r"(t0), [t1] "=&r"(t1), [g0] "=&r"(g0), [g1] "=&r"(g1)
            : [kt] "r"(kt), [end] "r"(end)
            : "cc", "memory");
    }
#else
    for (; g != end; g += 2, x += 2 * kt) {
        const uint32_t xw = tb_pwsgd_read2(x) | (tb_pwsgd_read2(x + kt) << 16);
        const uint32_t xe = tb_dsp_sxtb16(xw), xo = tb_dsp_sxtb16_ror8(xw);
        const uint32_t g0 = g[0], g1 = g[1];
        a00 = tb_dsp_smlad(g0, xe, a00);
        a01 = tb_dsp_smlad(g0, xo, a01);
        a10 = tb_dsp_smlad(g1, xe, a10);
        a11 = tb_dsp_smlad(g1, xo, a11);
    }
#endif
    if (n & 1) {
        const int32_t xa = x[0], xb = x[1];
        const int32_t g0 = tb_dsp_lo(g[0]), g1 = tb_dsp_lo(g[1]);
        a00 += g0 * xa;
        a01 += g0 * xb;
        a10 += g1 * xa;
        a11 += g1 * xb;
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

/* tb_pwsgd_tile2 for one input channel: acc[0] (channel c), acc[1] (c + 1). */
static inline void tb_pwsgd_tile1(const uint32_t *g, const int8_t *x, int32_t kt, int32_t n,
                                  int32_t *acc)
{
    int32_t a0 = acc[0], a1 = acc[1];
    int32_t j;
    for (j = 0; j + 2 <= n; j += 2, g += 2, x += 2 * kt) {
        const uint32_t xw = (uint32_t)(uint8_t)x[0] | ((uint32_t)(uint8_t)x[kt] << 16);
        const uint32_t xe = tb_dsp_sxtb16(xw);
        a0 = tb_dsp_smlad(g[0], xe, a0);
        a1 = tb_dsp_smlad(g[1], xe, a1);
    }
    if (j < n) {
        const int32_t xa = x[0];
        a0 += tb_dsp_lo(g[0]) * xa;
        a1 += tb_dsp_lo(g[1]) * xa;
    }
    acc[0] = a0;
    acc[1] = a1;
}

/* ------------------------------------------------------------------------ SGD steps */

/* The SGD step delta = tb_nn_sgd_delta(grad, m, shift, e_grad) of one channel, prepared once
 * per channel, in 32 bits where the effective shift s = shift - e_grad allows (docs/kernels.md):
 * m = 0 or s > 62 give 0 (mode 0). Otherwise v = grad * m + 2^(s-1) (|v| < 2^62 + 2^61, SMLAL)
 * and delta = sat_s32(floor(v / 2^s)). For s in [32, 62] (mode 1) that is floor(hi / 2^(s-32))
 * with hi = floor(v / 2^32), the high word (nested floor divisions), in [-2^30 - 2^29,
 * 2^30 + 2^29]: no saturation, and w - delta does not overflow. For s in [1, 31] (mode 2) it
 * is the 64-bit arithmetic shift of the two words, saturated when its high word is not the
 * sign of its low word. s <= 0 (mode 3) takes the reference's statement. */
typedef struct {
    int32_t mode;
    int32_t mult, shift, e_grad, t; /* t = s - 32 (mode 1) or s (mode 2) */
    int64_t round;                  /* 2^(s-1) */
} tb_pwsgd_sgd_t;

static inline tb_pwsgd_sgd_t tb_pwsgd_sgd_init(int32_t mult, int32_t shift, int32_t e_grad)
{
    const int64_t s = (int64_t)shift - e_grad;
    tb_pwsgd_sgd_t q;
    q.mult = mult;
    q.shift = shift;
    q.e_grad = e_grad;
    q.t = 0;
    q.round = 0;
    if (mult == 0 || s > 62) {
        q.mode = 0;
    } else if (s >= 1) {
        q.mode = s >= 32 ? 1 : 2;
        q.t = s >= 32 ? (int32_t)s - 32 : (int32_t)s;
        q.round = (int64_t)1 << (s - 1);
    } else {
        q.mode = 3;
    }
    return q;
}

/* delta of mode 1 or 2 (the caller knows which: a constant at each call site). */
static inline int32_t tb_pwsgd_delta(const tb_pwsgd_sgd_t *q, int32_t grad, int32_t high)
{
    const int64_t v = (int64_t)grad * q->mult + q->round;
    const int32_t hi = (int32_t)(v >> 32);
    uint32_t lo;
    if (high) {
        return hi >> q->t;
    }
    lo = ((uint32_t)v >> q->t) | ((uint32_t)hi << (32 - q->t));
    if ((hi >> q->t) != ((int32_t)lo >> 31)) {
        return hi < 0 ? INT32_MIN : INT32_MAX;
    }
    return (int32_t)lo;
}

/* w[j] = sat_s8(w[j] - delta) by the weight gradient acc[j] - corr, j < n (row of one
 * channel); mode 2's delta may be saturated, so QSUB before the int8 clamp (same sign). */
static inline void tb_pwsgd_update(int8_t *w, const int32_t *acc, int32_t corr, int32_t n,
                                   const tb_pwsgd_sgd_t *q)
{
    int32_t j;
    if (q->mode == 1) {
        for (j = 0; j < n; j++) {
            w[j] = (int8_t)tb_dsp_ssat8(w[j] - tb_pwsgd_delta(q, acc[j] - corr, 1));
        }
    } else if (q->mode == 2) {
        for (j = 0; j < n; j++) {
            w[j] = (int8_t)tb_dsp_ssat8(tb_dsp_qsub(w[j], tb_pwsgd_delta(q, acc[j] - corr, 0)));
        }
    } else if (q->mode == 3) {
        for (j = 0; j < n; j++) {
            w[j] = tb_nn_sgd_step_s8(w[j], acc[j] - corr, q->mult, q->shift, q->e_grad);
        }
    }
}

/* sat_s32(b - delta) of one bias by its gradient sum (tb_nn_sgd_step_s32). */
static inline int32_t tb_pwsgd_bias_step(int32_t b, int32_t sum, int32_t mult, int32_t shift,
                                         int32_t e_grad)
{
    const tb_pwsgd_sgd_t q = tb_pwsgd_sgd_init(mult, shift, e_grad);
    if (q.mode == 1) {
        return tb_dsp_qsub(b, tb_pwsgd_delta(&q, sum, 1));
    }
    if (q.mode == 2) {
        return tb_dsp_qsub(b, tb_pwsgd_delta(&q, sum, 0));
    }
    return q.mode == 3 ? tb_nn_sgd_step_s32(b, sum, mult, shift, e_grad) : b;
}

/* ------------------------------------------------------------------------- the kernel */

typedef struct {
    const int8_t *grad;
    const uint8_t *mask;
    const int8_t *x;
    int32_t positions, kt, x_zero, c_out;
} tb_pwsgd_t;

/* Pack a block of channel c (and c + 1 when pair) into g, adding the bias sums to sum. */
static inline void tb_pwsgd_pack_block(const tb_pwsgd_t *k, int32_t c, int32_t pair, int32_t p0,
                                       int32_t n, uint32_t *g, int32_t *sum)
{
    if (k->mask != NULL) {
        if (pair && (k->c_out & 7) == 0) {
            tb_pwsgd_pack(k->grad, k->mask, k->c_out, c, p0, n, 2, 1, g, sum);
        } else if (pair) {
            tb_pwsgd_pack(k->grad, k->mask, k->c_out, c, p0, n, 1, 1, g, sum);
        } else {
            tb_pwsgd_pack(k->grad, k->mask, k->c_out, c, p0, n, 1, 0, g, sum);
        }
    } else if (pair) {
        tb_pwsgd_pack(k->grad, k->mask, k->c_out, c, p0, n, 0, 1, g, sum);
    } else {
        tb_pwsgd_pack(k->grad, k->mask, k->c_out, c, p0, n, 0, 0, g, sum);
    }
}

/* acc[q * TB_PWSGD_CHUNK + j] += the block's sums of channel c + q and input channel k0 + j,
 * j < kc. */
static inline void tb_pwsgd_block_dots(const tb_pwsgd_t *k, const uint32_t *g, int32_t p0,
                                       int32_t n, int32_t k0, int32_t kc, int32_t *acc)
{
    const int8_t *x = k->x + p0 * k->kt + k0;
    int32_t j;
    for (j = 0; j + 2 <= kc; j += 2) {
        int32_t a[4];
        a[0] = acc[j];
        a[1] = acc[j + 1];
        a[2] = acc[TB_PWSGD_CHUNK + j];
        a[3] = acc[TB_PWSGD_CHUNK + j + 1];
        tb_pwsgd_tile2(g, x + j, k->kt, n, a);
        acc[j] = a[0];
        acc[j + 1] = a[1];
        acc[TB_PWSGD_CHUNK + j] = a[2];
        acc[TB_PWSGD_CHUNK + j + 1] = a[3];
    }
    if (j < kc) {
        int32_t a[2];
        a[0] = acc[j];
        a[1] = acc[TB_PWSGD_CHUNK + j];
        tb_pwsgd_tile1(g, x + j, k->kt, n, a);
        acc[j] = a[0];
        acc[TB_PWSGD_CHUNK + j] = a[1];
    }
}

/* Channels c and c + 1 (pair = 0: c only): weight sums chunk by chunk and their SGD steps
 * (none for k_train = 0: one chunk of no input channel), the bias sums added to sum. */
/* (always_inline: gcc would otherwise keep this large function apart, and the kernel would
 * not be the leaf whose frame the estimator measures.) */
static inline __attribute__((always_inline)) void
tb_pwsgd_channels(const tb_pwsgd_t *k, int32_t c, int32_t pair, int32_t e_grad, int8_t *w_train,
                  const int32_t *w_mult, const int32_t *w_shift, int32_t *sum)
{
    uint32_t g[TB_PWSGD_BLOCK];
    int32_t acc[2 * TB_PWSGD_CHUNK];
    tb_pwsgd_sgd_t steps[2];
    int32_t k0 = 0, q, j, p0;
    for (q = 0; q <= pair; q++) {
        steps[q] = tb_pwsgd_sgd_init(w_mult[c + q], w_shift[c + q], e_grad);
    }
    do {
        const int32_t kc = k->kt - k0 < TB_PWSGD_CHUNK ? k->kt - k0 : TB_PWSGD_CHUNK;
        for (j = 0; j < kc; j++) {
            acc[j] = 0;
            acc[TB_PWSGD_CHUNK + j] = 0;
        }
        for (p0 = 0; p0 < k->positions; p0 += TB_PWSGD_BLOCK) {
            const int32_t n = k->positions - p0 < TB_PWSGD_BLOCK ? k->positions - p0 : TB_PWSGD_BLOCK;
            int32_t unused[2] = {0, 0};
            tb_pwsgd_pack_block(k, c, pair, p0, n, g, k0 == 0 ? sum : unused);
            if (kc > 0) {
                tb_pwsgd_block_dots(k, g, p0, n, k0, kc, acc);
            }
        }
        for (q = 0; q <= pair; q++) {
            tb_pwsgd_update(w_train + (c + q) * k->kt + k0, acc + q * TB_PWSGD_CHUNK, k->x_zero * sum[q], kc,
                            &steps[q]);
        }
        k0 += kc;
    } while (k0 < k->kt);
}

/* Mask bits i .. i + 3 (bit j = bit i + j); the last ones may open the next byte. */
static inline uint32_t tb_pwsgd_bits4(const uint8_t *mask, int32_t i)
{
    const int32_t b = i >> 3, o = i & 7;
    uint32_t v = (uint32_t)mask[b] >> o;
    if (o > 4) {
        v |= (uint32_t)mask[b + 1] << (8 - o);
    }
    return v & 15u;
}

/* The bias sums sum[0..3] of channels c .. c + 3 when no weight is trained: one gradient word
 * per position, masked by the byte mask of its 4 mask bits, its bytes added into halfword lanes
 * (SXTAB16: channels c, c + 2 and c + 1, c + 3), exact for 256 positions (sums in
 * [-32768, 32512]), so the lanes go to int32 every 256 positions. */
static inline void tb_pwsgd_quad_sums(const tb_pwsgd_t *k, int32_t c, int32_t *sum)
{
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int32_t p0;
    for (p0 = 0; p0 < k->positions; p0 += 256) {
        const int32_t n = k->positions - p0 < 256 ? k->positions - p0 : 256;
        uint32_t even = 0, odd = 0;
        int32_t gi = p0 * k->c_out + c;
        const int32_t end = gi + n * k->c_out;
        if (k->mask != NULL) {
            for (; gi != end; gi += k->c_out) {
                const uint32_t t = tb_dsp_read4(k->grad + gi) & TB_PWSGD_BYTES[tb_pwsgd_bits4(k->mask, gi)];
                even = tb_dsp_sxtab16(even, t);
                odd = tb_dsp_sxtab16_ror8(odd, t);
            }
        } else {
            for (; gi != end; gi += k->c_out) {
                const uint32_t t = tb_dsp_read4(k->grad + gi);
                even = tb_dsp_sxtab16(even, t);
                odd = tb_dsp_sxtab16_ror8(odd, t);
            }
        }
        s0 += tb_dsp_lo(even);
        s1 += tb_dsp_lo(odd);
        s2 += tb_dsp_hi(even);
        s3 += tb_dsp_hi(odd);
    }
    sum[0] = s0;
    sum[1] = s1;
    sum[2] = s2;
    sum[3] = s3;
}

/* Channels in groups: 4 at a time while no weight is trained (bias sums only), else (and for
 * the last c_out % 4 then) pairs and a single last one; then the group's bias steps. */
void tb_pointwise_bwd_weight_sgd_s8(const int8_t *grad, const uint8_t *mask,
                                    const int8_t *x_saved, int32_t h, int32_t w,
                                    int32_t k_train, int32_t x_zero, int32_t c_out,
                                    int32_t e_grad, int8_t *w_train, const int32_t *w_mult,
                                    const int32_t *w_shift, int32_t *bias,
                                    const int32_t *b_mult, const int32_t *b_shift)
{
    tb_pwsgd_t k;
    int32_t c, n, q;
    k.grad = grad;
    k.mask = mask;
    k.x = x_saved;
    k.positions = h * w;
    k.kt = k_train;
    k.x_zero = x_zero;
    k.c_out = c_out;
    for (c = 0; c < c_out; c += n) {
        int32_t sum[4];
        if (k_train == 0 && c + 4 <= c_out) {
            n = 4;
            tb_pwsgd_quad_sums(&k, c, sum);
        } else {
            n = c + 1 < c_out ? 2 : 1;
            sum[0] = 0;
            sum[1] = 0;
            tb_pwsgd_channels(&k, c, n - 1, e_grad, w_train, w_mult, w_shift, sum);
        }
        for (q = 0; q < n; q++) {
            bias[c + q] = tb_pwsgd_bias_step(bias[c + q], sum[q], b_mult[c + q], b_shift[c + q], e_grad);
        }
    }
}
