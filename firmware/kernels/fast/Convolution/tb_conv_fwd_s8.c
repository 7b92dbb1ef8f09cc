/* tb_conv_fwd_s8, fast: im2col of two output positions of a row into a small int16 buffer,
 * then tiles of 2 positions x 2 output channels, SMLAD over 4 weights per step, the
 * requantization in 32 bits. Same results as src/Convolution/tb_conv_fwd_s8.c.
 *
 * The column of a position is its window, weight part by weight part (trained input channels,
 * then frozen), each part in the order of its weight rows (ky, kx, channel) and padded to a
 * multiple of 4; padding taps and pad elements hold x_zero, so they add 0. It is gathered as
 * bytes, then widened with the zero point subtracted (SXTAB16), the two positions' words
 * interleaved: group g of 4 elements is {0, 2} and {1, 3} of position 0, then of position 1,
 * the lanes SXTB16 makes of a weight word. A weight row's last, partial word is read ending at
 * the row's end and shifted down (its top bytes become 0), so no byte outside the weights is
 * read. Columns longer than TB_CONV_COL_MAX take the taps one by one (tb_fast_dot_1x1).
 *
 * Loop nest: output rows; pairs of positions (an odd last one pairs with itself); pairs of
 * output channels (an odd last one pairs with itself). A row is finished before the next is
 * read: an in-place output row may overlap earlier input rows (stream_overlap).
 *
 * The models' stem (3 input channels of one weight part, 3 x 3, stride 2, at most
 * TB_CONV_STEM_C_MAX output channels, shifts in (32, 32 + TB_CONV_STEM_T_MAX])
 * has its own path (tb_conv_stem): its column is only 27 taps, so the general tile's set-up
 * (requantization, parts, tail words, weight widening) would cost as much as its MACs. The
 * weights of every output channel are widened to int16 once per call, in the lane order of the
 * column (tb_conv_stem_lane), channel pairs interleaved; the requantizations are prepared once
 * per call; a pair of positions' columns is widened
 * straight from the input (windows inside it) and then serves every channel pair, 14 SMLAD per
 * output; the rows are inlined twice, with and without a mask. Stack: 1.3 KB of buffers, only
 * while the stem runs (tb_conv_fwd_s8 tail-calls one path or the other). */
#include "tb_kernels.h"
#include "Internal/tb_nn_fast.h"

#define TB_CONV_COL_MAX 64 /* elements of one padded column: the stem's is 28 */

/* A weight part: rows of n = kernel^2 * channels bytes at w + c * n, its input channels
 * [first, first + channels), its column segment at group g0 (n4 = n rounded up to 4). */
typedef struct {
    const int8_t *w;
    int32_t first, channels, n, n4, g0;
} tb_conv_part_t;

/* n bytes from src to dst (word moves while 4 remain; the empty asm keeps gcc from calling
 * memcpy, the kernels use no libc). */
static inline void tb_conv_copy(int8_t *dst, const int8_t *src, int32_t n)
{
    int32_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const uint32_t v = tb_dsp_read4(src + j);
        __builtin_memcpy(dst + j, &v, 4);
        __asm("" : : "r"(dst) : "memory");
    }
    for (; j < n; j++) {
        dst[j] = src[j];
    }
}

static inline void tb_conv_fill(int8_t *dst, int8_t v, int32_t n)
{
    int32_t j;
    for (j = 0; j < n; j++) {
        dst[j] = v;
        __asm("" : : "r"(dst) : "memory");
    }
}

/* The part's window bytes of position (oy, ox) at dst (n4 bytes, x_zero where no input). A
 * window inside the input of a part of every input channel is `kernel` runs of kernel * c_in
 * bytes (the common case, kept short); others are gathered tap row by tap row. */
static void tb_conv_gather(const int8_t *x, int32_t h_in, int32_t w_in, int32_t c_in, int8_t xz,
                           const tb_conv_part_t *p, int32_t kernel, int32_t stride, int32_t oy,
                           int32_t ox, int8_t *dst)
{
    const int32_t m = p->channels, row = kernel * m;
    const int32_t iy0 = oy * stride - kernel / 2, ix0 = ox * stride - kernel / 2;
    int32_t ky0, ky1, kx0, kx1, ky, kx;
    tb_fast_tap_range(oy, stride, kernel, h_in, &ky0, &ky1);
    tb_fast_tap_range(ox, stride, kernel, w_in, &kx0, &kx1);
    if (m == c_in && ky1 - ky0 == kernel && kx1 - kx0 == kernel) {
        const int8_t *src = x + (iy0 * w_in + ix0) * c_in;
        for (ky = 0; ky < kernel; ky++, dst += row, src += w_in * c_in) {
            tb_conv_copy(dst, src, row);
        }
        tb_conv_fill(dst, xz, p->n4 - p->n);
        return;
    }
    for (ky = 0; ky < kernel; ky++, dst += row) {
        const int8_t *src; /* tap kx0 of the row */
        if (ky < ky0 || ky >= ky1 || kx1 <= kx0) {
            tb_conv_fill(dst, xz, row);
            continue;
        }
        src = x + ((iy0 + ky) * w_in + ix0 + kx0) * c_in + p->first;
        tb_conv_fill(dst, xz, kx0 * m);
        if (m == c_in) {
            tb_conv_copy(dst + kx0 * m, src, (kx1 - kx0) * m);
        } else {
            for (kx = kx0; kx < kx1; kx++) {
                tb_conv_copy(dst + kx * m, src + (kx - kx0) * c_in, m);
            }
        }
        tb_conv_fill(dst + kx1 * m, xz, (kernel - kx1) * m);
    }
    tb_conv_fill(dst, xz, p->n4 - p->n);
}

/* The last, partial word of a weight row r of n bytes (n % 4 != 0): read ending at the row's
 * end (n >= 4) or byte by byte, its missing top bytes 0. */
static inline uint32_t tb_conv_weight_tail(const int8_t *r, int32_t n)
{
    const int32_t rest = n & 3;
    uint32_t v = 0;
    int32_t j;
    if (n >= 4) {
        return tb_dsp_read4(r + n - 4) >> (8 * (4 - rest));
    }
    for (j = 0; j < rest; j++) {
        v |= (uint32_t)(uint8_t)r[n - rest + j] << (8 * j);
    }
    return v;
}

/* One group of 4 weights of rows q = 0, 1 (words wa, wb) against the interleaved group col:
 * acc[2 p + q] += two SMLAD each. */
static inline void tb_conv_group(const uint32_t *col, uint32_t wa, uint32_t wb, int32_t *a)
{
    const uint32_t wa_e = tb_dsp_sxtb16(wa), wb_e = tb_dsp_sxtb16(wb);
    const uint32_t wa_o = tb_dsp_sxtb16_ror8(wa), wb_o = tb_dsp_sxtb16_ror8(wb);
    a[0] = tb_dsp_smlad(col[1], wa_o, tb_dsp_smlad(col[0], wa_e, a[0]));
    a[1] = tb_dsp_smlad(col[1], wb_o, tb_dsp_smlad(col[0], wb_e, a[1]));
    a[2] = tb_dsp_smlad(col[3], wa_o, tb_dsp_smlad(col[2], wa_e, a[2]));
    a[3] = tb_dsp_smlad(col[3], wb_o, tb_dsp_smlad(col[2], wb_e, a[3]));
}

/* acc[2 p + q] += column p . weight row q over one part (col: its interleaved groups): the
 * whole words, then the partial last one. */
static inline void tb_conv_dot_2x2(const uint32_t *col, const int8_t *w0, const int8_t *w1,
                                   int32_t n, int32_t *acc)
{
    int32_t a[4];
    const int8_t *end = w0 + (n & ~3);
    a[0] = acc[0];
    a[1] = acc[1];
    a[2] = acc[2];
    a[3] = acc[3];
    for (; w0 != end; w0 += 4, w1 += 4, col += 4) {
        tb_conv_group(col, tb_dsp_read4(w0), tb_dsp_read4(w1), a);
    }
    if ((n & 3) != 0) {
        tb_conv_group(col, tb_conv_weight_tail(w0 - (n & ~3), n), tb_conv_weight_tail(w1 - (n & ~3), n), a);
    }
    acc[0] = a[0];
    acc[1] = a[1];
    acc[2] = a[2];
    acc[3] = a[3];
}

/* Accumulator of output (oy, ox, c) tap by tap: the path of columns too long to buffer. */
static int32_t tb_conv_window_dot(const int8_t *x, int32_t h_in, int32_t w_in, int32_t c_in,
                                  int32_t x_zero, uint32_t zp, const tb_conv_part_t *p,
                                  int32_t kernel, int32_t stride, int32_t oy, int32_t ox, int32_t c)
{
    const int32_t m = p->channels;
    const int32_t iy0 = oy * stride - kernel / 2, ix0 = ox * stride - kernel / 2;
    const int8_t *wr = p->w + c * p->n;
    int32_t ky0, ky1, kx0, kx1, ky, kx, acc = 0;
    if (m == 0) {
        return 0;
    }
    tb_fast_tap_range(oy, stride, kernel, h_in, &ky0, &ky1);
    tb_fast_tap_range(ox, stride, kernel, w_in, &kx0, &kx1);
    for (ky = ky0; ky < ky1; ky++) {
        for (kx = kx0; kx < kx1; kx++) {
            acc += tb_fast_dot_1x1(x + ((iy0 + ky) * w_in + ix0 + kx) * c_in + p->first,
                                   wr + (ky * kernel + kx) * m, m, x_zero, zp);
        }
    }
    return acc;
}

/* Outputs i and i + 1 (output channels c, c + 1) from accumulators a0, a1; only i when the
 * channel pairs with itself (c_pair = 0). */
static inline void tb_conv_store(int8_t *y, uint8_t *mask, int32_t i, int32_t c_pair,
                                 const tb_fast_requant_t *q, int32_t a0, int32_t a1)
{
    if (c_pair) {
        tb_fast_store_pair_s8(y + i, mask, i, tb_fast_requant(&q[0], a0), tb_fast_requant(&q[1], a1));
    } else {
        tb_fast_store_s8(y, mask, i, tb_fast_requant(&q[0], a0));
    }
}

/* ------------------------------------------------------------------------- the stem path */

#define TB_CONV_STEM_C_MAX 16 /* output channels widened at once: 16 x 28 int16, 896 bytes */
#define TB_CONV_STEM_WORDS 14 /* halfword pairs of a stem column: 27 taps and one spare lane */

/* The tap (byte of the window's 27, rows ky of 9 bytes kx, channel) in each of the column's 28
 * lanes: rows r give [b0 b2] [b1 b3] [b4 b6] [b5 b7] of their bytes b0..b8 (SXTAB16 of the
 * words at 0 and 4), then [b8 of row 0, b8 of row 1] and [b6, b8] of row 2 (SXTAB16 ROR 8 of
 * the words at 5); -1: the lane holding row 2's b6 again, whose weight is 0. */
static const int8_t tb_conv_stem_lane[2 * TB_CONV_STEM_WORDS] = {
    0, 2, 1, 3, 4, 6, 5, 7, 9, 11, 10, 12, 13, 15, 14, 16, 18, 20, 19, 21, 22, 24, 23, 25, 8, 17, -1, 26,
};

/* The weights (c_out rows of 27) as int16 lane pairs in column order, channel pairs
 * interleaved: word 2 j + q of pair cp at wbuf + 2 * TB_CONV_STEM_WORDS * cp is lane pair j of
 * channel 2 cp + q (an odd last channel pairs with itself). */
static void tb_conv_stem_weights(const int8_t *w, int32_t c_out, uint32_t *wbuf)
{
    int32_t c, j;
    for (c = 0; c < c_out + (c_out & 1); c++) {
        const int8_t *r = w + 27 * (c < c_out ? c : c_out - 1);
        uint32_t *dst = wbuf + 2 * TB_CONV_STEM_WORDS * (c >> 1) + (c & 1);
        for (j = 0; j < TB_CONV_STEM_WORDS; j++) {
            const int32_t lo = tb_conv_stem_lane[2 * j], hi = tb_conv_stem_lane[2 * j + 1];
            dst[2 * j] = ((uint32_t)(lo < 0 ? 0 : r[lo]) & 0xFFFFu) | ((uint32_t)r[hi] << 16);
        }
    }
}

/* The column of the window whose 3 rows of 9 bytes start at src, src + row, src + 2 row,
 * widened with the zero point subtracted (zp) into col[2 j], j < TB_CONV_STEM_WORDS (the odd
 * words are the other position's). Reads bytes 0..8 of each row only. */
static inline void tb_conv_stem_column(const int8_t *src, int32_t row, uint32_t zp, uint32_t *col)
{
    int32_t r;
    uint32_t t0, t1;
    for (r = 0; r < 3; r++, col += 8) {
        const uint32_t v0 = tb_dsp_read4(src + r * row), v1 = tb_dsp_read4(src + r * row + 4);
        col[0] = tb_dsp_sxtab16(zp, v0);
        col[2] = tb_dsp_sxtab16_ror8(zp, v0);
        col[4] = tb_dsp_sxtab16(zp, v1);
        col[6] = tb_dsp_sxtab16_ror8(zp, v1);
    }
    t0 = tb_dsp_sxtab16_ror8(zp, tb_dsp_read4(src + 5));
    t1 = tb_dsp_sxtab16_ror8(zp, tb_dsp_read4(src + row + 5));
    col[0] = (t1 & 0xFFFF0000u) | (t0 >> 16);
    col[2] = tb_dsp_sxtab16_ror8(zp, tb_dsp_read4(src + 2 * row + 5));
}

/* The column of position (oy, ox), whose window reaches outside the input, into col (see
 * tb_conv_stem_column): gathered first into win (3 rows of 9 bytes, x_zero where no input:
 * xz4 = four of it), tap by tap. */
static void tb_conv_stem_edge(const int8_t *x, int32_t h_in, int32_t w_in, uint32_t xz4, uint32_t zp,
                              int32_t oy, int32_t ox, uint32_t *win, uint32_t *col)
{
    const int32_t iy0 = 2 * oy - 1, ix0 = 2 * ox - 1;
    int32_t ky0, ky1, kx0, kx1, ky, kx, j;
    for (j = 0; j < 7; j++) {
        win[j] = xz4;
        __asm("" : : "r"(win) : "memory");
    }
    tb_fast_tap_range(oy, 2, 3, h_in, &ky0, &ky1);
    tb_fast_tap_range(ox, 2, 3, w_in, &kx0, &kx1);
    for (ky = ky0; ky < ky1; ky++) {
        for (kx = kx0; kx < kx1; kx++) {
            const int8_t *s = x + ((iy0 + ky) * w_in + ix0 + kx) * 3;
            int8_t *d = (int8_t *)win + 9 * ky + 3 * kx;
            d[0] = s[0];
            d[1] = s[1];
            d[2] = s[2];
        }
    }
    tb_conv_stem_column((const int8_t *)win, 9, zp, col);
}

/* The column of position (oy, ox) into col; row_in: the window's rows all lie inside the
 * input. A window inside is widened straight from the input. */
static inline __attribute__((always_inline)) void
tb_conv_stem_position(const int8_t *x, int32_t h_in, int32_t w_in, uint32_t xz4, uint32_t zp, int32_t row_in,
                      int32_t oy, int32_t ox, uint32_t *win, uint32_t *col)
{
    const int32_t ix0 = 2 * ox - 1;
    if (row_in && ix0 >= 0 && ix0 + 3 <= w_in) {
        tb_conv_stem_column(x + ((2 * oy - 1) * w_in + ix0) * 3, 3 * w_in, zp, col);
    } else {
        tb_conv_stem_edge(x, h_in, w_in, xz4, zp, oy, ox, win, col);
    }
}

/* a[2 p + q] += column p . channel q of the pair over lane pair j (words 2 j and 2 j + 1 of
 * col and w). On the DSP cores one block of its four loads, then the four SMLAD: back-to-back
 * loads pipeline, which gcc's interleaving of loads and SMLAD loses. */
static inline __attribute__((always_inline)) void tb_conv_stem_step(const uint32_t *col, const uint32_t *w, int32_t j, int32_t *a)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    uint32_t x0, x1, wa, wb;
    __asm("ldr %0, [%8, #%c10]\n\t"
          "ldr %1, [%8, #%c10 + 4]\n\t"
          "ldr %2, [%9, #%c10]\n\t"
          "ldr %3, [%9, #%c10 + 4]\n\t"
          "smlad %4, %0, %2, %4\n\t"
          "smlad %5, %0, %3, %5\n\t"
          "smlad %6, %1, %2, %6\n\t"
          "smlad %7, %1, %3, %7"
          : "=&r"(x0), "=&r"(x1), "=&r"(wa), "=&r"(wb), "+r"(a[0]), "+r"(a[1]), "+r"(a[2]), "+r"(a[3])
          : "r"(col), "r"(w), "i"(8 * j), "m"(*(const uint32_t(*)[2 * TB_CONV_STEM_WORDS])col),
            "m"(*(const uint32_t(*)[2 * TB_CONV_STEM_WORDS])w));
#else
    const uint32_t x0 = col[2 * j], x1 = col[2 * j + 1], wa = w[2 * j], wb = w[2 * j + 1];
    a[0] = tb_dsp_smlad(x0, wa, a[0]);
    a[1] = tb_dsp_smlad(x0, wb, a[1]);
    a[2] = tb_dsp_smlad(x1, wa, a[2]);
    a[3] = tb_dsp_smlad(x1, wb, a[3]);
#endif
}

/* acc[2 p + q] = column p . channel q of the pair: col and w interleaved word pairs. */
static inline __attribute__((always_inline)) void tb_conv_stem_tile(const uint32_t *col, const uint32_t *w, int32_t *acc)
{
    int32_t a[4];
    a[0] = a[1] = a[2] = a[3] = 0;
    tb_conv_stem_step(col, w, 0, a);
    tb_conv_stem_step(col, w, 1, a);
    tb_conv_stem_step(col, w, 2, a);
    tb_conv_stem_step(col, w, 3, a);
    tb_conv_stem_step(col, w, 4, a);
    tb_conv_stem_step(col, w, 5, a);
    tb_conv_stem_step(col, w, 6, a);
    tb_conv_stem_step(col, w, 7, a);
    tb_conv_stem_step(col, w, 8, a);
    tb_conv_stem_step(col, w, 9, a);
    tb_conv_stem_step(col, w, 10, a);
    tb_conv_stem_step(col, w, 11, a);
    tb_conv_stem_step(col, w, 12, a);
    tb_conv_stem_step(col, w, 13, a);
    acc[0] = a[0];
    acc[1] = a[1];
    acc[2] = a[2];
    acc[3] = a[3];
}

/* The requantization of a stem channel whose shift s lies in (32, 32 + TB_CONV_STEM_T_MAX]
 * (every shipped model's): tb_fast_requant's 32-bit statement, its parameters in 4 words. */
#define TB_CONV_STEM_T_MAX 31
typedef struct {
    int32_t bias, mult, round, t;
} tb_conv_stem_q_t;

/* The high word of (acc + bias) * mult plus the rounding term by one SMMLA: the high word lies
 * in [-2^30, 2^30] and round in [1, 2^30], so the sum does not wrap. */
static inline int32_t tb_conv_stem_requant(const tb_conv_stem_q_t *q, int32_t acc, int32_t y_zero)
{
    return (tb_dsp_smmla(tb_dsp_qadd(acc, q->bias), q->mult, q->round) >> q->t) + y_zero;
}

/* Whether every channel's requantization has a tb_conv_stem_q_t. */
static int32_t tb_conv_stem_requant_fits(const int32_t *shift, int32_t c_out)
{
    int32_t c;
    for (c = 0; c < c_out; c++) {
        if (shift[c] <= 32 || shift[c] > 32 + TB_CONV_STEM_T_MAX) {
            return 0;
        }
    }
    return 1;
}

/* The outputs of one pair of positions (columns col, output indices i0, i1 of channel 0):
 * channel pairs, then an odd last channel alone (its tile's second channel is itself again).
 * Inlined twice, with and without a mask. */
static inline __attribute__((always_inline)) void
tb_conv_stem_outputs(const uint32_t *col, const uint32_t *wbuf, const tb_conv_stem_q_t *q, int32_t c_out,
                     int32_t y_zero, int8_t *y, uint8_t *mask, int32_t i0, int32_t i1)
{
    int32_t c, acc[4];
    for (c = 0; c + 1 < c_out; c += 2) {
        const tb_conv_stem_q_t *qa = &q[c], *qb = &q[c + 1];
        int32_t v0, v1, v2, v3;
        tb_conv_stem_tile(col, wbuf + TB_CONV_STEM_WORDS * c, acc);
        v0 = tb_conv_stem_requant(qa, acc[0], y_zero); /* all four before a store: q read once */
        v1 = tb_conv_stem_requant(qb, acc[1], y_zero);
        v2 = tb_conv_stem_requant(qa, acc[2], y_zero);
        v3 = tb_conv_stem_requant(qb, acc[3], y_zero);
        tb_fast_store_pair_s8(y + i1 + c, mask, i1 + c, v2, v3);
        tb_fast_store_pair_s8(y + i0 + c, mask, i0 + c, v0, v1);
    }
    if (c < c_out) {
        int32_t v0, v2;
        tb_conv_stem_tile(col, wbuf + TB_CONV_STEM_WORDS * c, acc);
        v0 = tb_conv_stem_requant(&q[c], acc[0], y_zero);
        v2 = tb_conv_stem_requant(&q[c], acc[2], y_zero);
        tb_fast_store_s8(y, mask, i1 + c, v2);
        tb_fast_store_s8(y, mask, i0 + c, v0);
    }
}

/* Every position pair of the stem (see tb_conv_stem); inlined twice, with and without a mask. */
static inline __attribute__((always_inline)) void
tb_conv_stem_rows(const int8_t *x, int32_t h_in, int32_t w_in, uint32_t xz4, uint32_t zp, const uint32_t *wbuf,
                  const tb_conv_stem_q_t *q, int32_t c_out, int32_t y_zero, int8_t *y, uint8_t *mask)
{
    const int32_t h_out = (h_in + 1) / 2, w_out = (w_in + 1) / 2;
    uint32_t col[2 * TB_CONV_STEM_WORDS], win[2][7];
    int32_t oy, ox;
    for (oy = 0; oy < h_out; oy++) {
        const int32_t row_in = 2 * oy - 1 >= 0 && 2 * oy + 2 <= h_in;
        for (ox = 0; ox < w_out; ox += 2) {
            const int32_t ox1 = ox + 1 < w_out ? ox + 1 : ox;
            tb_conv_stem_position(x, h_in, w_in, xz4, zp, row_in, oy, ox, win[0], col);
            tb_conv_stem_position(x, h_in, w_in, xz4, zp, row_in, oy, ox1, win[1], col + 1);
            tb_conv_stem_outputs(col, wbuf, q, c_out, y_zero, y, mask, (oy * w_out + ox) * c_out,
                                 (oy * w_out + ox1) * c_out);
        }
    }
}

/* The stem: positions in pairs (an odd last one pairs with itself), each pair's columns
 * against every channel pair. w: the one weight part (c_out rows of 27). */
static __attribute__((noinline)) void tb_conv_stem(const int8_t *x, int32_t h_in, int32_t w_in, int32_t x_zero,
                         const int8_t *w, const int32_t *bias, int32_t c_out, const int32_t *mult,
                         const int32_t *shift, int32_t y_zero, int8_t *y, uint8_t *mask)
{
    const uint32_t zp = tb_dsp_pair(-x_zero), xz4 = 0x01010101u * (uint8_t)x_zero;
    uint32_t wbuf[2 * TB_CONV_STEM_WORDS * ((TB_CONV_STEM_C_MAX + 1) / 2)];
    tb_conv_stem_q_t q[TB_CONV_STEM_C_MAX];
    int32_t c;
    tb_conv_stem_weights(w, c_out, wbuf);
    for (c = 0; c < c_out; c++) {
        q[c].bias = bias[c];
        q[c].mult = mult[c];
        q[c].t = shift[c] - 32;
        q[c].round = (int32_t)1 << (q[c].t - 1);
    }
    if (mask != NULL) {
        tb_fast_mask_clear(mask, (h_in + 1) / 2 * ((w_in + 1) / 2) * c_out);
        tb_conv_stem_rows(x, h_in, w_in, xz4, zp, wbuf, q, c_out, y_zero, y, mask);
    } else {
        tb_conv_stem_rows(x, h_in, w_in, xz4, zp, wbuf, q, c_out, y_zero, y, NULL);
    }
}

/* The general path: every other convolution. */
static __attribute__((noinline)) void tb_conv_general(const int8_t *x, int32_t h_in, int32_t w_in, int32_t c_in,
                                                     int32_t x_zero, const int8_t *w_train,
                                                     const int8_t *w_frozen, int32_t k_train,
                                                     const int32_t *bias, int32_t c_out, int32_t kernel,
                                                     int32_t stride, const int32_t *mult,
                                                     const int32_t *shift, int32_t y_zero, int8_t *y,
                                                     uint8_t *mask)
{
    const int32_t h_out = (h_in + stride - 1) / stride;
    const int32_t w_out = (w_in + stride - 1) / stride;
    const int32_t kk = kernel * kernel;
    const uint32_t zp = tb_dsp_pair(-x_zero);
    tb_conv_part_t parts[2];
    int8_t bytes[2][TB_CONV_COL_MAX];
    uint32_t col[TB_CONV_COL_MAX]; /* 2 positions x TB_CONV_COL_MAX int16 */
    int32_t oy, ox, c, k, g, buffered;
    parts[0].w = w_train;
    parts[0].first = 0;
    parts[0].channels = k_train;
    parts[1].w = w_frozen;
    parts[1].first = k_train;
    parts[1].channels = c_in - k_train;
    for (k = 0; k < 2; k++) {
        parts[k].n = kk * parts[k].channels;
        parts[k].n4 = (parts[k].n + 3) & ~3;
    }
    parts[0].g0 = 0;
    parts[1].g0 = parts[0].n4 / 4;
    buffered = parts[0].n4 + parts[1].n4 <= TB_CONV_COL_MAX;
    tb_fast_mask_clear(mask, h_out * w_out * c_out);
    for (oy = 0; oy < h_out; oy++) {
        for (ox = 0; ox < w_out; ox += 2) {
            const int32_t ox1 = ox + 1 < w_out ? ox + 1 : ox;
            const int32_t i0 = (oy * w_out + ox) * c_out, i1 = (oy * w_out + ox1) * c_out;
            if (buffered) {
                for (k = 0; k < 2; k++) {
                    if (parts[k].n == 0) {
                        continue;
                    }
                    tb_conv_gather(x, h_in, w_in, c_in, (int8_t)x_zero, &parts[k], kernel, stride,
                                   oy, ox, bytes[0] + 4 * parts[k].g0);
                    tb_conv_gather(x, h_in, w_in, c_in, (int8_t)x_zero, &parts[k], kernel, stride,
                                   oy, ox1, bytes[1] + 4 * parts[k].g0);
                }
                for (g = 0; g < (parts[0].n4 + parts[1].n4) / 4; g++) {
                    const uint32_t v0 = tb_dsp_read4(bytes[0] + 4 * g), v1 = tb_dsp_read4(bytes[1] + 4 * g);
                    col[4 * g] = tb_dsp_sxtab16(zp, v0);
                    col[4 * g + 1] = tb_dsp_sxtab16_ror8(zp, v0);
                    col[4 * g + 2] = tb_dsp_sxtab16(zp, v1);
                    col[4 * g + 3] = tb_dsp_sxtab16_ror8(zp, v1);
                }
            }
            for (c = 0; c < c_out; c += 2) {
                const int32_t c1 = c + 1 < c_out ? c + 1 : c;
                int32_t acc[4];
                tb_fast_requant_t q[2];
                acc[0] = acc[1] = acc[2] = acc[3] = 0; /* not an initializer: -Os makes it a memset */
                q[0] = tb_fast_requant_init(bias[c], mult[c], shift[c], y_zero);
                q[1] = tb_fast_requant_init(bias[c1], mult[c1], shift[c1], y_zero);
                for (k = 0; k < 2; k++) {
                    const tb_conv_part_t *p = &parts[k];
                    if (p->n == 0) {
                        continue;
                    }
                    if (buffered) {
                        tb_conv_dot_2x2(col + 4 * p->g0, p->w + c * p->n, p->w + c1 * p->n, p->n, acc);
                    } else {
                        acc[0] += tb_conv_window_dot(x, h_in, w_in, c_in, x_zero, zp, p, kernel, stride, oy, ox, c);
                        acc[1] += tb_conv_window_dot(x, h_in, w_in, c_in, x_zero, zp, p, kernel, stride, oy, ox, c1);
                        acc[2] += tb_conv_window_dot(x, h_in, w_in, c_in, x_zero, zp, p, kernel, stride, oy, ox1, c);
                        acc[3] += tb_conv_window_dot(x, h_in, w_in, c_in, x_zero, zp, p, kernel, stride, oy, ox1, c1);
                    }
                }
                tb_conv_store(y, mask, i1 + c, c1 != c, q, acc[2], acc[3]);
                tb_conv_store(y, mask, i0 + c, c1 != c, q, acc[0], acc[1]);
            }
        }
    }
}

/* The stem's path or the general one, each a tail call: only the one running has its buffers
 * on the stack. */
void tb_conv_fwd_s8(const int8_t *x, int32_t h_in, int32_t w_in, int32_t c_in, int32_t x_zero,
                    const int8_t *w_train, const int8_t *w_frozen, int32_t k_train,
                    const int32_t *bias, int32_t c_out, int32_t kernel, int32_t stride,
                    const int32_t *mult, const int32_t *shift, int32_t y_zero, int8_t *y,
                    uint8_t *mask)
{
    if (c_in == 3 && kernel == 3 && stride == 2 && (k_train == 0 || k_train == 3) &&
        c_out <= TB_CONV_STEM_C_MAX && tb_conv_stem_requant_fits(shift, c_out)) {
        tb_conv_stem(x, h_in, w_in, x_zero, k_train == 0 ? w_frozen : w_train, bias, c_out, mult,
                     shift, y_zero, y, mask);
        return;
    }
    tb_conv_general(x, h_in, w_in, c_in, x_zero, w_train, w_frozen, k_train, bias, c_out, kernel, stride,
                    mult, shift, y_zero, y, mask);
}
