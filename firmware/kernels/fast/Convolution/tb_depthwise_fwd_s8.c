/* tb_depthwise_fwd_s8, fast: same results as src/Convolution/tb_depthwise_fwd_s8.c.
 *
 * Channels 4 at a time: one word of the HWC input holds the 4 channels of a group at a tap,
 * the group's filters are packed once so that one word of the pack meets it
 * (tb_fast_dw_pack4), and each tap is four 16 x 16 multiply-accumulates (SXTAB16 with the
 * zero point, SXTB16, SMLABB/SMLATT). Per output row the tap rows come from one tap range; the
 * columns split into the left edge, the interior (every tap inside: the window's loops have
 * the kernel size as a constant, for 3, 5 and 7, so gcc unrolls the tap columns) and the right
 * edge, which computes its tap range per window. The 4 outputs are requantized in 32 bits
 * (tb_fast_requant), stored as one word, their 4 mask bits or-ed in at once (mask cleared
 * first). The last c % 4 channels (all channels for kernels above 7) take the taps one by one
 * with the same ranges. Each output keeps its own int32 sum of the same products, so the order
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
    int32_t x_zero;
    uint32_t zp;    /* the halfword pair of -x_zero */
    int32_t ox_lo, ox_hi; /* the output columns whose taps all lie inside along x */
    int8_t *y;
    uint8_t *mask;
} tb_dwf_t;

/* The sums of channels ch .. ch + 3 over ny x nx taps: xp is the group's word at the first
 * tap, wp that tap's packed weights; the tap rows lie `row` bytes apart in x, kernel words
 * apart in the pack. */
static inline tb_fast_acc4_t tb_dwf_taps4(const int8_t *xp, const uint32_t *wp, int32_t ny,
                                          int32_t nx, int32_t row, int32_t c, int32_t kernel,
                                          uint32_t zp)
{
    tb_fast_acc4_t acc = {0, 0, 0, 0};
    int32_t a, b;
    for (a = 0; a < ny; a++, xp += row, wp += kernel) {
        const int8_t *xr = xp;
        for (b = 0; b < nx; b++, xr += c) {
            const uint32_t v = tb_dsp_read4(xr), w = wp[b];
            acc = tb_fast_mac4(acc, tb_dsp_sxtab16(zp, v), tb_dsp_sxtab16_ror8(zp, v), tb_dsp_sxtb16(w),
                               tb_dsp_sxtb16_ror8(w));
        }
    }
    return acc;
}

/* tb_dwf_taps4 over ny rows of `kernel` taps, the tap columns unrolled (kernel: a constant). */
static TB_DWF_INLINE tb_fast_acc4_t tb_dwf_window4(const int8_t *xp, const uint32_t *wp, int32_t ny, int32_t row,
                                                   int32_t c, int32_t kernel, uint32_t zp)
{
    tb_fast_acc4_t acc = {0, 0, 0, 0};
    int32_t a, b;
    for (a = 0; a < ny; a++, xp += row, wp += kernel) {
        const int8_t *xr = xp;
#pragma GCC unroll 7
        for (b = 0; b < kernel; b++, xr += c) {
            const uint32_t v = tb_dsp_read4(xr), w = wp[b];
            acc = tb_fast_mac4(acc, tb_dsp_sxtab16(zp, v), tb_dsp_sxtab16_ror8(zp, v), tb_dsp_sxtb16(w),
                               tb_dsp_sxtb16_ror8(w));
        }
    }
    return acc;
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

/* Outputs i .. i + 3 (channels ch .. ch + 3 of one position) from their sums: one word of y,
 * 4 mask bits (which may open the next mask byte). */
static TB_DWF_INLINE void tb_dwf_store4(int8_t *y, uint8_t *mask, int32_t i, const tb_fast_requant_t *q,
                                        tb_fast_acc4_t acc)
{
    const int32_t v0 = tb_fast_requant(&q[0], acc.a0), v1 = tb_fast_requant(&q[1], acc.a1);
    const int32_t v2 = tb_fast_requant(&q[2], acc.a2), v3 = tb_fast_requant(&q[3], acc.a3);
    const int32_t s0 = tb_dsp_ssat8(v0), s1 = tb_dsp_ssat8(v1);
    const int32_t s2 = tb_dsp_ssat8(v2), s3 = tb_dsp_ssat8(v3);
    const uint32_t word = ((uint32_t)s0 & 0xFFu) | (((uint32_t)s1 & 0xFFu) << 8) |
                          (((uint32_t)s2 & 0xFFu) << 16) | ((uint32_t)s3 << 24);
    __builtin_memcpy(y + i, &word, 4);
    if (mask != NULL) {
        const uint32_t bits = ((uint32_t)(s0 == v0) | ((uint32_t)(s1 == v1) << 1) |
                               ((uint32_t)(s2 == v2) << 2) | ((uint32_t)(s3 == v3) << 3)) << (i & 7);
        uint8_t *m = mask + (i >> 3);
        m[0] = (uint8_t)(m[0] | bits);
        if (bits > 0xFFu) {
            m[1] = (uint8_t)(m[1] | (bits >> 8));
        }
    }
}

/* One window of the group ch (an edge window: its taps from its own ranges); ky0, ky1: the
 * tap rows of its output row. */
static void tb_dwf_edge4(const tb_dwf_t *k, const uint32_t *pack, const tb_fast_requant_t *q,
                         int32_t ch, int32_t oy, int32_t ox, int32_t ky0, int32_t ky1)
{
    const int32_t row = k->w_in * k->c;
    int32_t kx0, kx1, iy, ix;
    tb_fast_tap_range(ox, k->stride, k->kernel, k->w_in, &kx0, &kx1);
    iy = oy * k->stride - k->pad + ky0;
    ix = ox * k->stride - k->pad + kx0;
    tb_dwf_store4(k->y, k->mask, (oy * k->w_out + ox) * k->c + ch, q,
                  tb_dwf_taps4(k->x + (iy * k->w_in + ix) * k->c + ch, pack + ky0 * k->kernel + kx0,
                               ky1 - ky0, kx1 - kx0, row, k->c, k->kernel, k->zp));
}

/* The interior windows ox_lo .. ox_hi - 1 of output row oy of the group ch: taps rows
 * [ky0, ky1), every tap column. `kernel` is a constant at each call site. */
static TB_DWF_INLINE void tb_dwf_interior4(const tb_dwf_t *k, const uint32_t *pack, const tb_fast_requant_t *q,
                                           int32_t ch, int32_t oy, int32_t ky0, int32_t ky1, int32_t kernel)
{
    const int32_t c = k->c, row = k->w_in * c, step = k->stride * c, ny = ky1 - ky0;
    const int32_t iy = oy * k->stride - k->pad + ky0;
    const int8_t *xp = k->x + (iy * k->w_in + k->ox_lo * k->stride - k->pad) * c + ch;
    const uint32_t *wp = pack + ky0 * kernel;
    const uint32_t zp = k->zp;
    int8_t *y = k->y;
    uint8_t *mask = k->mask;
    int32_t i = (oy * k->w_out + k->ox_lo) * c + ch;
    const int32_t end = (oy * k->w_out + k->ox_hi) * c + ch;
    for (; i < end; xp += step, i += c) {
        tb_dwf_store4(y, mask, i, q, tb_dwf_window4(xp, wp, ny, row, c, kernel, zp));
    }
}

/* Every output of the group of channels ch .. ch + 3. */
static void tb_dwf_group4(const tb_dwf_t *k, const uint32_t *pack, const tb_fast_requant_t *q, int32_t ch)
{
    int32_t oy, ox;
    for (oy = 0; oy < k->h_out; oy++) {
        int32_t ky0, ky1;
        tb_fast_tap_range(oy, k->stride, k->kernel, k->h_in, &ky0, &ky1);
        for (ox = 0; ox < k->ox_lo; ox++) {
            tb_dwf_edge4(k, pack, q, ch, oy, ox, ky0, ky1);
        }
        switch (k->kernel) {
        case 3:
            tb_dwf_interior4(k, pack, q, ch, oy, ky0, ky1, 3);
            break;
        case 5:
            tb_dwf_interior4(k, pack, q, ch, oy, ky0, ky1, 5);
            break;
        case 7:
            tb_dwf_interior4(k, pack, q, ch, oy, ky0, ky1, 7);
            break;
        default:
            tb_dwf_interior4(k, pack, q, ch, oy, ky0, ky1, k->kernel);
            break;
        }
        for (ox = k->ox_hi; ox < k->w_out; ox++) {
            tb_dwf_edge4(k, pack, q, ch, oy, ox, ky0, ky1);
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

void tb_depthwise_fwd_s8(const int8_t *x, int32_t h_in, int32_t w_in, int32_t c,
                         int32_t x_zero, const int8_t *w_train, const int8_t *w_frozen,
                         int32_t k_train, const int32_t *bias, int32_t kernel, int32_t stride,
                         const int32_t *mult, const int32_t *shift, int32_t y_zero, int8_t *y,
                         uint8_t *mask)
{
    const int32_t kk = kernel * kernel;
    const int32_t c4 = kernel <= TB_FAST_DW_MAX_K ? c & ~3 : 0; /* channels taken 4 at a time */
    const int32_t right = w_in - kernel + kernel / 2;           /* the last inside window start + pad */
    uint32_t pack[TB_FAST_DW_MAX_K * TB_FAST_DW_MAX_K];
    tb_fast_requant_t q[4];
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
    k.zp = tb_dsp_pair(-x_zero);
    k.ox_lo = (k.pad + stride - 1) / stride;
    k.ox_hi = right >= 0 ? right / stride + 1 : 0;
    k.ox_hi = k.ox_hi < k.w_out ? k.ox_hi : k.w_out;
    k.ox_lo = k.ox_lo < k.ox_hi ? k.ox_lo : k.ox_hi;
    k.y = y;
    k.mask = mask;
    tb_fast_mask_clear(mask, k.h_out * k.w_out * c);
    for (ch = 0; ch < c4; ch += 4) {
        tb_fast_dw_pack4(w_train, w_frozen, k_train, ch, kk, pack);
        for (j = 0; j < 4; j++) {
            q[j] = tb_fast_requant_init(bias[ch + j], mult[ch + j], shift[ch + j], y_zero);
        }
        tb_dwf_group4(&k, pack, q, ch);
    }
    for (; ch < c; ch++) {
        q[0] = tb_fast_requant_init(bias[ch], mult[ch], shift[ch], y_zero);
        tb_dwf_channel(&k, tb_fast_dw_filter(w_train, w_frozen, k_train, ch, kk), q, ch);
    }
}
