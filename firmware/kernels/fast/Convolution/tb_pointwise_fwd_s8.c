/* tb_pointwise_fwd_s8, fast: tiles of 2 positions x 2 output channels, SMLAD over 4 input
 * channels per step (8 in the assembly main loop of the usual one-part layout), the
 * requantization in 32 bits. Same results as src/Convolution/tb_pointwise_fwd_s8.c.
 *
 * Loop nest: rows; in a row, pairs of output channels (c, c + 1; an odd last channel pairs
 * with itself), their requantization prepared once; pairs of positions (an odd last position
 * pairs with itself). A row is finished before the next is read: an in-place output row may
 * overlap the previous input row (stream_overlap). */
#include "tb_kernels.h"
#include "Internal/tb_nn_fast.h"

/* The 2 x 2 accumulators of positions x0, x1 and output channels c, c1 over both weight
 * parts (rows of k_train and c_in - k_train weights). */
static inline void tb_pw_tile(const int8_t *x0, const int8_t *x1, int32_t c_in, int32_t x_zero,
                              uint32_t zp, const int8_t *w_train, const int8_t *w_frozen,
                              int32_t k_train, int32_t c, int32_t c1, int32_t *acc)
{
    const int32_t k_frozen = c_in - k_train;
    if (x1 == x0 + c_in && c1 == c + 1 && (k_train == 0 || k_frozen == 0)) {
        /* one weight part with rows as long as the inputs: both second operands one stride on */
        tb_fast_dot_2x2_strided(x0, k_train ? w_train + c * c_in : w_frozen + c * c_in, c_in, c_in,
                                x_zero, zp, acc);
        return;
    }
    tb_fast_dot_2x2(x0, x1, w_train + c * k_train, w_train + c1 * k_train, k_train, x_zero, zp, acc);
    tb_fast_dot_2x2(x0 + k_train, x1 + k_train, w_frozen + c * k_frozen, w_frozen + c1 * k_frozen,
                    k_frozen, x_zero, zp, acc);
}

/* The position pairs (x, x + c_in), (x + 2 c_in, ...) of one row for the output channels
 * c, c + 1 of the one-part layout (weight rows wr, wr + c_in): the common case, kept apart so
 * that the loop around the assembly dot product has few values to keep. */
static void tb_pw_row_pairs(const int8_t *x, const int8_t *x_end, int32_t c_in, int32_t x_zero,
                            uint32_t zp, const int8_t *wr, const tb_fast_requant_t *q, int8_t *y,
                            int32_t c_out, uint8_t *mask, int32_t i)
{
    for (; x != x_end; x += 2 * c_in, y += 2 * c_out, i += 2 * c_out) {
        int32_t acc[4];
        acc[0] = acc[1] = acc[2] = acc[3] = 0; /* not an initializer: -Os makes it a memset */
        tb_fast_dot_2x2_strided(x, wr, c_in, c_in, x_zero, zp, acc);
        tb_fast_store_pair_s8(y, mask, i, tb_fast_requant(&q[0], acc[0]), tb_fast_requant(&q[1], acc[1]));
        tb_fast_store_pair_s8(y + c_out, mask, i + c_out, tb_fast_requant(&q[0], acc[2]),
                              tb_fast_requant(&q[1], acc[3]));
    }
}

void tb_pointwise_fwd_s8(const int8_t *x, int32_t h, int32_t w, int32_t c_in, int32_t x_zero,
                         const int8_t *w_train, const int8_t *w_frozen, int32_t k_train,
                         const int32_t *bias, int32_t c_out, const int32_t *mult,
                         const int32_t *shift, int32_t y_zero, int8_t *y, uint8_t *mask)
{
    const uint32_t zp = tb_dsp_pair(-x_zero);
    const int8_t *w_one = k_train == 0 ? w_frozen : (k_train == c_in ? w_train : NULL);
    int32_t row, col, c;
    tb_fast_mask_clear(mask, h * w * c_out);
    for (row = 0; row < h; row++) {
        for (c = 0; c < c_out; c += 2) {
            const int32_t c1 = c + 1 < c_out ? c + 1 : c;
            tb_fast_requant_t q[2];
            col = 0;
            q[0] = tb_fast_requant_init(bias[c], mult[c], shift[c], y_zero);
            q[1] = tb_fast_requant_init(bias[c1], mult[c1], shift[c1], y_zero);
            if (w_one != NULL && c1 == c + 1) {
                col = w & ~1;
                tb_pw_row_pairs(x + row * w * c_in, x + (row * w + col) * c_in, c_in, x_zero, zp,
                                w_one + c * c_in, q, y + row * w * c_out + c, c_out, mask,
                                row * w * c_out + c);
            }
            for (; col < w; col += 2) {
                const int32_t p0 = row * w + col;
                const int32_t p1 = col + 1 < w ? p0 + 1 : p0;
                int32_t acc[4];
                acc[0] = acc[1] = acc[2] = acc[3] = 0; /* not an initializer: -Os makes it a memset */
                int32_t v00, v01, v10, v11;
                tb_pw_tile(x + p0 * c_in, x + p1 * c_in, c_in, x_zero, zp, w_train, w_frozen, k_train,
                           c, c1, acc);
                v00 = tb_fast_requant(&q[0], acc[0]);
                v01 = tb_fast_requant(&q[1], acc[1]);
                v10 = tb_fast_requant(&q[0], acc[2]);
                v11 = tb_fast_requant(&q[1], acc[3]);
                if (c1 == c) {
                    tb_fast_store_s8(y, mask, p1 * c_out + c, v10);
                    tb_fast_store_s8(y, mask, p0 * c_out + c, v00);
                } else {
                    tb_fast_store_pair_s8(y + p1 * c_out + c, mask, p1 * c_out + c, v10, v11);
                    tb_fast_store_pair_s8(y + p0 * c_out + c, mask, p0 * c_out + c, v00, v01);
                }
            }
        }
    }
}
