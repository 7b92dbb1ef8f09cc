/*
 * tb_kernels.h - integer (int8) training kernels of tinybench.
 *
 * One public header for every kernel; each kernel lives in its own file
 * src/<Category>/<name>.c and has a Numba twin of the same name, parameters and loop
 * structure in tinybench/kernels/. The exact arithmetic is defined in docs/kernels.md;
 * both implementations agree bit for bit.
 *
 * Conventions shared by every kernel
 *  - Activations: HWC int8, batch 1. A tensor of H x W x C elements is stored as
 *    x[(y * W + x) * C + c].
 *  - Weights: OHWI int8 [C_out, k, k, C_in] (depthwise [C, k, k, 1]), read through two
 *    pointers: w_train = the first k_train input channels [C_out, k, k, k_train] (SRAM,
 *    updated by SGD) and w_frozen = the others [C_out, k, k, C_in - k_train] (flash).
 *    For depthwise, w_train = channels [0, k_train) and w_frozen = [k_train, C).
 *    0 <= k_train <= C_in; a part with no elements may be NULL.
 *  - Convolutions: square k x k (k odd), padding k / 2 filled with the input zero point,
 *    stride 1 or 2; H_out = (H_in + stride - 1) / stride, likewise W_out.
 *  - Requantization multipliers m in [0, 2^31), shifts s in [1, 62]
 *    (tinybench/models/quant.py): requantize(acc, m, s) = (int64(acc) * m + 2^(s-1)) >> s.
 *  - Masks: 1 bit per output element, 1 = the clamp was not active (gradient passes),
 *    element i at byte i >> 3, bit i & 7; the bytes hold ceil(N / 8) bytes, unused high
 *    bits of the last byte are written 0. Forward kernels write the whole mask (or
 *    nothing if mask is NULL); backward kernels zero the gradient where a bit is 0 (a
 *    NULL mask passes everything).
 *  - Activation gradients: int8 g in [-127, 127] with a per-tensor exponent e,
 *    real = g * 2^e. Kernels producing one compute their accumulators twice (pass 1:
 *    max and min; pass 2: write) and return the exponent of their output: with n the
 *    smallest n >= 0 such that every round-half-up shifted accumulator lies in
 *    [-127, 127], e_out = e_acc + n.
 *  - Scratch: no kernel needs scratch memory (every *_get_buffer_size would be 0).
 *  - Integer only: no floating point, no libc, no dynamic memory, no division wider than
 *    32 bits. A compiler may still call libgcc helpers (__aeabi_*) for 64-bit
 *    arithmetic; gcc 12 for Cortex-M4/M7 needs none.
 *  - Requires `>>` of negative signed integers to be arithmetic (checked at compile
 *    time in Internal/tb_nn_support.h).
 */
#ifndef TB_KERNELS_H
#define TB_KERNELS_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ forward */

/**
 * @brief Dense k x k convolution (groups = 1) with requantization, clamp and mask.
 *
 * acc = sum over (ky, kx, ci) of (x - x_zero) * w (padding contributes 0), int32;
 * y = sat_s8(requantize(sat_s32(acc + bias[c]), mult[c], shift[c]) + y_zero).
 *
 * @param[in]  x        input [h_in, w_in, c_in] int8
 * @param[in]  h_in, w_in, c_in  input dimensions (>= 1)
 * @param[in]  x_zero   input zero point, [-128, 127]
 * @param[in]  w_train  [c_out, kernel, kernel, k_train] int8 (NULL if k_train = 0)
 * @param[in]  w_frozen [c_out, kernel, kernel, c_in - k_train] int8 (NULL if k_train = c_in)
 * @param[in]  k_train  number of trained input channels, [0, c_in]
 * @param[in]  bias     [c_out] int32 (added with int32 saturation)
 * @param[in]  c_out    output channels
 * @param[in]  kernel   k, odd
 * @param[in]  stride   1 or 2
 * @param[in]  mult     [c_out] multipliers, [0, 2^31)
 * @param[in]  shift    [c_out] shifts, [1, 62]
 * @param[in]  y_zero   output zero point, [-128, 127]
 * @param[out] y        output [h_out, w_out, c_out] int8
 * @param[out] mask     [ceil(h_out * w_out * c_out / 8)] bytes, or NULL
 * Range: kernel * kernel * c_in <= 65536 keeps acc inside int32.
 */
void tb_conv_fwd_s8(const int8_t *x, int32_t h_in, int32_t w_in, int32_t c_in, int32_t x_zero,
                    const int8_t *w_train, const int8_t *w_frozen, int32_t k_train,
                    const int32_t *bias, int32_t c_out, int32_t kernel, int32_t stride,
                    const int32_t *mult, const int32_t *shift, int32_t y_zero, int8_t *y,
                    uint8_t *mask);

/**
 * @brief Depthwise k x k convolution (groups = C), requantization, clamp and mask.
 *
 * @param[in]  x        input [h_in, w_in, c] int8
 * @param[in]  h_in, w_in, c  input dimensions
 * @param[in]  x_zero   input zero point, [-128, 127]
 * @param[in]  w_train  [k_train, kernel, kernel] int8: filters of channels [0, k_train)
 * @param[in]  w_frozen [c - k_train, kernel, kernel] int8: filters of channels [k_train, c)
 * @param[in]  k_train  [0, c]
 * @param[in]  bias     [c] int32
 * @param[in]  kernel   3, 5 or 7 (any odd k)
 * @param[in]  stride   1 or 2
 * @param[in]  mult, shift  [c] per-channel requantization
 * @param[in]  y_zero   output zero point
 * @param[out] y        output [h_out, w_out, c] int8
 * @param[out] mask     [ceil(h_out * w_out * c / 8)] bytes, or NULL
 */
void tb_depthwise_fwd_s8(const int8_t *x, int32_t h_in, int32_t w_in, int32_t c,
                         int32_t x_zero, const int8_t *w_train, const int8_t *w_frozen,
                         int32_t k_train, const int32_t *bias, int32_t kernel, int32_t stride,
                         const int32_t *mult, const int32_t *shift, int32_t y_zero, int8_t *y,
                         uint8_t *mask);

/**
 * @brief Frozen pointwise fused with the following depthwise, one channel plane at a time.
 *
 * Same arithmetic as tb_pointwise_fwd_s8 then tb_depthwise_fwd_s8 (all weights frozen), but
 * the expanded tensor [h_in, w_in, c_mid] never exists: each of its channels is computed into
 * @p plane and consumed by the depthwise at once.
 *
 * @param[in]  x        input [h_in, w_in, c_in] int8, zero point x_zero
 * @param[in]  pw_w     pointwise weights [c_mid, c_in] int8
 * @param[in]  pw_bias, pw_mult, pw_shift  [c_mid] pointwise bias and requantization
 * @param[in]  mid_zero zero point of the expanded tensor (pointwise output, depthwise input)
 * @param      plane    scratch [h_in * w_in] int8
 * @param[in]  dw_w     depthwise filters [c_mid, kernel, kernel] int8
 * @param[in]  dw_bias, dw_mult, dw_shift  [c_mid] depthwise bias and requantization
 * @param[in]  kernel, stride  depthwise geometry (odd kernel, stride 1 or 2)
 * @param[in]  y_zero   output zero point
 * @param[out] y        output [h_out, w_out, c_mid] int8
 * @param[out] mask     [ceil(h_out * w_out * c_mid / 8)] bytes, or NULL
 * @return the number of output elements
 */
int32_t tb_pwdw_fwd_s8(const int8_t *x, int32_t h_in, int32_t w_in, int32_t c_in, int32_t x_zero,
                       const int8_t *pw_w, const int32_t *pw_bias, const int32_t *pw_mult,
                       const int32_t *pw_shift, int32_t mid_zero, int32_t c_mid, int8_t *plane,
                       const int8_t *dw_w, const int32_t *dw_bias, int32_t kernel, int32_t stride,
                       const int32_t *dw_mult, const int32_t *dw_shift, int32_t y_zero, int8_t *y,
                       uint8_t *mask);

/**
 * @brief 1x1 convolution, stride 1; the classifier is this kernel with h = w = 1.
 *
 * @param[in]  x        input [h, w, c_in] int8
 * @param[in]  w_train  [c_out, k_train] int8
 * @param[in]  w_frozen [c_out, c_in - k_train] int8
 * @param[out] y        output [h, w, c_out] int8
 * @param[out] mask     [ceil(h * w * c_out / 8)] bytes, or NULL
 * Other parameters as tb_conv_fwd_s8. Range: c_in <= 65536.
 */
void tb_pointwise_fwd_s8(const int8_t *x, int32_t h, int32_t w, int32_t c_in, int32_t x_zero,
                         const int8_t *w_train, const int8_t *w_frozen, int32_t k_train,
                         const int32_t *bias, int32_t c_out, const int32_t *mult,
                         const int32_t *shift, int32_t y_zero, int8_t *y, uint8_t *mask);

/**
 * @brief Residual add: y = sat_s8(y_zero + (((a - a_zero) * mult_a + (b - b_zero) * mult_b
 *        + 2^(shift-1)) >> shift)), in int64, with its mask.
 *
 * @param[in]  a, b     inputs [n] int8 (block input, branch output)
 * @param[in]  mult_a, mult_b  [0, 2^31); shift [1, 62] (ir.quantize_multiplier_pair)
 * @param[out] y        [n] int8 (may alias a or b)
 * @param[out] mask     [ceil(n / 8)] bytes, or NULL
 */
void tb_add_fwd_s8(const int8_t *a, int32_t a_zero, const int8_t *b, int32_t b_zero,
                   int32_t n, int32_t mult_a, int32_t mult_b, int32_t shift, int32_t y_zero,
                   int8_t *y, uint8_t *mask);

/**
 * @brief Global average pool [h, w, c] -> [c], same quantization in and out:
 *        y[c] = zero + floor((2 * S + h*w) / (2 * h*w)), S = sum of (x - zero) over h x w
 *        (the mean rounded half up; always in [-128, 127]).
 *
 * @param[in]  x     [h, w, c] int8
 * @param[in]  zero  zero point
 * @param[out] y     [c] int8
 * Range: h * w <= 2^22 (the sums then fit int32).
 */
void tb_avgpool_fwd_s8(const int8_t *x, int32_t h, int32_t w, int32_t c, int32_t zero,
                       int8_t *y);

/* ----------------------------------------------------------------- backward */

/**
 * @brief Gradient of softmax cross-entropy with respect to the real logits.
 *
 * With ymax = max logit, T = exp_table, sum = sum_c T[ymax - y[c]]:
 * grad[c] = sat(-127..127)(floor((128 * T[ymax - y[c]] + floor(sum / 2)) / sum)
 *           - 128 * (c == label)), i.e. round_half_up(128 * p_c) - 128 * onehot.
 *
 * @param[in]  logits    [n] int8 (the classifier output)
 * @param[in]  n         classes, [1, 32767]
 * @param[in]  label     true class, [0, n)
 * @param[in]  exp_table [256] int32, T[d] = round(2^16 * exp(-y_scale * d)) (host-built:
 *                       tinybench.kernels.host.softmax_exp_table)
 * @param[out] grad      [n] int8 gradient of the logits
 * @return exponent of grad: -7 (real = grad / 128)
 */
int32_t tb_softmax_ce_bwd_s8(const int8_t *logits, int32_t n, int32_t label,
                             const int32_t *exp_table, int8_t *grad);

/**
 * @brief Input gradient of a dense convolution (also the 3x3 stride-2 stem).
 *
 * acc[iy, ix, ci] = sum over (ky, kx, c) with oy * stride - pad + ky = iy (likewise x)
 * of (m[oy, ox, c] ? grad[oy, ox, c] : 0) * w_factor[c] * w[c, ky, kx, ci], int64;
 * grad_in = round_half_up(acc >> n), n from the runtime rule.
 *
 * @param[in]  grad      output gradient [h_out, w_out, c_out] int8, exponent e_grad
 * @param[in]  e_grad    its exponent
 * @param[in]  mask      the layer's output mask, or NULL
 * @param[in]  h_in, w_in, c_in  forward input dimensions
 * @param[in]  w_train, w_frozen, k_train, c_out, kernel, stride  as tb_conv_fwd_s8
 * @param[in]  w_factor  [c_out] int32 in [0, 2^15]: round(w_scale[c] * 2^-w_exp)
 * @param[in]  w_exp     exponent of w_factor (tinybench.kernels.host.input_grad_factors)
 * @param[out] grad_in   [h_in, w_in, c_in] int8
 * @return exponent of grad_in: e_grad + w_exp + n
 */
int32_t tb_conv_bwd_input_s8(const int8_t *grad, int32_t e_grad, const uint8_t *mask,
                             int32_t h_in, int32_t w_in, int32_t c_in, const int8_t *w_train,
                             const int8_t *w_frozen, int32_t k_train, int32_t c_out,
                             int32_t kernel, int32_t stride, const int32_t *w_factor,
                             int32_t w_exp, int8_t *grad_in);

/**
 * @brief Input gradient of a depthwise convolution.
 *
 * acc[iy, ix, ch] = w_factor[ch] * (sum over taps of masked grad * w[ch, ky, kx]), the
 * inner sum in int32, the product in int64. Parameters as tb_conv_bwd_input_s8 with
 * c_in = c_out = c; w_factor [c].
 * @return exponent of grad_in [h_in, w_in, c]
 */
int32_t tb_depthwise_bwd_input_s8(const int8_t *grad, int32_t e_grad, const uint8_t *mask,
                                  int32_t h_in, int32_t w_in, int32_t c,
                                  const int8_t *w_train, const int8_t *w_frozen,
                                  int32_t k_train, int32_t kernel, int32_t stride,
                                  const int32_t *w_factor, int32_t w_exp, int8_t *grad_in);

/**
 * @brief Input gradient of a 1x1 convolution; the classifier is h = w = 1.
 *
 * acc[pos, ci] = sum_c (masked grad[pos, c] * w_factor[c]) * w[c, ci], int64.
 * @param[out] grad_in [h, w, c_in] int8
 * @return exponent of grad_in
 */
int32_t tb_pointwise_bwd_input_s8(const int8_t *grad, int32_t e_grad, const uint8_t *mask,
                                  int32_t h, int32_t w, int32_t c_in, const int8_t *w_train,
                                  const int8_t *w_frozen, int32_t k_train, int32_t c_out,
                                  const int32_t *w_factor, int32_t w_exp, int8_t *grad_in);

/**
 * @brief Copy the first k channels of an HWC tensor: the saved input of a layer whose weight
 *        update covers only its first k input channels.
 * @param[in]  x          [positions, c] int8
 * @param[out] y          [positions, k] int8 (must not overlap x)
 */
void tb_channel_copy_fwd_s8(const int8_t *x, int32_t positions, int32_t c, int32_t k, int8_t *y);

/**
 * @brief Gradient of the residual add: grad_in[i] = mask bit i ? grad[i] : 0, for both
 *        inputs (real y = real a + real b). grad_in may equal grad (in place).
 * @return e_grad (unchanged)
 */
int32_t tb_add_bwd_s8(const int8_t *grad, int32_t e_grad, const uint8_t *mask, int32_t n,
                      int8_t *grad_in);

/**
 * @brief Sum of two activation gradients with different exponents.
 *
 * E = max(e_a, e_b); each operand is round-half-up shifted right by E - its exponent
 * (a shift of 31 or more is taken as 31: the operand becomes 0); the sum then gets the
 * runtime shift rule. out may alias a or b.
 * @return exponent of out: E + n
 */
int32_t tb_grad_sum_bwd_s8(const int8_t *a, int32_t e_a, const int8_t *b, int32_t e_b,
                           int32_t n, int8_t *out);

/**
 * @brief Gradient of the global average pool: every position gets grad[c] / (h * w).
 *
 * acc[c] = grad[c] * K with K = floor((2^23 + floor(h*w / 2)) / (h*w)), exponent
 * e_grad - 23, then the runtime shift rule; the result is written at every position.
 * @param[in]  grad    [c] int8
 * @param[out] grad_in [h, w, c] int8
 * Range: h * w <= 2^22.
 * @return exponent of grad_in
 */
int32_t tb_avgpool_bwd_s8(const int8_t *grad, int32_t e_grad, int32_t h, int32_t w, int32_t c,
                          int8_t *grad_in);

/**
 * @brief Weight and bias gradient sums of a dense convolution (unfused form).
 *
 * grad_w[c, ky, kx, ci] = sum over output positions of mg[oy, ox, c] *
 * (x_saved[oy*stride - pad + ky, ox*stride - pad + kx, ci] - x_zero) (padding: 0);
 * grad_b[c] = sum over positions of mg[oy, ox, c], with mg the masked output gradient.
 *
 * @param[in]  grad     output gradient [h_out, w_out, c_out] int8 (its exponent is
 *                      applied by the update kernel)
 * @param[in]  mask     the layer's output mask, or NULL
 * @param[in]  x_saved  [h_in, w_in, k_train] int8: the first k_train input channels
 *                      (NULL if k_train = 0)
 * @param[out] grad_w   [c_out, kernel, kernel, k_train] int32
 * @param[out] grad_b   [c_out] int32
 * Range: h_out * w_out <= 65536 keeps the sums inside int32.
 */
void tb_conv_bwd_weight_s32(const int8_t *grad, const uint8_t *mask, const int8_t *x_saved,
                            int32_t h_in, int32_t w_in, int32_t k_train, int32_t x_zero,
                            int32_t c_out, int32_t kernel, int32_t stride, int32_t *grad_w,
                            int32_t *grad_b);

/**
 * @brief Weight and bias gradient sums of a depthwise convolution (unfused form).
 * @param[in]  x_saved [h_in, w_in, k_train] int8: channels [0, k_train) of the input
 * @param[out] grad_w  [k_train, kernel, kernel] int32
 * @param[out] grad_b  [c] int32
 */
void tb_depthwise_bwd_weight_s32(const int8_t *grad, const uint8_t *mask,
                                 const int8_t *x_saved, int32_t h_in, int32_t w_in, int32_t c,
                                 int32_t k_train, int32_t x_zero, int32_t kernel,
                                 int32_t stride, int32_t *grad_w, int32_t *grad_b);

/**
 * @brief Weight and bias gradient sums of a 1x1 convolution (unfused form).
 * @param[in]  x_saved [h, w, k_train] int8
 * @param[out] grad_w  [c_out, k_train] int32
 * @param[out] grad_b  [c_out] int32
 */
void tb_pointwise_bwd_weight_s32(const int8_t *grad, const uint8_t *mask,
                                 const int8_t *x_saved, int32_t h, int32_t w, int32_t k_train,
                                 int32_t x_zero, int32_t c_out, int32_t *grad_w,
                                 int32_t *grad_b);

/* ------------------------------------------------------------------- update */

/**
 * @brief SGD step of int8 weights from an int32 gradient buffer (unfused form).
 *
 * w[r, j] = sat_s8(w[r, j] - delta), delta = sat_s32(round_half_up(grad_w[r, j] *
 * mult[r] * 2^(e_grad - shift[r]))) (see docs/kernels.md for shift - e_grad outside
 * [1, 62]).
 * @param[in,out] w      [rows, row_len] int8 (w_train)
 * @param[in]     grad_w [rows, row_len] int32
 * @param[in]     mult   [rows] in [0, 2^31); shift [rows] any int32
 *                       (tinybench.kernels.host.sgd_multipliers)
 * @param[in]     e_grad exponent of the layer's output gradient
 */
void tb_sgd_update_s8(int8_t *w, const int32_t *grad_w, int32_t rows, int32_t row_len,
                      const int32_t *mult, const int32_t *shift, int32_t e_grad);

/**
 * @brief SGD step of int32 biases: b[c] = sat_s32(b[c] - delta(grad_b[c], mult[c],
 *        shift[c], e_grad)).
 */
void tb_sgd_update_s32(int32_t *b, const int32_t *grad_b, int32_t n, const int32_t *mult,
                       const int32_t *shift, int32_t e_grad);

/**
 * @brief Fused weight/bias gradient and SGD step of a dense convolution: computes each
 *        gradient sum as tb_conv_bwd_weight_s32 and applies the step of
 *        tb_sgd_update_s8 / _s32 at once (no gradient buffer). Identical results.
 * @param[in,out] w_train [c_out, kernel, kernel, k_train] int8
 * @param[in]     w_mult, w_shift [c_out]
 * @param[in,out] bias    [c_out] int32
 * @param[in]     b_mult, b_shift [c_out]
 */
void tb_conv_bwd_weight_sgd_s8(const int8_t *grad, const uint8_t *mask, const int8_t *x_saved,
                               int32_t h_in, int32_t w_in, int32_t k_train, int32_t x_zero,
                               int32_t c_out, int32_t kernel, int32_t stride, int32_t e_grad,
                               int8_t *w_train, const int32_t *w_mult, const int32_t *w_shift,
                               int32_t *bias, const int32_t *b_mult, const int32_t *b_shift);

/**
 * @brief Fused form of tb_depthwise_bwd_weight_s32 + SGD.
 * @param[in,out] w_train [k_train, kernel, kernel] int8; w_mult, w_shift [c] (first
 *                k_train used); bias, b_mult, b_shift [c]
 */
void tb_depthwise_bwd_weight_sgd_s8(const int8_t *grad, const uint8_t *mask,
                                    const int8_t *x_saved, int32_t h_in, int32_t w_in,
                                    int32_t c, int32_t k_train, int32_t x_zero, int32_t kernel,
                                    int32_t stride, int32_t e_grad, int8_t *w_train,
                                    const int32_t *w_mult, const int32_t *w_shift,
                                    int32_t *bias, const int32_t *b_mult,
                                    const int32_t *b_shift);

/**
 * @brief Fused form of tb_pointwise_bwd_weight_s32 + SGD.
 * @param[in,out] w_train [c_out, k_train] int8; bias [c_out] int32
 */
void tb_pointwise_bwd_weight_sgd_s8(const int8_t *grad, const uint8_t *mask,
                                    const int8_t *x_saved, int32_t h, int32_t w,
                                    int32_t k_train, int32_t x_zero, int32_t c_out,
                                    int32_t e_grad, int8_t *w_train, const int32_t *w_mult,
                                    const int32_t *w_shift, int32_t *bias,
                                    const int32_t *b_mult, const int32_t *b_shift);

#ifdef __cplusplus
}
#endif

#endif /* TB_KERNELS_H */
