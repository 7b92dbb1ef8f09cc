/*
 * tb_nn_dsp.h - the Cortex-M DSP-extension instructions the fast kernels use, as inline
 * functions named after the instruction.
 *
 * On a core with the DSP extension (__ARM_FEATURE_DSP: Cortex-M4, M7) each is the
 * instruction itself (a gcc builtin, or inline assembly where gcc would not fold a rotation
 * into the instruction). Elsewhere (the host build used to test the fast kernels) each is a
 * plain C statement of the instruction's definition in the ARMv7-M Architecture Reference
 * Manual, lanes little-endian, so the same kernel source runs on both.
 * Only <stdint.h>: no libc, no floating point.
 */
#ifndef TB_NN_DSP_H
#define TB_NN_DSP_H

#include <stdint.h>

/* Lanes are numbered from the least significant byte: the word loads below assume a
 * little-endian target (every Cortex-M build here, and x86/arm64 hosts). */
typedef char tb_dsp_little_endian_check[(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) ? 1 : -1];

/* Four consecutive int8 as one word (any alignment: an unaligned LDR on Cortex-M4/M7). */
static inline uint32_t tb_dsp_read4(const int8_t *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}

/* Store the low 16 bits of v at p (any alignment). */
static inline void tb_dsp_write2(int8_t *p, uint32_t v)
{
    const uint16_t h = (uint16_t)v;
    __builtin_memcpy(p, &h, 2);
}

/* The signed low and high halfwords of x (the lanes of the 16-bit instructions); in products
 * gcc makes them the B and T operands of SMLABB, SMLATT. */
static inline int32_t tb_dsp_lo(uint32_t x)
{
    return (int16_t)(x & 0xFFFFu);
}

static inline int32_t tb_dsp_hi(uint32_t x)
{
    return (int16_t)(x >> 16);
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP

/* SXTB16: bytes 0 and 2 of x, sign-extended into the two halfwords. */
static inline uint32_t tb_dsp_sxtb16(uint32_t x)
{
    return (uint32_t)__builtin_arm_sxtb16((int32_t)x);
}

/* SXTB16 x, ROR #8: bytes 1 and 3. */
static inline uint32_t tb_dsp_sxtb16_ror8(uint32_t x)
{
    uint32_t r;
    __asm("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

/* SXTAB16: halfwords of a plus bytes 0 and 2 of x, sign-extended (each lane mod 2^16). */
static inline uint32_t tb_dsp_sxtab16(uint32_t a, uint32_t x)
{
    return (uint32_t)__builtin_arm_sxtab16((int32_t)a, (int32_t)x);
}

/* SXTAB16 a, x, ROR #8: halfwords of a plus bytes 1 and 3 of x. */
static inline uint32_t tb_dsp_sxtab16_ror8(uint32_t a, uint32_t x)
{
    uint32_t r;
    __asm("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
}

/* SMLAD: acc + lo(x) * lo(y) + hi(x) * hi(y), signed halfwords, mod 2^32. */
static inline int32_t tb_dsp_smlad(uint32_t x, uint32_t y, int32_t acc)
{
    return __builtin_arm_smlad((int32_t)x, (int32_t)y, acc);
}

/* QADD: saturating signed 32-bit addition. */
static inline int32_t tb_dsp_qadd(int32_t a, int32_t b)
{
    return __builtin_arm_qadd(a, b);
}

/* SSAT #8: clamp to [-128, 127]. */
static inline int32_t tb_dsp_ssat8(int32_t v)
{
    return __builtin_arm_ssat(v, 8);
}

#else /* portable statements of the same instructions */

static inline uint32_t tb_dsp_lanes(int32_t lo, int32_t hi)
{
    return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
}

static inline int32_t tb_dsp_byte(uint32_t x, int k)
{
    return (int8_t)((x >> (8 * k)) & 0xFFu);
}

static inline uint32_t tb_dsp_sxtb16(uint32_t x)
{
    return tb_dsp_lanes(tb_dsp_byte(x, 0), tb_dsp_byte(x, 2));
}

static inline uint32_t tb_dsp_sxtb16_ror8(uint32_t x)
{
    return tb_dsp_lanes(tb_dsp_byte(x, 1), tb_dsp_byte(x, 3));
}

static inline uint32_t tb_dsp_sxtab16(uint32_t a, uint32_t x)
{
    return tb_dsp_lanes(tb_dsp_lo(a) + tb_dsp_byte(x, 0), tb_dsp_hi(a) + tb_dsp_byte(x, 2));
}

static inline uint32_t tb_dsp_sxtab16_ror8(uint32_t a, uint32_t x)
{
    return tb_dsp_lanes(tb_dsp_lo(a) + tb_dsp_byte(x, 1), tb_dsp_hi(a) + tb_dsp_byte(x, 3));
}

static inline int32_t tb_dsp_smlad(uint32_t x, uint32_t y, int32_t acc)
{
    const uint32_t sum = (uint32_t)acc + (uint32_t)(tb_dsp_lo(x) * tb_dsp_lo(y)) +
                         (uint32_t)(tb_dsp_hi(x) * tb_dsp_hi(y));
    return (int32_t)sum;
}

static inline int32_t tb_dsp_qadd(int32_t a, int32_t b)
{
    const int64_t s = (int64_t)a + b;
    return s > INT32_MAX ? INT32_MAX : (s < INT32_MIN ? INT32_MIN : (int32_t)s);
}

static inline int32_t tb_dsp_ssat8(int32_t v)
{
    return v > 127 ? 127 : (v < -128 ? -128 : v);
}

#endif

/* The halfword pair (v, v) for SXTAB16 (v in [-32768, 32767]). */
static inline uint32_t tb_dsp_pair(int32_t v)
{
    return ((uint32_t)v & 0xFFFFu) * 0x00010001u;
}

/* ---------------------------------------------------------------- tb_depthwise_fwd_s8 */

/* USAT #8: clamp to [0, 255]. */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
static inline int32_t tb_dsp_usat8(int32_t v)
{
    return (int32_t)__builtin_arm_usat(v, 8);
}
#else
static inline int32_t tb_dsp_usat8(int32_t v)
{
    return v > 255 ? 255 : (v < 0 ? 0 : v);
}
#endif

/* ------------------------------------------------ added for tb_pointwise_bwd_weight_sgd_s8 */

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* QSUB: saturating signed 32-bit subtraction a - b. */
static inline int32_t tb_dsp_qsub(int32_t a, int32_t b)
{
    return __builtin_arm_qsub(a, b);
}
#else
static inline int32_t tb_dsp_qsub(int32_t a, int32_t b)
{
    const int64_t d = (int64_t)a - b;
    return d > INT32_MAX ? INT32_MAX : (d < INT32_MIN ? INT32_MIN : (int32_t)d);
}
#endif

/* ------------------------------------------------ added for tb_pwdw_fwd_s8, tb_conv_fwd_s8 */

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* SMMLA: a + floor(x * y / 2^32), mod 2^32 (gcc would emit SMULL and an ADD). */
static inline int32_t tb_dsp_smmla(int32_t x, int32_t y, int32_t a)
{
    int32_t r;
    __asm("smmla %0, %1, %2, %3" : "=r"(r) : "r"(x), "r"(y), "r"(a));
    return r;
}
#else
static inline int32_t tb_dsp_smmla(int32_t x, int32_t y, int32_t a)
{
    return (int32_t)(uint32_t)((((uint64_t)(uint32_t)a << 32) + (uint64_t)((int64_t)x * y)) >> 32);
}
#endif

#endif /* TB_NN_DSP_H */
