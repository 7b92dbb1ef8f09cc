/* tb_pwdw_fwd_s8, fast: same results as src/Convolution/tb_pwdw_fwd_s8.c.
 *
 * Per channel plane: the pointwise part four positions at a time (the weight row widened once
 * for four inputs, SMLAD), requantized in 32 bits; then the depthwise part over the plane with
 * the tap range of each output row and column computed once. A window whose taps are all
 * inside along x reads each row of the plane as words (SXTAB16 with the zero point, SMLAD
 * against the filter row widened once per channel and padded with zero weights to a multiple
 * of 4; the bytes read past the row meet those zeros), provided the words stay inside the
 * plane; other windows take the taps one by one. */
#include "tb_kernels.h"
#include "Internal/tb_nn_fast.h"

#define TB_PWDW_MAX_K 7
#define TB_PWDW_WORDS 2 /* ceil(TB_PWDW_MAX_K / 4) */

/* The pointwise part of channel ch into plane[0 .. positions). */
static void tb_pwdw_plane(const int8_t *x, int32_t positions, int32_t c_in, int32_t x_zero,
                          const int8_t *wr, const tb_fast_requant_t *q, int8_t *plane)
{
    const uint32_t zp = tb_dsp_pair(-x_zero);
    int32_t pos = 0;
    for (; pos + 4 <= positions; pos += 4) {
        int32_t acc[4];
        acc[0] = acc[1] = acc[2] = acc[3] = 0; /* not an initializer: -Os makes it a memset */
        tb_fast_dot_4x1(x + pos * c_in, c_in, wr, c_in, x_zero, zp, acc);
        plane[pos] = (int8_t)tb_dsp_ssat8(tb_fast_requant(q, acc[0]));
        plane[pos + 1] = (int8_t)tb_dsp_ssat8(tb_fast_requant(q, acc[1]));
        plane[pos + 2] = (int8_t)tb_dsp_ssat8(tb_fast_requant(q, acc[2]));
        plane[pos + 3] = (int8_t)tb_dsp_ssat8(tb_fast_requant(q, acc[3]));
    }
    for (; pos < positions; pos++) {
        plane[pos] = (int8_t)tb_dsp_ssat8(tb_fast_requant(q, tb_fast_dot_1x1(x + pos * c_in, wr, c_in, x_zero, zp)));
    }
}

int32_t tb_pwdw_fwd_s8(const int8_t *x, int32_t h_in, int32_t w_in, int32_t c_in, int32_t x_zero,
                       const int8_t *pw_w, const int32_t *pw_bias, const int32_t *pw_mult,
                       const int32_t *pw_shift, int32_t mid_zero, int32_t c_mid, int8_t *plane,
                       const int8_t *dw_w, const int32_t *dw_bias, int32_t kernel, int32_t stride,
                       const int32_t *dw_mult, const int32_t *dw_shift, int32_t y_zero, int8_t *y,
                       uint8_t *mask)
{
    const int32_t h_out = (h_in + stride - 1) / stride;
    const int32_t w_out = (w_in + stride - 1) / stride;
    const int32_t n = h_out * w_out * c_mid;
    const int32_t positions = h_in * w_in;
    const int32_t kk = kernel * kernel;
    const int32_t words = (kernel + 3) / 4;
    const uint32_t mz = tb_dsp_pair(-mid_zero);
    const int32_t pad = kernel / 2;
    uint32_t we[TB_PWDW_MAX_K][TB_PWDW_WORDS], wo[TB_PWDW_MAX_K][TB_PWDW_WORDS];
    int32_t ch, oy, ox, ky, kx, q;
    tb_fast_mask_clear(mask, n);
    for (ch = 0; ch < c_mid; ch++) {
        const tb_fast_requant_t qp = tb_fast_requant_init(pw_bias[ch], pw_mult[ch], pw_shift[ch], mid_zero);
        const tb_fast_requant_t qd = tb_fast_requant_init(dw_bias[ch], dw_mult[ch], dw_shift[ch], y_zero);
        const int8_t *wd = dw_w + ch * kk;
        const int32_t words_ok = kernel <= TB_PWDW_MAX_K;
        tb_pwdw_plane(x, positions, c_in, x_zero, pw_w + ch * c_in, &qp, plane);
        if (words_ok) {
            for (ky = 0; ky < kernel; ky++) {
                for (q = 0; q < words; q++) {
                    uint32_t v = 0;
                    for (kx = 4 * q; kx < 4 * q + 4 && kx < kernel; kx++) {
                        v |= (uint32_t)(uint8_t)wd[ky * kernel + kx] << (8 * (kx - 4 * q));
                    }
                    we[ky][q] = tb_dsp_sxtb16(v);
                    wo[ky][q] = tb_dsp_sxtb16_ror8(v);
                }
            }
        }
        for (oy = 0; oy < h_out; oy++) {
            int32_t ky0, ky1;
            const int32_t iy0 = oy * stride - pad;
            tb_fast_tap_range(oy, stride, kernel, h_in, &ky0, &ky1);
            for (ox = 0; ox < w_out; ox++) {
                int32_t kx0, kx1, acc = 0;
                const int32_t ix0 = ox * stride - pad;
                const int32_t i = (oy * w_out + ox) * c_mid + ch;
                tb_fast_tap_range(ox, stride, kernel, w_in, &kx0, &kx1);
                if (words_ok && kx0 == 0 && kx1 == kernel && ky1 > ky0 &&
                    (iy0 + ky1 - 1) * w_in + ix0 + 4 * words <= positions) {
                    for (ky = ky0; ky < ky1; ky++) {
                        const int8_t *r = plane + (iy0 + ky) * w_in + ix0;
                        for (q = 0; q < words; q++) {
                            const uint32_t v = tb_dsp_read4(r + 4 * q);
                            acc = tb_dsp_smlad(tb_dsp_sxtab16_ror8(mz, v), wo[ky][q],
                                               tb_dsp_smlad(tb_dsp_sxtab16(mz, v), we[ky][q], acc));
                        }
                    }
                } else {
                    for (ky = ky0; ky < ky1; ky++) {
                        const int32_t r = (iy0 + ky) * w_in + ix0;
                        const int8_t *wk = wd + ky * kernel;
                        for (kx = kx0; kx < kx1; kx++) {
                            acc += (plane[r + kx] - mid_zero) * wk[kx];
                        }
                    }
                }
                tb_fast_store_s8(y, mask, i, tb_fast_requant(&qd, acc));
            }
        }
    }
    return n;
}
