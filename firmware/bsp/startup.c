/**
 * @file startup.c
 * @brief Vector table, reset handler and fault handlers for every tinybench board.
 *
 * Reset: set SP (some loaders enter at the ELF entry point instead of through the vector
 * table), copy .data, zero .bss, enable the FPU, enable the configurable fault handlers and
 * the DWT cycle counter, initialise the UART, run main(), end the run with its status.
 *
 * Faults print one line
 *   TB:FAULT type=<HardFault|MemManage|BusFault|UsageFault|NMI|Unexpected> cause=<...>
 *            pc=0x.. lr=0x.. addr=<0x..|none> cfsr=0x.. hfsr=0x.. mmfar=0x.. bfar=0x..
 * and end the run with TB:END status=fault.
 */
#include "tb_bsp.h"

extern uint32_t __tb_data_load[];
extern uint32_t __tb_data_start[];
extern uint32_t __tb_data_end[];
extern uint32_t __tb_bss_start[];
extern uint32_t __tb_bss_end[];

int main(void);

void tb_reset_handler(void);
void tb_reset_c(void) __attribute__((noreturn, used));
void tb_default_handler(void);
void tb_nmi_handler(void);
void tb_hardfault_handler(void);
void tb_memmanage_handler(void);
void tb_busfault_handler(void);
void tb_usagefault_handler(void);
void tb_fault_report(const uint32_t *frame, uint32_t kind) __attribute__((noreturn, used));

typedef void (*tb_isr_t)(void);

#ifndef TB_SEMIHOSTING
#define TB_SEMIHOSTING 0
#endif
#define TB_STR2(x) #x
#define TB_STR(x) TB_STR2(x)

/* Identifies the build; backends read it from the ELF (symbol tb_meta, section .tb_meta). */
__attribute__((section(".tb_meta"), used)) const char tb_meta[] =
    "tinybench target=" TB_TARGET_NAME " board=" TB_BOARD_NAME
    " semihosting=" TB_STR(TB_SEMIHOSTING);

/* 16 system exception vectors; tinybench firmware enables no peripheral interrupt. */
__attribute__((section(".isr_vector"), used)) const tb_isr_t tb_vectors[16] = {
    (tb_isr_t)(uintptr_t)__tb_stack_top,
    tb_reset_handler,
    tb_nmi_handler,
    tb_hardfault_handler,
    tb_memmanage_handler,
    tb_busfault_handler,
    tb_usagefault_handler,
    0, 0, 0, 0,
    tb_default_handler, /* SVCall */
    tb_default_handler, /* DebugMonitor */
    0,
    tb_default_handler, /* PendSV */
    tb_default_handler, /* SysTick */
};

__attribute__((naked)) void tb_reset_handler(void)
{
    __asm volatile(
        "ldr r0, =__tb_stack_top\n"
        "mov sp, r0\n"
        "b tb_reset_c\n"
        ".ltorg\n");
}

/* The copy loops must not become memcpy/memset calls: .data is not there yet. */
__attribute__((optimize("no-tree-loop-distribute-patterns"))) void tb_reset_c(void)
{
    const uint32_t *src = __tb_data_load;
    uint32_t *dst = __tb_data_start;
    while (dst < __tb_data_end) {
        *dst++ = *src++;
    }
    for (dst = __tb_bss_start; dst < __tb_bss_end; dst++) {
        *dst = 0u;
    }
    TB_SCB_VTOR = (uint32_t)(uintptr_t)tb_vectors;
#if defined(__ARM_FP)
    TB_SCB_CPACR |= (0xFu << 20); /* CP10, CP11 full access */
    __asm volatile("dsb\n isb\n" ::: "memory");
#endif
    /* MemManage, BusFault and UsageFault get their own handlers instead of HardFault. */
    TB_SCB_SHCSR |= (1u << 16) | (1u << 17) | (1u << 18);
    tb_cyccnt_enable();
    tb_uart_init();
    int rc = main();
    tb_end(rc == 0 ? TB_STATUS_OK : TB_STATUS_ERROR);
}

/* Each handler hands the stacked frame (MSP or PSP, from EXC_RETURN bit 2) and its kind to
 * tb_fault_report. kind: 0 HardFault, 1 MemManage, 2 BusFault, 3 UsageFault, 4 NMI, 5 other. */
#define TB_FAULT_STUB(fn, kind)                     \
    __attribute__((naked)) void fn(void)            \
    {                                               \
        __asm volatile("tst lr, #4\n"               \
                       "ite eq\n"                   \
                       "mrseq r0, msp\n"            \
                       "mrsne r0, psp\n"            \
                       "movs r1, #" #kind "\n"      \
                       "b tb_fault_report\n");      \
    }

TB_FAULT_STUB(tb_hardfault_handler, 0)
TB_FAULT_STUB(tb_memmanage_handler, 1)
TB_FAULT_STUB(tb_busfault_handler, 2)
TB_FAULT_STUB(tb_usagefault_handler, 3)
TB_FAULT_STUB(tb_nmi_handler, 4)
TB_FAULT_STUB(tb_default_handler, 5)

static const char *tb_cfsr_cause(uint32_t cfsr)
{
    if (cfsr & (1u << 0)) return "iaccviol";
    if (cfsr & (1u << 1)) return "daccviol";
    if (cfsr & (1u << 3)) return "munstkerr";
    if (cfsr & (1u << 4)) return "mstkerr";
    if (cfsr & (1u << 8)) return "ibuserr";
    if (cfsr & (1u << 9)) return "preciserr";
    if (cfsr & (1u << 10)) return "impreciserr";
    if (cfsr & (1u << 11)) return "unstkerr";
    if (cfsr & (1u << 12)) return "stkerr";
    if (cfsr & (1u << 16)) return "undefinstr";
    if (cfsr & (1u << 17)) return "invstate";
    if (cfsr & (1u << 18)) return "invpc";
    if (cfsr & (1u << 19)) return "nocp";
    if (cfsr & (1u << 24)) return "unaligned";
    if (cfsr & (1u << 25)) return "divbyzero";
    return "unknown";
}

void tb_fault_report(const uint32_t *frame, uint32_t kind)
{
    static const char *const names[] = {"HardFault", "MemManage", "BusFault", "UsageFault",
                                        "NMI", "Unexpected"};
    uint32_t cfsr = TB_SCB_CFSR, hfsr = TB_SCB_HFSR;
    uint32_t mmfar = TB_SCB_MMFAR, bfar = TB_SCB_BFAR;
    const char *type = names[kind < 6u ? kind : 5u];
    /* A HardFault escalated from a configurable fault ("forced") is named after its cause. */
    if (kind == 0u && (hfsr & (1u << 30))) {
        if (cfsr & 0xFFu) type = "MemManage";
        else if (cfsr & 0xFF00u) type = "BusFault";
        else if (cfsr & 0xFFFF0000u) type = "UsageFault";
    }
    tb_newline(); /* the fault may have interrupted a line */
    tb_puts("TB:FAULT type=");
    tb_puts(type);
    tb_puts(" cause=");
    tb_puts(tb_cfsr_cause(cfsr));
    tb_put_kv_hex("pc", frame[6]);
    tb_put_kv_hex("lr", frame[5]);
    if (cfsr & (1u << 15)) {
        tb_put_kv_hex("addr", bfar);
    } else if (cfsr & (1u << 7)) {
        tb_put_kv_hex("addr", mmfar);
    } else {
        tb_puts(" addr=none");
    }
    tb_put_kv_hex("cfsr", cfsr);
    tb_put_kv_hex("hfsr", hfsr);
    tb_put_kv_hex("mmfar", mmfar);
    tb_put_kv_hex("bfar", bfar);
    tb_newline();
    tb_end(TB_STATUS_FAULT);
}
