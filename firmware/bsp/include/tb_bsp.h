/**
 * @file tb_bsp.h
 * @brief tinybench board support: UART output, DWT cycle counter, end-of-run signal.
 *
 * One BSP serves every board; a build selects the UART driver (uart_<kind>.c) and defines
 *   TB_UART_BASE       base address of the console UART
 *   TB_SEMIHOSTING     1: end the run with semihosting SYS_EXIT (QEMU, ISS);
 *                      0: print the sentinel line and sleep (Renode, hardware)
 *   TB_TARGET_NAME, TB_BOARD_NAME   strings for the banner
 * (see tinybench/codegen/build.py). No libc: C99, freestanding.
 */
#ifndef TB_BSP_H
#define TB_BSP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Cortex-M core registers ------------------------------------------------------------ */
#define TB_REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))
#define TB_DWT_CTRL    TB_REG32(0xE0001000u) /* bit 0: CYCCNTENA */
#define TB_DWT_CYCCNT  TB_REG32(0xE0001004u)
#define TB_DEMCR       TB_REG32(0xE000EDFCu) /* bit 24: TRCENA */
#define TB_SCB_VTOR    TB_REG32(0xE000ED08u)
#define TB_SCB_SHCSR   TB_REG32(0xE000ED24u)
#define TB_SCB_CFSR    TB_REG32(0xE000ED28u)
#define TB_SCB_HFSR    TB_REG32(0xE000ED2Cu)
#define TB_SCB_MMFAR   TB_REG32(0xE000ED34u)
#define TB_SCB_BFAR    TB_REG32(0xE000ED38u)
#define TB_SCB_CPACR   TB_REG32(0xE000ED88u)

/** Read the DWT cycle counter (0 forever on emulators without a DWT, e.g. QEMU). */
static inline uint32_t tb_cyccnt(void) { return TB_DWT_CYCCNT; }

/** Enable TRCENA and CYCCNT and zero the counter (called by the reset handler). */
void tb_cyccnt_enable(void);

/** 1 if the cycle counter advances, 0 if it reads constant (no DWT on this emulator). */
int tb_cyccnt_running(void);

/* ---- console ------------------------------------------------------------------------------ */
void tb_uart_init(void);           /**< board UART driver: enable the transmitter */
void tb_uart_putc(char c);         /**< board UART driver: blocking write of one byte */
void tb_puts(const char *s);       /**< write a string, no newline added */
void tb_put_u32(uint32_t v);       /**< decimal */
void tb_put_i32(int32_t v);        /**< decimal with sign */
void tb_put_u64(uint64_t v);       /**< decimal */
void tb_put_hex32(uint32_t v);     /**< "0x" and 8 lower-case hex digits */
void tb_put_kv_u32(const char *key, uint32_t v); /**< " key=<decimal>" */
void tb_put_kv_hex(const char *key, uint32_t v); /**< " key=0x<hex8>" */
void tb_newline(void);

/* ---- end of run --------------------------------------------------------------------------- */
enum tb_status { TB_STATUS_OK = 0, TB_STATUS_FAULT = 1, TB_STATUS_ERROR = 2 };

/**
 * Print "TB:END status=<ok|fault|error>" and stop: semihosting SYS_EXIT (exit code 0 only for
 * ok) when TB_SEMIHOSTING, otherwise sleep forever in WFI. Never returns.
 */
void tb_end(enum tb_status status) __attribute__((noreturn));

/** Semihosting call (BKPT 0xAB). Only meaningful with a debugger/emulator attached. */
int tb_semihost(int op, uintptr_t arg);

/* ---- memory layout symbols (linker script) ------------------------------------------------ */
extern uint32_t __tb_stack_bottom[];  /**< lowest address of the reserved stack */
extern uint32_t __tb_stack_top[];     /**< initial SP = end of the target's RAM */
extern uint32_t __tb_stack_size[];    /**< address == reserved stack bytes */
extern uint32_t __tb_ram_free_start[];/**< first byte after .data/.bss/.tb_arena */
extern uint32_t __tb_ram_start[];
extern uint32_t __tb_ram_end[];

/* ---- freestanding libc subset (tb_libc.c) ------------------------------------------------- */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#ifndef TB_TARGET_NAME
#define TB_TARGET_NAME "unknown"
#endif
#ifndef TB_BOARD_NAME
#define TB_BOARD_NAME "unknown"
#endif

#ifdef __cplusplus
}
#endif
#endif /* TB_BSP_H */
