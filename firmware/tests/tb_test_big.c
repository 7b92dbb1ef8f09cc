/**
 * @file tb_test_big.c
 * @brief Does not fit: TB_BIG_BYTES (default 400 KiB) of static state, more than any
 *        target's SRAM, so the link fails with "region `RAM' overflowed".
 *        With -DTB_BIG_FLASH=<bytes> a constant table of that size goes to flash instead
 *        (and TB_BIG_BYTES can be made small) to overflow the FLASH region.
 */
#include "tb_harness.h"

#ifndef TB_BIG_BYTES
#define TB_BIG_BYTES (400u * 1024u)
#endif

TB_ARENA_DEFINE(1024);
const char *const tb_op_names[] = {"touch"};
const uint32_t tb_op_count = 1;
static uint8_t big_state[TB_BIG_BYTES];
#ifdef TB_BIG_FLASH
static const uint8_t big_table[TB_BIG_FLASH] = {1u};
#endif

void tb_model_init(void)
{
    big_state[0] = 1u;
#ifdef TB_BIG_FLASH
    big_state[0] = ((const volatile uint8_t *)big_table)[TB_BIG_FLASH / 2u];
#endif
}

void tb_train_step(tb_profile_t *prof)
{
    (void)prof;
    TB_OP_BEGIN(0);
    for (uint32_t i = 1; i < TB_BIG_BYTES; i += 4096u) big_state[i] = big_state[i - 1u];
    TB_OP_END(0);
}

uint32_t tb_param_checksum(void) { return tb_crc32(0u, big_state, 64u); }
