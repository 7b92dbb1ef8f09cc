/**
 * @file tb_test_big.c
 * @brief Does not fit: TB_BIG_BYTES (default 400 KiB) of static state, more than any
 *        target's SRAM, so the link fails with "region `RAM' overflowed".
 */
#include "tb_harness.h"

#ifndef TB_BIG_BYTES
#define TB_BIG_BYTES (400u * 1024u)
#endif

TB_ARENA_DEFINE(1024);
const char *const tb_op_names[] = {"touch"};
const uint32_t tb_op_count = 1;
static uint8_t big_state[TB_BIG_BYTES];

void tb_model_init(void) { big_state[0] = 1u; }

void tb_train_step(tb_profile_t *prof)
{
    (void)prof;
    TB_OP_BEGIN(0);
    for (uint32_t i = 1; i < TB_BIG_BYTES; i += 4096u) big_state[i] = big_state[i - 1u];
    TB_OP_END(0);
}

uint32_t tb_param_checksum(void) { return tb_crc32(0u, big_state, 64u); }
