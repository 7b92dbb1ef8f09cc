/**
 * @file tb_test_fault.c
 * @brief Faulting test: op 1 reads an unmapped address (TB_FAULT_KIND 1, a precise BusFault
 *        with BFAR = TB_FAULT_ADDR) or executes an undefined instruction (TB_FAULT_KIND 2,
 *        UsageFault UNDEFINSTR) in a function named so that the host can check the report.
 */
#include "tb_harness.h"

#ifndef TB_FAULT_KIND
#define TB_FAULT_KIND 1
#endif
#ifndef TB_FAULT_ADDR
#define TB_FAULT_ADDR 0x30000000u /* nothing is mapped there on the boards tinybench uses */
#endif

TB_ARENA_DEFINE(64);
const char *const tb_op_names[] = {"warmup", "bad_access"};
const uint32_t tb_op_count = 2;
static int32_t param[4];

void tb_model_init(void)
{
    for (int i = 0; i < 4; i++) param[i] = i;
}

__attribute__((noinline)) uint32_t tb_fault_bad_read(void)
{
    return TB_REG32(TB_FAULT_ADDR);
}

__attribute__((noinline)) void tb_fault_undefined(void)
{
    __asm volatile("udf #0x42");
}

void tb_train_step(tb_profile_t *prof)
{
    (void)prof;
    TB_OP_BEGIN(0);
    for (int i = 0; i < 4; i++) param[i] += i;
    TB_OP_END(0);
    TB_OP_BEGIN(1);
#if TB_FAULT_KIND == 1
    param[0] += (int32_t)tb_fault_bad_read();
#else
    tb_fault_undefined();
#endif
    TB_OP_END(1);
}

uint32_t tb_param_checksum(void) { return tb_crc32(0u, param, sizeof param); }
