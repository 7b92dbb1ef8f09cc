/* tb_depthwise_fwd_s8, fast: same results as src/Convolution/tb_depthwise_fwd_s8.c.
 *
 * Channels in blocks of 4. A block whose shifts all exceed 32 is a group: one word of the HWC
 * input holds its 4 channels at a tap, its filters are widened once to the two halfword pairs
 * of each tap (tb_dwf_pack), and each tap is four 16 x 16 multiply-accumulates (SXTAB16 with
 * the zero point, SMLABB/SMLATT; in assembly on DSP cores, where gcc would spill).
 * Per output row the tap rows come from one tap range and the columns split into the left edge
 * windows, the interior ones (every tap column inside) and the right edge ones: an interior
 * window with every tap row inside, or all but one, runs its taps straight (kernels 3, 5, 7),
 * the others row by row; edge windows loop over their rows in assembly, each row's taps
 * unrolled for its length. A window's 4 sums are requantized in one assembly block (QADD,
 * SMMUL, shift, USAT with the last shift folded in: tb_dwf_q_t), stored as one word, their 4
 * mask bits or-ed in at once (mask cleared first). Without a mask, a row's whole interior
 * windows are one assembly loop with their stores, the bias and the zero point folded into the
 * sums' start (tb_dwf_run_t). The other blocks, the last c % 4 channels and every channel of
 * kernels above 7 go one channel at a time with the same tap ranges. Each output keeps its own
 * int32 sum of the same products (a folded start adds the same terms mod 2^32), so the order
 * changes no byte. */
#include "tb_kernels.h"
#include "Internal/tb_nn_fast.h"

/* Inlined whatever its size: the interior loops need their constant kernel and the store
 * its registers. */
#define TB_DWF_INLINE inline __attribute__((always_inline))

/* What every window of a call shares. */
typedef struct {
    const int8_t *x;
    int32_t h_in, w_in, c, kernel, stride, pad, h_out, w_out;
    int32_t x_zero, kq; /* 1 + 2 (y_zero + 128): tb_dwf_store4's k */
    uint32_t zp;          /* the halfword pair of -x_zero */
    int32_t ox_lo, ox_hi; /* the output columns whose taps all lie inside along x */
    int8_t *y;
    uint8_t *mask;
} tb_dwf_t;

/* acc_j += (x_j - x_zero) * w_j for the 4 channels j of the input word at xr and the tap's
 * widened weights w (w[0]: channels 0 and 2, w[1]: 1 and 3). */
static inline tb_fast_acc4_t tb_dwf_tap(tb_fast_acc4_t acc, const int8_t *xr, const uint32_t *w, uint32_t zp)
{
    const uint32_t v = tb_dsp_read4(xr);
    return tb_fast_mac4(acc, tb_dsp_sxtab16(zp, v), tb_dsp_sxtab16_ror8(zp, v), w[0], w[1]);
}

/* The widened filters of the group ch, 2 words per tap as tb_dwf_tap reads them (the
 * halfword pairs SXTB16 makes of a word of tb_fast_dw_pack4's layout): channels 0 and 2, then
 * 1 and 3; a group that straddles k_train takes each channel's filter from its part. */
static void tb_dwf_pack(const int8_t *w_train, const int8_t *w_frozen, int32_t k_train, int32_t ch, int32_t kk,
                        uint32_t *pack)
{
    const int8_t *f0 = tb_fast_dw_filter(w_train, w_frozen, k_train, ch, kk);
    const int8_t *f1 = tb_fast_dw_filter(w_train, w_frozen, k_train, ch + 1, kk);
    const int8_t *f2 = tb_fast_dw_filter(w_train, w_frozen, k_train, ch + 2, kk);
    const int8_t *f3 = tb_fast_dw_filter(w_train, w_frozen, k_train, ch + 3, kk);
    int32_t t;
    for (t = 0; t < kk; t++) {
        pack[2 * t] = ((uint32_t)f0[t] & 0xFFFFu) | ((uint32_t)f2[t] << 16);
        pack[2 * t + 1] = ((uint32_t)f1[t] & 0xFFFFu) | ((uint32_t)f3[t] << 16);
    }
}

/* The 4 filters' sums (channels 0 .. 3) from the widened pack of kk taps. */
static void tb_dwf_sums(const uint32_t *pack, int32_t kk, int32_t *sums)
{
    int32_t t, s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (t = 0; t < kk; t++) {
        s0 += tb_dsp_lo(pack[2 * t]);
        s2 += tb_dsp_hi(pack[2 * t]);
        s1 += tb_dsp_lo(pack[2 * t + 1]);
        s3 += tb_dsp_hi(pack[2 * t + 1]);
    }
    sums[0] = s0;
    sums[1] = s1;
    sums[2] = s2;
    sums[3] = s3;
}

/* The sums of channels ch .. ch + 3 over ny rows of nx taps (nx in 1 .. 7): xp is the group's
 * word at the first tap, wp that tap's widened weights; the tap rows lie `row` bytes apart in x,
 * 2 kernel words apart in the pack. Each row enters an unrolled run of taps at its length and
 * walks the row backwards. */
static inline tb_fast_acc4_t tb_dwf_taps4(const int8_t *xp, const uint32_t *wp, int32_t ny,
                                          int32_t nx, int32_t row, int32_t c, int32_t kernel,
                                          uint32_t zp)
{
    tb_fast_acc4_t acc = {0, 0, 0, 0};
    int32_t a;
    xp += (nx - 1) * c;
    for (a = 0; a < ny; a++, xp += row, wp += 2 * kernel) {
        const int8_t *xr = xp;
        switch (nx) {
        case 7:
            acc = tb_dwf_tap(acc, xr, wp + 12, zp);
            xr -= c;
            /* fall through */
        case 6:
            acc = tb_dwf_tap(acc, xr, wp + 10, zp);
            xr -= c;
            /* fall through */
        case 5:
            acc = tb_dwf_tap(acc, xr, wp + 8, zp);
            xr -= c;
            /* fall through */
        case 4:
            acc = tb_dwf_tap(acc, xr, wp + 6, zp);
            xr -= c;
            /* fall through */
        case 3:
            acc = tb_dwf_tap(acc, xr, wp + 4, zp);
            xr -= c;
            /* fall through */
        case 2:
            acc = tb_dwf_tap(acc, xr, wp + 2, zp);
            xr -= c;
            /* fall through */
        default:
            acc = tb_dwf_tap(acc, xr, wp + 0, zp);
            break;
        }
    }
    return acc;
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* One tap in assembly: tb_dwf_tap, xr and wr stepped on to the next tap. */
#define TB_DWF_TAP                                                                            \
    "ldr %[v], [%[xr]]\n\t"                                                                   \
    "ldr %[u], [%[wr]], #4\n\t"                                                               \
    "ldr %[w], [%[wr]], #4\n\t"                                                               \
    "add %[xr], %[xr], %[c]\n\t"                                                              \
    "sxtab16 %[t], %[zp], %[v]\n\t"                                                           \
    "sxtab16 %[v], %[zp], %[v], ror #8\n\t"                                                   \
    "smlabb %[a0], %[t], %[u], %[a0]\n\t"                                                     \
    "smlatt %[a2], %[t], %[u], %[a2]\n\t"                                                     \
    "smlabb %[a1], %[v], %[w], %[a1]\n\t"                                                     \
    "smlatt %[a3], %[v], %[w], %[a3]\n\t"
/* tb_dwf_whole_run's tap: the input widened without the zero point (folded into the start). */
#define TB_DWF_RTAP                                                                           \
    "ldr %[v], [%[xr]]\n\t"                                                                   \
    "ldr %[u], [%[wr]], #4\n\t"                                                               \
    "ldr %[w], [%[wr]], #4\n\t"                                                               \
    "add %[xr], %[xr], %[c]\n\t"                                                              \
    "sxtb16 %[t], %[v]\n\t"                                                                   \
    "sxtb16 %[v], %[v], ror #8\n\t"                                                           \
    "smlabb %[a0], %[t], %[u], %[a0]\n\t"                                                     \
    "smlatt %[a2], %[t], %[u], %[a2]\n\t"                                                     \
    "smlabb %[a1], %[v], %[w], %[a1]\n\t"                                                     \
    "smlatt %[a3], %[v], %[w], %[a3]\n\t"
#define TB_DWF_X2(x) x x
#define TB_DWF_X3(x) TB_DWF_X2(x) x
#define TB_DWF_X5(x) TB_DWF_X3(x) TB_DWF_X2(x)
#define TB_DWF_X7(x) TB_DWF_X5(x) TB_DWF_X2(x)
#define TB_DWF_TAPS2 TB_DWF_X2(TB_DWF_TAP)
#define TB_DWF_TAPS3 TB_DWF_X3(TB_DWF_TAP)
#define TB_DWF_TAPS4 TB_DWF_X2(TB_DWF_TAPS2)
#define TB_DWF_TAPS5 TB_DWF_X5(TB_DWF_TAP)
#define TB_DWF_TAPS6 TB_DWF_X3(TB_DWF_TAPS2)
#define TB_DWF_TAPS7 TB_DWF_X7(TB_DWF_TAP)
/* A row of taps of a whole window, then the step to the next row. */
#define TB_DWF_ROW(taps) taps "add %[xr], %[xr], %[skip]\n\t"
/* The operands every tap writes (x, wv: the input and weight pointers, advanced). */
#define TB_DWF_OUTPUTS(x, wv)                                                                 \
    : [a0] "+r"(acc.a0), [a1] "+r"(acc.a1), [a2] "+r"(acc.a2), [a3] "+r"(acc.a3), [xr] "+r"(x), \
      [wr] "+r"(wv), [v] "=&r"(v), [w] "=&r"(w), [t] "=&r"(t), [u] "=&r"(u)
/* The taps of a whole window (rows: its rows, unrolled). */
#define TB_DWF_ASM(rows)                                                                      \
    __asm volatile(rows TB_DWF_OUTPUTS(xp, wp)                                              \
                   : [c] "r"(c), [skip] "r"(row - kernel * c), [zp] "r"(zp)                   \
                   : "memory")
/* The taps of one row. */
#define TB_DWF_ASM_ROW(taps)                                                                  \
    __asm volatile(taps TB_DWF_OUTPUTS(xr, wr) : [c] "r"(c), [zp] "r"(zp) : "memory")
/* The ny rows (at least one) of nx taps: a loop in assembly over the rows, each its taps
 * straight, then the steps to the next row (xs, ws: what the taps leave of the input row and
 * of the filter row) and the count of rows left, in memory, as every register is taken. */
#define TB_DWF_ASM_ROWS(taps)                                                                 \
    __asm volatile("1:\n\t" taps                                                              \
                   "ldr %[t], %[xs]\n\t"                                                      \
                   "ldr %[u], %[ws]\n\t"                                                      \
                   "add %[xr], %[xr], %[t]\n\t"                                               \
                   "add %[wr], %[wr], %[u]\n\t"                                               \
                   "ldr %[t], %[n]\n\t"                                                       \
                   "subs %[t], %[t], #1\n\t"                                                  \
                   "str %[t], %[n]\n\t"                                                       \
                   "bne 1b\n\t"                                                               \
                   TB_DWF_OUTPUTS(xp, wp), [n] "+m"(ny)                                       \
                   : [c] "r"(c), [zp] "r"(zp), [xs] "m"(xs), [ws] "m"(ws)                     \
                   : "cc", "memory")
#endif

/* tb_dwf_taps4 (nx in 1 .. 7), on DSP cores in assembly, a loop over the rows per nx (only
 * in tb_dwf_edges4: in the interior copies gcc finds no registers for it). */
static TB_DWF_INLINE tb_fast_acc4_t tb_dwf_span4(const int8_t *xp, const uint32_t *wp, int32_t ny,
                                                 int32_t nx, int32_t row, int32_t c, int32_t kernel,
                                                 uint32_t zp)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    tb_fast_acc4_t acc = {0, 0, 0, 0};
    const int32_t xs = row - nx * c, ws = (kernel - nx) * 8;
    uint32_t v, w, t, u;
    switch (nx) {
    case 7:
        TB_DWF_ASM_ROWS(TB_DWF_TAPS7);
        break;
    case 6:
        TB_DWF_ASM_ROWS(TB_DWF_TAPS6);
        break;
    case 5:
        TB_DWF_ASM_ROWS(TB_DWF_TAPS5);
        break;
    case 4:
        TB_DWF_ASM_ROWS(TB_DWF_TAPS4);
        break;
    case 3:
        TB_DWF_ASM_ROWS(TB_DWF_TAPS3);
        break;
    case 2:
        TB_DWF_ASM_ROWS(TB_DWF_TAPS2);
        break;
    default:
        TB_DWF_ASM_ROWS(TB_DWF_TAP);
        break;
    }
    return acc;
#else
    return tb_dwf_taps4(xp, wp, ny, nx, row, c, kernel, zp);
#endif
}

/* The sums of channels ch .. ch + 3 over ny rows of a window with every tap column inside (xp,
 * wp: its first tap; kernel: a constant at each call site): for ny = kernel (every tap
 * inside) or kernel - 1 the taps straight, in assembly for 3, 5 and 7 on DSP cores, for
 * fewer rows each row straight; else tb_dwf_taps4. */
static TB_DWF_INLINE tb_fast_acc4_t tb_dwf_rows4(const int8_t *xp, const uint32_t *wp, int32_t ny,
                                                 int32_t row, int32_t c, int32_t kernel, uint32_t zp)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    tb_fast_acc4_t acc = {0, 0, 0, 0};
    uint32_t v, w, t, u;
    if (kernel == 3 && ny == 3) {
        TB_DWF_ASM(TB_DWF_ROW(TB_DWF_TAPS3) TB_DWF_ROW(TB_DWF_TAPS3) TB_DWF_ROW(TB_DWF_TAPS3));
        return acc;
    }
    if (kernel == 5 && ny == 5) {
        TB_DWF_ASM(TB_DWF_ROW(TB_DWF_TAPS5) TB_DWF_ROW(TB_DWF_TAPS5) TB_DWF_ROW(TB_DWF_TAPS5)
                   TB_DWF_ROW(TB_DWF_TAPS5) TB_DWF_ROW(TB_DWF_TAPS5));
        return acc;
    }
    if (kernel == 7 && ny == 7) {
        TB_DWF_ASM(TB_DWF_ROW(TB_DWF_TAPS7) TB_DWF_ROW(TB_DWF_TAPS7) TB_DWF_ROW(TB_DWF_TAPS7)
                   TB_DWF_ROW(TB_DWF_TAPS7) TB_DWF_ROW(TB_DWF_TAPS7) TB_DWF_ROW(TB_DWF_TAPS7)
                   TB_DWF_ROW(TB_DWF_TAPS7));
        return acc;
    }
    /* one tap row outside (the plane's first or last output rows): straight too */
    if (kernel == 3 && ny == 2) {
        TB_DWF_ASM(TB_DWF_ROW(TB_DWF_TAPS3) TB_DWF_ROW(TB_DWF_TAPS3));
        return acc;
    }
    if (kernel == 5 && ny == 4) {
        TB_DWF_ASM(TB_DWF_ROW(TB_DWF_TAPS5) TB_DWF_ROW(TB_DWF_TAPS5) TB_DWF_ROW(TB_DWF_TAPS5)
                   TB_DWF_ROW(TB_DWF_TAPS5));
        return acc;
    }
    if (kernel == 7 && ny == 6) {
        TB_DWF_ASM(TB_DWF_ROW(TB_DWF_TAPS7) TB_DWF_ROW(TB_DWF_TAPS7) TB_DWF_ROW(TB_DWF_TAPS7)
                   TB_DWF_ROW(TB_DWF_TAPS7) TB_DWF_ROW(TB_DWF_TAPS7) TB_DWF_ROW(TB_DWF_TAPS7));
        return acc;
    }
    if (kernel == 3 || kernel == 5 || kernel == 7) { /* the rows inside, each straight */
        const int8_t *xr;
        const uint32_t *wr;
        for (; ny > 0; ny--, xp += row, wp += 2 * kernel) {
            xr = xp;
            wr = wp;
            if (kernel == 3) {
                TB_DWF_ASM_ROW(TB_DWF_TAPS3);
            } else if (kernel == 5) {
                TB_DWF_ASM_ROW(TB_DWF_TAPS5);
            } else {
                TB_DWF_ASM_ROW(TB_DWF_TAPS7);
            }
        }
        return acc;
    }
#endif
    return tb_dwf_taps4(xp, wp, ny, kernel, row, c, kernel, zp);
}

/* The sum of one channel over ny x nx taps (xp, f: the first tap's input byte and weight). */
static inline int32_t tb_dwf_taps1(const int8_t *xp, const int8_t *f, int32_t ny, int32_t nx,
                                   int32_t row, int32_t c, int32_t kernel, int32_t x_zero)
{
    int32_t a, b, acc = 0;
    for (a = 0; a < ny; a++, xp += row, f += kernel) {
        for (b = 0; b < nx; b++) {
            acc += (xp[b * c] - x_zero) * f[b];
        }
    }
    return acc;
}

/* The requantization of a channel of a group (shift s above 32): bias, multiplier and
 * s - 33. With h = (sat(acc + bias) * m) >> 32 (the high word, exact as in tb_fast_requant),
 * the output plus 128 is ((h >> (s - 33)) + k) >> 1 with k = 1 + 2 (y_zero + 128): the floors
 * nest, and (y_zero + 128) * 2^(s-32) added before the shift by s - 32 is y_zero + 128 after
 * it (the form of tb_pointwise_fwd_s8). The last shift is folded into USAT and into the
 * comparison that gives the mask bit. */
typedef struct {
    int32_t bias, mult, tm1;
} tb_dwf_q_t;

/* A group's requantizations, with what the assembly run of whole interior windows
 * (tb_dwf_whole_run) reads from memory, as every register is taken by the taps. */
typedef struct {
    tb_dwf_q_t q[4]; /* first: the run reads q[j] at 12 j */
    /* fold: no mask, and every bias of the group folds (tb_dwf_fold_bias); then the run's sums
     * start at init = bias - x_zero * (the filter's sum), mod 2^32 (no zero point per tap, no
     * QADD); other groups take the C loop */
    int32_t fold, init[4];
    int32_t kq, c;
    int32_t skip, back; /* from a tap row's end to the next row's start; last row to next window */
    int8_t *y, *end;    /* the run's next output word and the end of the run */
} tb_dwf_run_t;

/* Outputs i .. i + 3 (channels ch .. ch + 3 of one position) from their sums: clamped to
 * [0, 255] plus 128 (USAT), packed into one word whose top bits flip back to int8, and 4 mask
 * bits (the last ones in the next mask byte when i % 8 > 4). On DSP cores the 4
 * requantizations are one assembly block, with the mask bits when a mask is given. */
static TB_DWF_INLINE void tb_dwf_store4(int8_t *y, uint8_t *mask, int32_t i, const tb_dwf_q_t *q, int32_t k,
                                        tb_fast_acc4_t acc)
{
    uint32_t word, bits = 0;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    int32_t b, m, t, u;
/* Channel j's output plus 128 in u, its accumulator a left as the value before the clamp
 * (times 2), then or-ed into the word (j > 0). */
#define TB_DWF_Q(a, j)                                                                        \
    "ldr %[b], [%[q], #" #j "*12]\n\t"                                                         \
    "ldr %[m], [%[q], #" #j "*12+4]\n\t"                                                       \
    "ldr %[t], [%[q], #" #j "*12+8]\n\t"                                                       \
    "qadd %[" #a "], %[" #a "], %[b]\n\t"                                                      \
    "smmul %[" #a "], %[" #a "], %[m]\n\t"                                                     \
    "asr %[" #a "], %[" #a "], %[t]\n\t"                                                       \
    "add %[" #a "], %[" #a "], %[k]\n\t"                                                       \
    "usat %[u], #8, %[" #a "], asr #1\n\t"
#define TB_DWF_BIT(a, j)                                                                      \
    "cmp %[u], %[" #a "], asr #1\n\t"                                                          \
    "it eq\n\t"                                                                               \
    "orreq %[bits], %[bits], #1<<" #j "\n\t"
#define TB_DWF_OR(j) "orr %[w], %[w], %[u], lsl #8*" #j "\n\t"
#define TB_DWF_QOUT                                                                           \
    : [a0] "+r"(acc.a0), [a1] "+r"(acc.a1), [a2] "+r"(acc.a2), [a3] "+r"(acc.a3), [w] "=&r"(word), \
      [bits] "+r"(bits), [b] "=&r"(b), [m] "=&r"(m), [t] "=&r"(t), [u] "=&r"(u)                 \
    : [q] "r"(q), [k] "r"(k)
    if (mask != NULL) {
        __asm(TB_DWF_Q(a0, 0) TB_DWF_BIT(a0, 0) "mov %[w], %[u]\n\t"
              TB_DWF_Q(a1, 1) TB_DWF_BIT(a1, 1) TB_DWF_OR(1)
              TB_DWF_Q(a2, 2) TB_DWF_BIT(a2, 2) TB_DWF_OR(2)
              TB_DWF_Q(a3, 3) TB_DWF_BIT(a3, 3) TB_DWF_OR(3)
              TB_DWF_QOUT : "cc");
    } else {
        __asm(TB_DWF_Q(a0, 0) "mov %[w], %[u]\n\t"
              TB_DWF_Q(a1, 1) TB_DWF_OR(1)
              TB_DWF_Q(a2, 2) TB_DWF_OR(2)
              TB_DWF_Q(a3, 3) TB_DWF_OR(3)
              TB_DWF_QOUT);
    }
#undef TB_DWF_Q
#undef TB_DWF_BIT
#undef TB_DWF_OR
#undef TB_DWF_QOUT
#else
    const int32_t a[4] = {acc.a0, acc.a1, acc.a2, acc.a3};
    int32_t j;
    word = 0;
    for (j = 0; j < 4; j++) {
        const int32_t v = ((int32_t)(((int64_t)tb_dsp_qadd(a[j], q[j].bias) * q[j].mult) >> 32) >> q[j].tm1) + k;
        const int32_t u = tb_dsp_usat8(v >> 1);
        word |= (uint32_t)u << (8 * j);
        bits |= (uint32_t)(u == (v >> 1)) << j;
    }
#endif
    word ^= 0x80808080u;
    __builtin_memcpy(y + i, &word, 4);
    if (mask != NULL) {
        uint8_t *mb = mask + (i >> 3);
        bits <<= i & 7;
        mb[0] = (uint8_t)(mb[0] | bits);
        if ((i & 7) > 4) { /* bit i + 3 is in the next byte, which exists */
            mb[1] = (uint8_t)(mb[1] | (bits >> 8));
        }
    }
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* The whole interior windows from xp (first tap; wp: the pack) to r->end of a group with
 * r->fold, each stored as tb_dwf_store4 stores without a mask: one assembly loop (kernel 3, 5
 * or 7, a constant). */
#define TB_DWF_RROW(taps) taps "ldr %[t], [%[s], %[skip]]\n\t" "add %[xr], %[xr], %[t]\n\t"
#define TB_DWF_RQ(a, j, u)                                                                    \
    "ldr %[w], [%[s], #" #j "*12+4]\n\t"                                                       \
    "ldr %[t], [%[s], #" #j "*12+8]\n\t"                                                       \
    "smmul %[" #a "], %[" #a "], %[w]\n\t"                                                     \
    "asr %[" #a "], %[" #a "], %[t]\n\t"                                                       \
    "add %[" #a "], %[" #a "], %[kq]\n\t"                                                      \
    "usat %[" #u "], #8, %[" #a "], asr #1\n\t"
#define TB_DWF_RUN(rows, last)                                                                \
    __asm volatile("1:\n\t"                                                                   \
                   "ldr %[a0], [%[s], %[init]]\n\t"                                           \
                   "ldr %[a1], [%[s], %[init]+4]\n\t"                                         \
                   "ldr %[a2], [%[s], %[init]+8]\n\t"                                         \
                   "ldr %[a3], [%[s], %[init]+12]\n\t" rows last                              \
                   "ldr %[t], [%[s], %[back]]\n\t"                                            \
                   "add %[xr], %[xr], %[t]\n\t"                                               \
                   "sub %[wr], %[wr], %[wk]\n\t"                                              \
                   TB_DWF_RQ(a0, 0, u) TB_DWF_RQ(a1, 1, t) "orr %[u], %[u], %[t], lsl #8\n\t"   \
                   TB_DWF_RQ(a2, 2, t) "orr %[u], %[u], %[t], lsl #16\n\t"                     \
                   TB_DWF_RQ(a3, 3, t) "orr %[u], %[u], %[t], lsl #24\n\t"                     \
                   "eor %[u], %[u], #0x80808080\n\t"                                          \
                   "ldr %[t], [%[s], %[y]]\n\t"                                               \
                   "str %[u], [%[t]]\n\t"                                                     \
                   "add %[t], %[t], %[c]\n\t"                                                 \
                   "str %[t], [%[s], %[y]]\n\t"                                               \
                   "ldr %[w], [%[s], %[end]]\n\t"                                             \
                   "cmp %[t], %[w]\n\t"                                                       \
                   "bne 1b\n\t"                                                               \
                   : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [xr] "+r"(xp), \
                     [wr] "+r"(wp), [v] "=&r"(v), [w] "=&r"(w), [t] "=&r"(t), [u] "=&r"(u)         \
                   : [s] "r"(r), [c] "r"(c), [kq] "r"(kq), [wk] "i"(8 * kernel * kernel),    \
                     [init] "i"(__builtin_offsetof(tb_dwf_run_t, init)),                       \
                     [skip] "i"(__builtin_offsetof(tb_dwf_run_t, skip)),                       \
                     [back] "i"(__builtin_offsetof(tb_dwf_run_t, back)),                       \
                     [y] "i"(__builtin_offsetof(tb_dwf_run_t, y)),                             \
                     [end] "i"(__builtin_offsetof(tb_dwf_run_t, end))                          \
                   : "cc", "memory")
static TB_DWF_INLINE void tb_dwf_whole_run(const int8_t *xp, const uint32_t *wp, tb_dwf_run_t *r, int32_t kernel)
{
    const int32_t c = r->c, kq = r->kq;
    int32_t a0, a1, a2, a3;
    uint32_t v, w, t, u;
    if (kernel == 3) {
        TB_DWF_RUN(TB_DWF_X2(TB_DWF_RROW(TB_DWF_X3(TB_DWF_RTAP))), TB_DWF_X3(TB_DWF_RTAP));
    } else if (kernel == 5) {
        TB_DWF_RUN(TB_DWF_X2(TB_DWF_X2(TB_DWF_RROW(TB_DWF_X5(TB_DWF_RTAP)))), TB_DWF_X5(TB_DWF_RTAP));
    } else {
        TB_DWF_RUN(TB_DWF_X3(TB_DWF_X2(TB_DWF_RROW(TB_DWF_X7(TB_DWF_RTAP)))), TB_DWF_X7(TB_DWF_RTAP));
    }
}
#endif

/* The edge windows ox0 .. ox1 - 1 of output row oy of the group ch (each window's tap columns
 * from its own range); ky0, ky1: the tap rows of the output row. */
static void tb_dwf_edges4(const tb_dwf_t *k, const uint32_t *pack, const tb_dwf_run_t *r, int32_t ch,
                          int32_t oy, int32_t ox0, int32_t ox1, int32_t ky0, int32_t ky1)
{
    const int32_t c = k->c, kernel = k->kernel, row = k->w_in * c, stride = k->stride, w_in = k->w_in;
    const int32_t ny = ky1 - ky0;
    const uint32_t zp = k->zp;
    const int32_t kq = k->kq;
    const int8_t *xr = k->x + ((oy * stride - k->pad + ky0) * w_in - k->pad) * c + ch;
    const uint32_t *wr = pack + 2 * ky0 * kernel;
    int8_t *y = k->y;
    uint8_t *mask = k->mask;
    int32_t i = (oy * k->w_out + ox0) * c + ch;
    int32_t ox;
    for (ox = ox0; ox < ox1; ox++, i += c) {
        int32_t kx0, kx1;
        tb_fast_tap_range(ox, stride, kernel, w_in, &kx0, &kx1);
        tb_dwf_store4(y, mask, i, r->q, kq,
                      tb_dwf_span4(xr + (ox * stride + kx0) * c, wr + 2 * kx0, ny, kx1 - kx0, row, c, kernel, zp));
    }
}

/* The interior windows ox_lo .. ox_hi - 1 (every tap column inside) of output row oy of the
 * group ch, tap rows [ky0, ky1). `kernel` and `full` (ky1 - ky0 == kernel) are constants at each
 * call site. */
static TB_DWF_INLINE void tb_dwf_interior4(const tb_dwf_t *k, const uint32_t *pack, tb_dwf_run_t *r,
                                           int32_t ch, int32_t oy, int32_t ky0, int32_t ky1, int32_t kernel,
                                           int32_t full)
{
    const int32_t c = k->c, row = k->w_in * c, step = k->stride * c, ny = full ? kernel : ky1 - ky0;
    const int32_t iy = oy * k->stride - k->pad + ky0;
    const int8_t *xp = k->x + (iy * k->w_in + k->ox_lo * k->stride - k->pad) * c + ch;
    const uint32_t *wp = pack + 2 * ky0 * kernel;
    const uint32_t zp = k->zp;
    const int32_t kq = k->kq;
    int8_t *y = k->y;
    uint8_t *mask = k->mask;
    int32_t i = (oy * k->w_out + k->ox_lo) * c + ch;
    const int32_t end = (oy * k->w_out + k->ox_hi) * c + ch;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    if (full && r->fold && (kernel == 3 || kernel == 5 || kernel == 7)) {
        if (i < end) {
            r->y = y + i;
            r->end = y + end;
            tb_dwf_whole_run(xp, wp, r, kernel);
        }
        return;
    }
#endif
    for (; i < end; xp += step, i += c) {
        tb_dwf_store4(y, mask, i, r->q, kq, tb_dwf_rows4(xp, wp, ny, row, c, kernel, zp));
    }
}

/* The interior windows of output row oy, by kernel size and whether every tap row is inside. */
static TB_DWF_INLINE void tb_dwf_interior_row4(const tb_dwf_t *k, const uint32_t *pack, tb_dwf_run_t *r,
                                               int32_t ch, int32_t oy, int32_t ky0, int32_t ky1)
{
    const int32_t full = ky1 - ky0 == k->kernel;
    switch (k->kernel) {
    case 3:
        full ? tb_dwf_interior4(k, pack, r, ch, oy, ky0, ky1, 3, 1) : tb_dwf_interior4(k, pack, r, ch, oy, ky0, ky1, 3, 0);
        break;
    case 5:
        full ? tb_dwf_interior4(k, pack, r, ch, oy, ky0, ky1, 5, 1) : tb_dwf_interior4(k, pack, r, ch, oy, ky0, ky1, 5, 0);
        break;
    case 7:
        full ? tb_dwf_interior4(k, pack, r, ch, oy, ky0, ky1, 7, 1) : tb_dwf_interior4(k, pack, r, ch, oy, ky0, ky1, 7, 0);
        break;
    default: /* other kernels: as edge windows */
        tb_dwf_edges4(k, pack, r, ch, oy, k->ox_lo, k->ox_hi, ky0, ky1);
        break;
    }
}

/* Every output of the group of channels ch .. ch + 3: per output row the edge windows on the
 * left, the interior windows, the edge windows on the right. */
static TB_DWF_INLINE void tb_dwf_group4(const tb_dwf_t *k, const uint32_t *pack, tb_dwf_run_t *r, int32_t ch)
{
    int32_t oy;
    for (oy = 0; oy < k->h_out; oy++) {
        int32_t ky0, ky1;
        tb_fast_tap_range(oy, k->stride, k->kernel, k->h_in, &ky0, &ky1);
        if (k->ox_lo > 0) {
            tb_dwf_edges4(k, pack, r, ch, oy, 0, k->ox_lo, ky0, ky1);
        }
        tb_dwf_interior_row4(k, pack, r, ch, oy, ky0, ky1);
        if (k->ox_hi < k->w_out) {
            tb_dwf_edges4(k, pack, r, ch, oy, k->ox_hi, k->w_out, ky0, ky1);
        }
    }
}

/* Every output of channel ch (filter f), tap by tap. */
static void tb_dwf_channel(const tb_dwf_t *k, const int8_t *f, const tb_fast_requant_t *q, int32_t ch)
{
    const int32_t row = k->w_in * k->c;
    int32_t oy, ox;
    for (oy = 0; oy < k->h_out; oy++) {
        int32_t ky0, ky1;
        tb_fast_tap_range(oy, k->stride, k->kernel, k->h_in, &ky0, &ky1);
        for (ox = 0; ox < k->w_out; ox++) {
            int32_t kx0, kx1, iy, ix, acc;
            tb_fast_tap_range(ox, k->stride, k->kernel, k->w_in, &kx0, &kx1);
            iy = oy * k->stride - k->pad + ky0;
            ix = ox * k->stride - k->pad + kx0;
            acc = tb_dwf_taps1(k->x + (iy * k->w_in + ix) * k->c + ch, f + ky0 * k->kernel + kx0,
                               ky1 - ky0, kx1 - kx0, row, k->c, k->kernel, k->x_zero);
            tb_fast_store_s8(k->y, k->mask, (oy * k->w_out + ox) * k->c + ch, tb_fast_requant(q, acc));
        }
    }
}

/* The bias to fold into the start of a run's sums (|sum| <= big): the bias itself when no
 * sum + bias saturates; else, when every output of the channel clamps to 127 (or -128) however
 * the sum lies, the nearest such bias, whose sums clamp the same way (requantization does not
 * decrease with its input); else *fold = 0 (the group takes the C loop). */
static int32_t tb_dwf_fold_bias(int32_t bias, int32_t mult, int32_t shift, int32_t y_zero, int32_t big, int32_t *fold)
{
    const int32_t safe = INT32_MAX - big;
    tb_fast_requant_t out;
    if (bias >= -safe && bias <= safe) {
        return bias;
    }
    out = tb_fast_requant_init(0, mult, shift, y_zero);
    if (bias > 0) {
        *fold = tb_fast_requant(&out, safe - big) > 127;
        return safe;
    }
    *fold = tb_fast_requant(&out, big - safe) < -128;
    return -safe;
}

void tb_depthwise_fwd_s8(const int8_t *x, int32_t h_in, int32_t w_in, int32_t c,
                         int32_t x_zero, const int8_t *w_train, const int8_t *w_frozen,
                         int32_t k_train, const int32_t *bias, int32_t kernel, int32_t stride,
                         const int32_t *mult, const int32_t *shift, int32_t y_zero, int8_t *y,
                         uint8_t *mask)
{
    const int32_t kk = kernel * kernel;
    const int32_t c4 = kernel <= TB_FAST_DW_MAX_K ? c & ~3 : 0; /* channels taken 4 at a time */
    const int32_t right = w_in - kernel + kernel / 2;           /* the last inside window start + pad */
    uint32_t pack[2 * TB_FAST_DW_MAX_K * TB_FAST_DW_MAX_K];
    int32_t sums[4];
    const int32_t big = kk * 32640; /* the largest |sum| of a window */
    tb_dwf_run_t run;
    tb_fast_requant_t q;
    tb_dwf_t k;
    int32_t ch, j;
    k.x = x;
    k.h_in = h_in;
    k.w_in = w_in;
    k.c = c;
    k.kernel = kernel;
    k.stride = stride;
    k.pad = kernel / 2;
    k.h_out = (h_in + stride - 1) / stride;
    k.w_out = (w_in + stride - 1) / stride;
    k.x_zero = x_zero;
    k.kq = 2 * y_zero + 257;
    k.zp = tb_dsp_pair(-x_zero);
    k.ox_lo = (k.pad + stride - 1) / stride;
    k.ox_hi = right >= 0 ? right / stride + 1 : 0;
    k.ox_hi = k.ox_hi < k.w_out ? k.ox_hi : k.w_out;
    k.ox_lo = k.ox_lo < k.ox_hi ? k.ox_lo : k.ox_hi;
    k.y = y;
    k.mask = mask;
    run.kq = k.kq;
    run.c = c;
    run.skip = w_in * c - kernel * c;
    run.back = stride * c - (kernel - 1) * w_in * c - kernel * c;
    tb_fast_mask_clear(mask, k.h_out * k.w_out * c);
    for (ch = 0; ch < c; ch += 4) {
        const int32_t group = ch < c4 && shift[ch] > 32 && shift[ch + 1] > 32 && shift[ch + 2] > 32 &&
                              shift[ch + 3] > 32;
        if (group) {
            tb_dwf_pack(w_train, w_frozen, k_train, ch, kk, pack);
            run.fold = mask == NULL; /* the run stores no mask */
            if (run.fold) {
                tb_dwf_sums(pack, kk, sums);
            }
            for (j = 0; j < 4; j++) {
                run.q[j].bias = bias[ch + j];
                run.q[j].mult = mult[ch + j];
                run.q[j].tm1 = shift[ch + j] - 33;
                if (run.fold) {
                    run.init[j] = (int32_t)((uint32_t)tb_dwf_fold_bias(bias[ch + j], mult[ch + j], shift[ch + j],
                                                                       y_zero, big, &run.fold) -
                                            (uint32_t)x_zero * (uint32_t)sums[j]);
                }
            }
            tb_dwf_group4(&k, pack, &run, ch);
            continue;
        }
        for (j = ch; j < ch + 4 && j < c; j++) {
            q = tb_fast_requant_init(bias[j], mult[j], shift[j], y_zero);
            tb_dwf_channel(&k, tb_fast_dw_filter(w_train, w_frozen, k_train, j, kk), &q, j);
        }
    }
}
