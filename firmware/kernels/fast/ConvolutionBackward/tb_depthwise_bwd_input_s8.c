/* tb_depthwise_bwd_input_s8, fast: the same bytes and exponent as
 * src/ConvolutionBackward/tb_depthwise_bwd_input_s8.c, with every tap sum computed once
 * instead of once per pass.
 *
 * The runtime shift rule is kept (n: the smallest shift that brings every accumulator into
 * [-127, 127]), but the outputs are written as their sums come, at the smallest shift that fits
 * the accumulators seen so far. A channel step (4 channels, or one) that meets an accumulator
 * which does not fit grows the shift and runs again from its start; at the end the steps taken
 * before the last growth run again at the final shift (the later ones already have it). Rounding
 * at a shift is exact whenever it fits, so every byte is the reference's. To make late growths
 * rare, the 8 groups with the largest w_factor x sum of |gradient| of a channel go first.
 *
 * A step of 4 channels reads one word of the gradient per tap: its filters are packed once
 * (byte j of a word is channel j, tb_fast_dw_pack4) and widened to halfword pairs (SXTB16), and,
 * when the output plane is small enough, the masked gradient words of its 4 channels are copied
 * into a plane on the stack (the mask bits turned into a byte mask by a table once per output,
 * not once per tap). With stride 1 and kernels 3 and 5, and stride 2 and kernels 3 and 7, the
 * plane has a zero border, so that every input position reads a whole window (of its parities
 * for stride 2), unrolled, each tap in assembly on DSP cores; otherwise the taps of each input
 * row and column are found once (tb_fast_tap_gather). Four 16 x 16 multiply-accumulates per tap
 * (SMLABB, SMLATT). The outputs take a 32-bit requantization (one SMMUL, an add and a shift) for
 * shifts from 18 on, and the reference's 64-bit statement below that and where an accumulator
 * does not fit. The last c % 4 channels (all channels for kernels above 7) take the taps one by
 * one. */
#include "tb_kernels.h"
#include "Internal/tb_nn_fast.h"

/* The most words of the masked gradient plane of a step (tb_dwbi_plane): 8 x 8 outputs with the
 * border of a 5 x 5 kernel. */
#define TB_DWBI_PLANE 144

/* The groups taken first (tb_dwbi_top). */
#define TB_DWBI_TOP 8

typedef struct {
    const int8_t *grad;
    const uint8_t *mask;
    const int8_t *w_train, *w_frozen;
    const int32_t *w_factor;
    int8_t *grad_in;
    int32_t k_train, c, kernel, stride, h_in, w_in, h_out, w_out;
    int32_t border; /* of the plane: kernel / 2 for whole windows, else 0 */
    int32_t pitch;  /* words per plane row: w_out + 2 * border */
    int32_t ky0, ny, oy0; /* the taps of the current input row (tb_fast_tap_gather) */
    int32_t kx0, nx, ox0; /* and column */
} tb_dwbi_t;

/* The byte mask of 4 mask bits: byte j is 0xFF where bit j is set. */
static const uint32_t TB_DWBI_BYTES[16] = {
    0x00000000u, 0x000000FFu, 0x0000FF00u, 0x0000FFFFu, 0x00FF0000u, 0x00FF00FFu, 0x00FFFF00u,
    0x00FFFFFFu, 0xFF000000u, 0xFF0000FFu, 0xFF00FF00u, 0xFF00FFFFu, 0xFFFF0000u, 0xFFFF00FFu,
    0xFFFFFF00u, 0xFFFFFFFFu};

/* The byte mask of gradient elements gi .. gi + 3. */
static inline uint32_t tb_dwbi_pass4(const uint8_t *mask, int32_t gi)
{
    const int32_t b = gi >> 3, o = gi & 7;
    uint32_t bits = (uint32_t)mask[b] >> o;
    if (o > 4) { /* bit gi + 3 is in the next byte, which exists */
        bits |= (uint32_t)mask[b + 1] << (8 - o);
    }
    return TB_DWBI_BYTES[bits & 15u];
}

/* The widened filters of channels ch .. ch + 3: pw[2t] and pw[2t + 1] are tap t's weights of
 * the even (0, 2) and odd (1, 3) channels as halfword pairs (SXTB16 of tb_fast_dw_pack4's
 * word), so that a tap costs no widening of its weights. Widened in place from the last tap
 * down: word t is read before words 2t and 2t + 1 (>= t) are written. */
static void tb_dwbi_pack(const int8_t *w_train, const int8_t *w_frozen, int32_t k_train, int32_t ch,
                         int32_t kk, uint32_t *pw)
{
    int32_t t;
    tb_fast_dw_pack4(w_train, w_frozen, k_train, ch, kk, pw);
    for (t = kk - 1; t >= 0; t--) {
        const uint32_t w = pw[t];
        pw[2 * t + 1] = tb_dsp_sxtb16_ror8(w);
        pw[2 * t] = tb_dsp_sxtb16(w);
    }
}

/* Zero the border of k->border words around the outputs of the plane (k->pitch words a row),
 * once per call: the copies (tb_dwbi_plane) write only the outputs. */
static void tb_dwbi_border(const tb_dwbi_t *k, uint32_t *plane)
{
    const int32_t b = k->border, pitch = k->pitch;
    int32_t o, x;
    for (o = 0; o < pitch * b; o++) {
        plane[o] = 0;
        plane[(k->h_out + b) * pitch + o] = 0;
    }
    plane += b * pitch;
    for (o = 0; o < k->h_out; o++, plane += pitch) {
        for (x = 0; x < b; x++) {
            plane[x] = 0;
            plane[b + k->w_out + x] = 0;
        }
    }
}

/* The masked gradient words of channels ch .. ch + 3 at every output position into the plane's
 * outputs, row by row (one word per position instead of one per tap: each is read by several
 * taps). */
static void tb_dwbi_plane(const tb_dwbi_t *k, int32_t ch, uint32_t *plane)
{
    int32_t o, x, gi = ch;
    plane += k->border * k->pitch + k->border;
    for (o = 0; o < k->h_out; o++, plane += k->pitch) {
        for (x = 0; x < k->w_out; x++, gi += k->c) {
            uint32_t g = tb_dsp_read4(k->grad + gi);
            if (k->mask != NULL) {
                g &= tb_dwbi_pass4(k->mask, gi);
            }
            plane[x] = g;
        }
    }
}

/* The tap sums of channels ch .. ch + 3 at the current input position from gradient words
 * `step` bytes apart along a row, `row` bytes from one output row to the next (output (oy, ox) at
 * src + oy * row + ox * step), masked by the table when masked (src: the gradient at channel ch)
 * or not (src: that, or the plane without border); masked and step are constants at each call,
 * so each call site gets its own loop. */
static inline tb_fast_acc4_t tb_dwbi_sum4(const tb_dwbi_t *k, const int8_t *src, int32_t step, int32_t row,
                                          const uint32_t *pw, int32_t masked)
{
    const int32_t wstep = 2 * k->stride, span = k->nx * step;
    const uint32_t *wrow = pw + 2 * (k->ky0 * k->kernel + k->kx0);
    const int8_t *grow = src + k->oy0 * row + k->ox0 * step;
    const int8_t *const last = grow - k->ny * row;
    tb_fast_acc4_t acc = {0, 0, 0, 0};
    for (; grow != last; grow -= row, wrow += wstep * k->kernel) {
        const uint32_t *wr = wrow;
        const int8_t *gp = grow;
        const int8_t *const end = grow - span;
        for (; gp != end; gp -= step, wr += wstep) {
            uint32_t g = tb_dsp_read4(gp);
            if (masked) {
                g &= tb_dwbi_pass4(k->mask, (int32_t)(gp - k->grad));
            }
            acc = tb_fast_mac4(acc, tb_dsp_sxtb16(g), tb_dsp_sxtb16_ror8(g), wr[0], wr[1]);
        }
    }
    return acc;
}

/* The tap sums of a step of 4 channels at an input position all of whose taps of the same
 * parity as its first tap (ky0, kx0) (all taps for stride 1) read the bordered plane (zero words
 * outside the outputs): p is the word tap (ky0, kx0) reads, tap (ky0 + stride * r,
 * kx0 + stride * x) reads p[-r * pitch - x]. kernel, stride, ky0 and kx0 are constants at each
 * call: fully unrolled. */
static inline tb_fast_acc4_t tb_dwbi_window4(const uint32_t *p, int32_t pitch, const uint32_t *pw,
                                             int32_t kernel, int32_t stride, int32_t ky0, int32_t kx0)
{
    tb_fast_acc4_t acc = {0, 0, 0, 0};
    int32_t r, x;
#pragma GCC unroll 7
    for (r = 0; ky0 + stride * r < kernel; r++, p -= pitch) {
#pragma GCC unroll 7
        for (x = 0; kx0 + stride * x < kernel; x++) {
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
            /* the three loads first (pipelined), as memory operands: gcc forms their addresses
             * (immediate offsets once unrolled) and would otherwise spill */
            const uint32_t *w = pw + 2 * ((ky0 + stride * r) * kernel + kx0 + stride * x);
            uint32_t g, go, we, wo;
            __asm("ldr %[g], %[gm]\n\t"
                  "ldr %[we], %[wem]\n\t"
                  "ldr %[wo], %[wom]\n\t"
                  "sxtb16 %[go], %[g], ror #8\n\t"
                  "sxtb16 %[g], %[g]\n\t"
                  "smlabb %[a0], %[g], %[we], %[a0]\n\t"
                  "smlatt %[a2], %[g], %[we], %[a2]\n\t"
                  "smlabb %[a1], %[go], %[wo], %[a1]\n\t"
                  "smlatt %[a3], %[go], %[wo], %[a3]\n\t"
                  : [g] "=&r"(g), [go] "=&r"(go), [we] "=&r"(we), [wo] "=&r"(wo), [a0] "+r"(acc.a0),
                    [a1] "+r"(acc.a1), [a2] "+r"(acc.a2), [a3] "+r"(acc.a3)
                  : [gm] "m"(p[-x]), [wem] "m"(w[0]), [wom] "m"(w[1]));
#else
            const uint32_t g = p[-x];
            const uint32_t *w = pw + 2 * ((ky0 + stride * r) * kernel + kx0 + stride * x);
            acc = tb_fast_mac4(acc, tb_dsp_sxtb16(g), tb_dsp_sxtb16_ror8(g), w[0], w[1]);
#endif
        }
    }
    return acc;
}

/* tb_dwbi_window4 for the kernels and strides that have a bordered plane, at the first taps
 * (ky0, kx0) of the position's parities (0, 0 for stride 1). */
static tb_fast_acc4_t tb_dwbi_windows(const tb_dwbi_t *k, const uint32_t *p, const uint32_t *pw, int32_t ky0,
                                      int32_t kx0)
{
    const int32_t pitch = k->pitch;
    if (k->stride == 1) {
        return k->kernel == 3 ? tb_dwbi_window4(p, pitch, pw, 3, 1, 0, 0) : tb_dwbi_window4(p, pitch, pw, 5, 1, 0, 0);
    }
    switch (k->kernel * 4 + ky0 * 2 + kx0) {
    case 12:
        return tb_dwbi_window4(p, pitch, pw, 3, 2, 0, 0);
    case 13:
        return tb_dwbi_window4(p, pitch, pw, 3, 2, 0, 1);
    case 14:
        return tb_dwbi_window4(p, pitch, pw, 3, 2, 1, 0);
    case 15:
        return tb_dwbi_window4(p, pitch, pw, 3, 2, 1, 1);
    case 28:
        return tb_dwbi_window4(p, pitch, pw, 7, 2, 0, 0);
    case 29:
        return tb_dwbi_window4(p, pitch, pw, 7, 2, 0, 1);
    case 30:
        return tb_dwbi_window4(p, pitch, pw, 7, 2, 1, 0);
    default:
        return tb_dwbi_window4(p, pitch, pw, 7, 2, 1, 1);
    }
}

/* The masked tap sum of channel ch (filter f) at the current input position. */
static int32_t tb_dwbi_sum1(const tb_dwbi_t *k, const int8_t *f, int32_t ch)
{
    int32_t a, b, acc = 0;
    for (a = 0; a < k->ny; a++) {
        const int8_t *wr = f + (k->ky0 + a * k->stride) * k->kernel + k->kx0;
        int32_t gi = ((k->oy0 - a) * k->w_out + k->ox0) * k->c + ch;
        for (b = 0; b < k->nx; b++, gi -= k->c, wr += k->stride) {
            if (tb_nn_mask_get(k->mask, gi)) {
                acc += k->grad[gi] * *wr;
            }
        }
    }
    return acc;
}

/* round_shift(acc * f, n) of the channels of a step (factors f <= 2^15) in 32 bits, for
 * n >= 18: with h = floor(acc * m / 2^32) (one SMMUL) it is (h + r) >> t, for m = f * 2^(33 - n)
 * (at most 2^31 - 2^16 for n >= 18), r = 1, t = 1 up to n = 32, and m = f, t = n - 32,
 * r = 2^(t - 1) from 33 on: floor((floor(x / 2^32) + r) / 2^t) = floor((x + r * 2^32) / 2^(32 + t))
 * for any integer x, as r * 2^32 is a multiple of 2^32. t = 0: n < 18, no such form. */
typedef struct {
    int32_t m[4];
    int32_t r, t;
} tb_dwbi_q_t;

static inline tb_dwbi_q_t tb_dwbi_q_init(const int32_t *f, int32_t nb, int32_t n)
{
    tb_dwbi_q_t q;
    int32_t j;
    q.t = n < 18 ? 0 : (n <= 32 ? 1 : n - 32);
    q.r = q.t > 0 ? (int32_t)1 << (q.t - 1) : 0;
    for (j = 0; j < nb; j++) {
        q.m[j] = q.t == 0 ? 0 : (n <= 32 ? f[j] << (33 - n) : f[j]);
    }
    return q;
}

static inline int32_t tb_dwbi_requant(const tb_dwbi_q_t *q, int32_t acc, int32_t j)
{
    return ((int32_t)(((int64_t)acc * q->m[j]) >> 32) + q->r) >> q->t;
}

/* 1 when v lies in [-127, 127]. */
static inline int32_t tb_dwbi_fits(int32_t v)
{
    return (uint32_t)(v + TB_NN_GRAD_MAX) <= 2u * TB_NN_GRAD_MAX;
}

/* out[j] = tb_dwbi_requant(q, acc[j], j) for the 4 channels of a group and 1 when all of them
 * fit; else 0, out unchanged. On DSP cores in assembly: four SMMUL, an add and a shift each,
 * the bounds test by one unsigned compare each (gcc spills the multipliers in the kernel's loop). */
static inline int32_t tb_dwbi_write4(const tb_dwbi_q_t *q, const int32_t *acc, int8_t *out)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    int32_t v0 = acc[0], v1 = acc[1], v2 = acc[2], v3 = acc[3], t0, ok;
    __asm volatile(
        "ldr %[t0], [%[q], #0]\n\t"
        "smmul %[v0], %[v0], %[t0]\n\t"
        "ldr %[t0], [%[q], #4]\n\t"
        "smmul %[v1], %[v1], %[t0]\n\t"
        "ldr %[t0], [%[q], #8]\n\t"
        "smmul %[v2], %[v2], %[t0]\n\t"
        "ldr %[t0], [%[q], #12]\n\t"
        "smmul %[v3], %[v3], %[t0]\n\t"
        "ldr %[t0], [%[q], #16]\n\t"
        "ldr %[ok], [%[q], #20]\n\t"
        "add %[v0], %[v0], %[t0]\n\t"
        "add %[v1], %[v1], %[t0]\n\t"
        "add %[v2], %[v2], %[t0]\n\t"
        "add %[v3], %[v3], %[t0]\n\t"
        "asr %[v0], %[v0], %[ok]\n\t"
        "asr %[v1], %[v1], %[ok]\n\t"
        "asr %[v2], %[v2], %[ok]\n\t"
        "asr %[v3], %[v3], %[ok]\n\t"
        "movs %[ok], #0\n\t"
        "add %[t0], %[v0], #127\n\t"
        "cmp %[t0], #254\n\t"
        "bhi 1f\n\t"
        "add %[t0], %[v1], #127\n\t"
        "cmp %[t0], #254\n\t"
        "bhi 1f\n\t"
        "add %[t0], %[v2], #127\n\t"
        "cmp %[t0], #254\n\t"
        "bhi 1f\n\t"
        "add %[t0], %[v3], #127\n\t"
        "cmp %[t0], #254\n\t"
        "bhi 1f\n\t"
        "strb %[v0], [%[out]]\n\t"
        "strb %[v1], [%[out], #1]\n\t"
        "strb %[v2], [%[out], #2]\n\t"
        "strb %[v3], [%[out], #3]\n\t"
        "movs %[ok], #1\n\t"
        "1:\n\t"
        : [v0] "+r"(v0), [v1] "+r"(v1), [v2] "+r"(v2), [v3] "+r"(v3), [t0] "=&r"(t0), [ok] "=&r"(ok)
        : [q] "r"(q), [out] "r"(out)
        : "cc", "memory");
    return ok;
#else
    const int32_t v0 = tb_dwbi_requant(q, acc[0], 0), v1 = tb_dwbi_requant(q, acc[1], 1);
    const int32_t v2 = tb_dwbi_requant(q, acc[2], 2), v3 = tb_dwbi_requant(q, acc[3], 3);
    if (!(tb_dwbi_fits(v0) & tb_dwbi_fits(v1) & tb_dwbi_fits(v2) & tb_dwbi_fits(v3))) {
        return 0;
    }
    out[0] = (int8_t)v0;
    out[1] = (int8_t)v1;
    out[2] = (int8_t)v2;
    out[3] = (int8_t)v3;
    return 1;
#endif
}

/* The positions of a group with stride 1, a bordered plane and a shift of 18 or more (most of
 * the models' calls) from the first on, in one tight loop of whole windows (kernel a constant) and
 * the 32-bit requantization: the general loop of tb_dwbi_channels spends more on a position's
 * bookkeeping than on its taps. Returns the first position whose outputs do not fit (h_in * w_in
 * when all fit), from which tb_dwbi_channels goes on. */
static inline int32_t tb_dwbi_rows_s1_k(const tb_dwbi_t *k, int32_t ch, const uint32_t *pw, const uint32_t *plane,
                                        const tb_dwbi_q_t *q, int32_t kernel)
{
    const int32_t pitch = k->pitch, c = k->c, w_in = k->w_in, edge = kernel / 2 + k->border;
    int8_t *out = k->grad_in + ch;
    int32_t iy, ix;
    for (iy = 0; iy < k->h_in; iy++) {
        const uint32_t *p = plane + (iy + edge) * pitch + edge;
        for (ix = 0; ix < w_in; ix++, p++, out += c) {
            const tb_fast_acc4_t a4 = tb_dwbi_window4(p, pitch, pw, kernel, 1, 0, 0);
            const int32_t acc[4] = {a4.a0, a4.a1, a4.a2, a4.a3};
            if (!tb_dwbi_write4(q, acc, out)) {
                return iy * w_in + ix;
            }
        }
    }
    return k->h_in * w_in;
}

static __attribute__((noinline)) int32_t tb_dwbi_rows_s1(const tb_dwbi_t *k, int32_t ch, const uint32_t *pw,
                                                         const uint32_t *plane, const tb_dwbi_q_t *q)
{
    return k->kernel == 3 ? tb_dwbi_rows_s1_k(k, ch, pw, plane, q, 3) : tb_dwbi_rows_s1_k(k, ch, pw, plane, q, 5);
}

/* The outputs of channels ch .. ch + nb - 1 (nb = 4: a group, its filters widened in pw and, when
 * plane is not NULL, its masked gradient there; nb = 1: channel ch alone, filter f) at the shift
 * s: 1 when all of them fit it; else 0 as soon as one does not, s grown to the smallest shift
 * that fits that accumulator (the step is then computed again from its start). */
static __attribute__((noinline)) int32_t tb_dwbi_channels(tb_dwbi_t *k, int32_t ch, int32_t nb, const uint32_t *pw, const int8_t *f,
                                const uint32_t *plane, tb_fast_shift_t *s)
{
    const tb_dwbi_q_t q = tb_dwbi_q_init(k->w_factor + ch, nb, s->n);
    const int32_t pad = k->kernel / 2, b = k->border, s2 = k->stride == 2;
    int32_t iy, ix, j, start = 0;
    if (nb == 4 && b > 0 && k->stride == 1 && q.t > 0) {
        start = tb_dwbi_rows_s1(k, ch, pw, plane, &q);
        if (start == k->h_in * k->w_in) {
            return 1;
        }
    }
    iy = 0;
    if (start > 0) { /* the position where the tight loop stopped: its row, then its column */
        iy = start / k->w_in;
        start -= iy * k->w_in;
    }
    for (; iy < k->h_in; iy++, start = 0) {
        /* the first tap row of the row's parity and the plane row it reads */
        const int32_t wy0 = s2 & (iy + pad), wrow = ((iy + pad) >> s2) + b;
        tb_fast_tap_gather(iy, k->stride, k->kernel, k->h_out, &k->ky0, &k->ny, &k->oy0);
        for (ix = start; ix < k->w_in; ix++) {
            int32_t acc[4];
            tb_fast_acc4_t a4;
            int8_t *out = k->grad_in + (iy * k->w_in + ix) * k->c + ch;
            if (nb == 4) {
                if (b > 0) {
                    const int32_t wx0 = s2 & (ix + pad);
                    a4 = tb_dwbi_windows(k, plane + wrow * k->pitch + ((ix + pad) >> s2) + b, pw, wy0, wx0);
                } else {
                    tb_fast_tap_gather(ix, k->stride, k->kernel, k->w_out, &k->kx0, &k->nx, &k->ox0);
                    if (plane != NULL) {
                        a4 = tb_dwbi_sum4(k, (const int8_t *)plane, 4, 4 * k->pitch, pw, 0);
                    } else if (k->mask != NULL) {
                        a4 = tb_dwbi_sum4(k, k->grad + ch, k->c, k->w_out * k->c, pw, 1);
                    } else {
                        a4 = tb_dwbi_sum4(k, k->grad + ch, k->c, k->w_out * k->c, pw, 0);
                    }
                }
                acc[0] = a4.a0;
                acc[1] = a4.a1;
                acc[2] = a4.a2;
                acc[3] = a4.a3;
            } else {
                tb_fast_tap_gather(ix, k->stride, k->kernel, k->w_out, &k->kx0, &k->nx, &k->ox0);
                acc[0] = tb_dwbi_sum1(k, f, ch);
            }
            if (q.t > 0 && nb == 4) {
                if (tb_dwbi_write4(&q, acc, out)) {
                    continue;
                }
            } else if (q.t > 0) {
                const int32_t v = tb_dwbi_requant(&q, acc[0], 0);
                if (tb_dwbi_fits(v)) {
                    out[0] = (int8_t)v;
                    continue;
                }
            }
            for (j = 0; j < nb; j++) {
                const int64_t a = (int64_t)acc[j] * k->w_factor[ch + j];
                if (!tb_fast_shift_fits(s, a)) {
                    tb_fast_shift_set(s, tb_fast_shift_for(a, s->n));
                    return 0;
                }
                out[j] = tb_fast_shift_apply(s, a);
            }
        }
    }
    return 1;
}

/* The groups taken first: the TB_DWBI_TOP (or all, if fewer) with the largest key, largest
 * first, the first of equal keys first, into top; returns how many. A group's key is the largest
 * over its channels of w_factor x the sum of |gradient| over the output plane (unmasked): the
 * groups most likely to need the final shift, so that it grows early and few steps are written
 * again. Only for planes that fit TB_DWBI_PLANE (sums below 2^15, keys below 2^30). */
static int32_t tb_dwbi_top(const tb_dwbi_t *k, int32_t c4, int32_t *top)
{
    int32_t key[TB_DWBI_TOP];
    int32_t g, n = 0, j, o;
    for (g = 0; g < c4 / 4; g++) {
        const int8_t *gp = k->grad + 4 * g;
        int32_t best = 0;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
        uint32_t even = 0, odd = 0; /* |g| of channels 0, 2 and 1, 3 in halfword lanes */
        for (o = 0; o < k->h_out * k->w_out; o++, gp += k->c) {
            uint32_t t, a;
            __asm("ssub8 %[t], %[zero], %[g]\n\t"
                  "sel %[a], %[t], %[g]\n\t"
                  "uxtab16 %[e], %[e], %[a]\n\t"
                  "uxtab16 %[o], %[o], %[a], ror #8\n\t"
                  : [t] "=&r"(t), [a] "=&r"(a), [e] "+r"(even), [o] "+r"(odd)
                  : [g] "r"(tb_dsp_read4(gp)), [zero] "r"(0u)
                  : "cc");
        }
        {
            const int32_t sum[4] = {(int32_t)(even & 0xFFFFu), (int32_t)(odd & 0xFFFFu), (int32_t)(even >> 16),
                                    (int32_t)(odd >> 16)};
#else
        int32_t sum[4] = {0, 0, 0, 0};
        for (o = 0; o < k->h_out * k->w_out; o++, gp += k->c) {
            for (j = 0; j < 4; j++) {
                sum[j] += gp[j] < 0 ? -gp[j] : gp[j];
            }
        }
        {
#endif
            for (j = 0; j < 4; j++) {
                const int32_t v = k->w_factor[4 * g + j] * sum[j];
                best = v > best ? v : best;
            }
        }
        if (n < TB_DWBI_TOP || best > key[n - 1]) {
            for (j = n < TB_DWBI_TOP ? n++ : n - 1; j > 0 && key[j - 1] < best; j--) {
                key[j] = key[j - 1];
                top[j] = top[j - 1];
            }
            key[j] = best;
            top[j] = g;
        }
    }
    return n;
}

/* 1 when group g is among the first n of top. */
static inline int32_t tb_dwbi_in_top(const int32_t *top, int32_t n, int32_t g)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        if (top[i] == g) {
            return 1;
        }
    }
    return 0;
}

/* One step: channels ch .. ch + nb - 1 (filters packed and widened into pw and, with a plane,
 * the masked gradient of a group copied into it) written at the shift s, run again as long as
 * the shift grows; 0 when it grew. */
static int32_t tb_dwbi_step(tb_dwbi_t *k, int32_t ch, int32_t nb, uint32_t *pw, uint32_t *plane_words,
                            int32_t in_plane, tb_fast_shift_t *s)
{
    const int32_t kk = k->kernel * k->kernel;
    const int8_t *f = tb_fast_dw_filter(k->w_train, k->w_frozen, k->k_train, ch, kk);
    const uint32_t *plane = in_plane ? plane_words : NULL;
    int32_t same = 1;
    if (nb == 4) {
        tb_dwbi_pack(k->w_train, k->w_frozen, k->k_train, ch, kk, pw);
        if (in_plane) {
            tb_dwbi_plane(k, ch, plane_words);
        }
    }
    while (!tb_dwbi_channels(k, ch, nb, pw, f, plane, s)) {
        same = 0;
    }
    return same;
}

/* The channels from ch on that one step takes: a group of 4 below c4, else one. */
static inline int32_t tb_dwbi_width(int32_t ch, int32_t c4)
{
    return ch < c4 ? 4 : 1;
}

int32_t tb_depthwise_bwd_input_s8(const int8_t *grad, int32_t e_grad, const uint8_t *mask,
                                  int32_t h_in, int32_t w_in, int32_t c,
                                  const int8_t *w_train, const int8_t *w_frozen,
                                  int32_t k_train, int32_t kernel, int32_t stride,
                                  const int32_t *w_factor, int32_t w_exp, int8_t *grad_in)
{
    const int32_t c4 = kernel <= TB_FAST_DW_MAX_K ? c & ~3 : 0; /* channels taken 4 at a time */
    uint32_t pw[2 * TB_FAST_DW_MAX_K * TB_FAST_DW_MAX_K];
    uint32_t plane_words[TB_DWBI_PLANE];
    const uint32_t *plane;
    tb_fast_shift_t s;
    tb_dwbi_t k;
    int32_t top[TB_DWBI_TOP];
    int32_t p, ch, ntop, redo = 0;
    k.grad = grad;
    k.mask = mask;
    k.w_train = w_train;
    k.w_frozen = w_frozen;
    k.k_train = k_train;
    k.w_factor = w_factor;
    k.grad_in = grad_in;
    k.c = c;
    k.kernel = kernel;
    k.stride = stride;
    k.h_in = h_in;
    k.w_in = w_in;
    k.h_out = (h_in + stride - 1) / stride;
    k.w_out = (w_in + stride - 1) / stride;
    /* whole windows: stride 1 with kernels 3 and 5 (border k / 2), stride 2 with kernels 3 and 7
     * (border k / 4 + 1 covers the taps of every parity above and below the outputs) */
    if (stride == 1 && (kernel == 3 || kernel == 5)) {
        k.border = kernel / 2;
    } else if (stride == 2 && (kernel == 3 || kernel == 7)) {
        k.border = kernel / 4 + 1;
    } else {
        k.border = 0;
    }
    k.pitch = k.w_out + 2 * k.border;
    if ((k.h_out + 2 * k.border) * k.pitch > TB_DWBI_PLANE) { /* taps straight from the gradient */
        k.border = 0;
        k.pitch = k.w_out;
        plane = NULL;
    } else {
        plane = plane_words;
    }
    ntop = 0;
    if (plane != NULL) {
        tb_dwbi_border(&k, plane_words);
        ntop = tb_dwbi_top(&k, c4, top);
    }
    tb_fast_shift_set(&s, 0);
    /* Pass 0 writes every step (the groups of `top` first, then the others in order) at the
     * shift that fits the accumulators so far (a step that grows it starts again); pass 1 writes
     * again, at the final shift, the steps taken before the last growth (step `redo` and those
     * after it already have it). */
    for (p = 0; p < 2; p++) {
        const int32_t end = p == 0 ? INT32_MAX : redo;
        int32_t i, step = 0;
        for (i = 0; i < ntop && step < end; i++, step++) {
            if (!tb_dwbi_step(&k, 4 * top[i], 4, pw, plane_words, plane != NULL, &s)) {
                redo = step;
            }
        }
        for (ch = 0; ch < c && step < end; ch += tb_dwbi_width(ch, c4)) {
            if (ch < c4 && tb_dwbi_in_top(top, ntop, ch / 4)) {
                continue;
            }
            if (!tb_dwbi_step(&k, ch, tb_dwbi_width(ch, c4), pw, plane_words, plane != NULL, &s)) {
                redo = step;
            }
            step++;
        }
    }
    return e_grad + w_exp + s.n;
}
