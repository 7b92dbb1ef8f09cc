/* tb_depthwise_bwd_input_s8, fast: the same bytes and exponent as
 * src/ConvolutionBackward/tb_depthwise_bwd_input_s8.c.
 *
 * The same two passes of the runtime shift rule (the range, then the writes) over the same
 * int32 tap sums and int64 accumulators, in another order: channels 4 at a time (one word of
 * the gradient per tap), each group's filters packed once per pass so that byte j of a word
 * is channel j (tb_fast_dw_pack4), the taps of each input row and column found once
 * (tb_fast_tap_gather) instead of a division per tap, the mask bits of the 4 channels turned
 * into a byte mask of the word by a table, and four 16 x 16 multiply-accumulates per word
 * (SXTB16, SMLABB, SMLATT). The last c % 4 channels (all channels for kernels above 7) take
 * the taps one by one. The order does not change a result: the range is a maximum and a
 * minimum, each output its own accumulator. */
#include "tb_kernels.h"
#include "Internal/tb_nn_fast.h"

typedef struct {
    const int8_t *grad;
    const uint8_t *mask;
    int32_t c, kernel, stride, w_out;
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

/* The masked tap sums of channels ch .. ch + 3 at the current input position (masked = 0: no
 * mask; a constant at each call, so each call site gets its own loop). */
static inline tb_fast_acc4_t tb_dwbi_sum4(const tb_dwbi_t *k, const uint32_t *pack, int32_t ch,
                                          int32_t masked)
{
    const int8_t *grad = k->grad;
    const uint8_t *mask = k->mask;
    const int32_t c = k->c, stride = k->stride;
    tb_fast_acc4_t acc = {0, 0, 0, 0};
    int32_t a;
    for (a = 0; a < k->ny; a++) {
        const uint32_t *wr = pack + (k->ky0 + a * stride) * k->kernel + k->kx0;
        int32_t gi = ((k->oy0 - a) * k->w_out + k->ox0) * c + ch;
        const int32_t end = gi - k->nx * c;
        for (; gi != end; gi -= c, wr += stride) {
            uint32_t g = tb_dsp_read4(grad + gi);
            const uint32_t w = *wr;
            if (masked) {
                g &= tb_dwbi_pass4(mask, gi);
            }
            acc = tb_fast_mac4(acc, tb_dsp_sxtb16(g), tb_dsp_sxtb16_ror8(g), tb_dsp_sxtb16(w), tb_dsp_sxtb16_ror8(w));
        }
    }
    return acc;
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

int32_t tb_depthwise_bwd_input_s8(const int8_t *grad, int32_t e_grad, const uint8_t *mask,
                                  int32_t h_in, int32_t w_in, int32_t c,
                                  const int8_t *w_train, const int8_t *w_frozen,
                                  int32_t k_train, int32_t kernel, int32_t stride,
                                  const int32_t *w_factor, int32_t w_exp, int8_t *grad_in)
{
    const int32_t h_out = (h_in + stride - 1) / stride;
    const int32_t kk = kernel * kernel;
    const int32_t c4 = kernel <= TB_FAST_DW_MAX_K ? c & ~3 : 0; /* channels taken 4 at a time */
    uint32_t pack[TB_FAST_DW_MAX_K * TB_FAST_DW_MAX_K];
    int64_t rng[2] = {0, 0};
    tb_fast_shift_t s;
    tb_dwbi_t k;
    int32_t p, ch, iy, ix, j;
    k.grad = grad;
    k.mask = mask;
    k.c = c;
    k.kernel = kernel;
    k.stride = stride;
    k.w_out = (w_in + stride - 1) / stride;
    tb_fast_shift_set(&s, 0);
    for (p = 0; p < 2; p++) {
        if (p == 1) {
            tb_fast_shift_set(&s, tb_nn_grad_shift(rng));
        }
        for (ch = 0; ch < c; ch += ch < c4 ? 4 : 1) {
            const int32_t nb = ch < c4 ? 4 : 1;
            const int8_t *f = tb_fast_dw_filter(w_train, w_frozen, k_train, ch, kk);
            if (nb == 4) {
                tb_fast_dw_pack4(w_train, w_frozen, k_train, ch, kk, pack);
            }
            for (iy = 0; iy < h_in; iy++) {
                tb_fast_tap_gather(iy, stride, kernel, h_out, &k.ky0, &k.ny, &k.oy0);
                for (ix = 0; ix < w_in; ix++) {
                    int32_t acc[4];
                    tb_fast_acc4_t a4;
                    int8_t *out = grad_in + (iy * w_in + ix) * c + ch;
                    tb_fast_tap_gather(ix, stride, kernel, k.w_out, &k.kx0, &k.nx, &k.ox0);
                    if (nb == 4) {
                        a4 = mask != NULL ? tb_dwbi_sum4(&k, pack, ch, 1) : tb_dwbi_sum4(&k, pack, ch, 0);
                        acc[0] = a4.a0;
                        acc[1] = a4.a1;
                        acc[2] = a4.a2;
                        acc[3] = a4.a3;
                    } else {
                        acc[0] = tb_dwbi_sum1(&k, f, ch);
                    }
                    for (j = 0; j < nb; j++) {
                        const int64_t a = (int64_t)acc[j] * w_factor[ch + j];
                        if (p == 0) {
                            tb_nn_range_add(rng, a);
                        } else {
                            out[j] = tb_fast_shift_apply(&s, a);
                        }
                    }
                }
            }
        }
    }
    return e_grad + w_exp + s.n;
}
