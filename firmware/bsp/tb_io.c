/**
 * @file tb_io.c
 * @brief Minimal formatted console output (no printf), DWT set-up and the end of a run.
 */
#include "tb_bsp.h"

void tb_puts(const char *s)
{
    while (*s) {
        if (*s == '\n') tb_uart_putc('\r');
        tb_uart_putc(*s++);
    }
}

void tb_newline(void) { tb_puts("\n"); }

void tb_put_u64(uint64_t v)
{
    char buf[21];
    int i = 20;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + (unsigned)(v % 10u));
        v /= 10u;
    } while (v != 0u);
    tb_puts(&buf[i]);
}

void tb_put_u32(uint32_t v)
{
    char buf[11];
    int i = 10;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + (v % 10u));
        v /= 10u;
    } while (v != 0u);
    tb_puts(&buf[i]);
}

void tb_put_i32(int32_t v)
{
    if (v < 0) {
        tb_uart_putc('-');
        tb_put_u32((uint32_t)(-(v + 1)) + 1u);
    } else {
        tb_put_u32((uint32_t)v);
    }
}

void tb_put_hex32(uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    tb_puts("0x");
    for (int shift = 28; shift >= 0; shift -= 4) {
        tb_uart_putc(digits[(v >> shift) & 0xFu]);
    }
}

void tb_put_kv_u32(const char *key, uint32_t v)
{
    tb_uart_putc(' ');
    tb_puts(key);
    tb_uart_putc('=');
    tb_put_u32(v);
}

void tb_put_kv_hex(const char *key, uint32_t v)
{
    tb_uart_putc(' ');
    tb_puts(key);
    tb_uart_putc('=');
    tb_put_hex32(v);
}

void tb_cyccnt_enable(void)
{
    TB_DEMCR |= (1u << 24); /* TRCENA */
    TB_DWT_CYCCNT = 0u;
    TB_DWT_CTRL |= 1u;      /* CYCCNTENA */
}

int tb_cyccnt_running(void)
{
    uint32_t a = tb_cyccnt();
    for (volatile int i = 0; i < 8; i++) {
    }
    uint32_t b = tb_cyccnt();
    return a != b;
}

int tb_semihost(int op, uintptr_t arg)
{
    register int r0 __asm__("r0") = op;
    register uintptr_t r1 __asm__("r1") = arg;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

#define TB_SYS_EXIT 0x18
#define TB_ADP_STOPPED_APPLICATION_EXIT 0x20026u /* exit code 0 */
#define TB_ADP_STOPPED_RUNTIME_ERROR 0x20023u    /* exit code 1 */

#ifndef TB_SEMIHOSTING
#define TB_SEMIHOSTING 0
#endif

void tb_end(enum tb_status status)
{
    static const char *const names[] = {"ok", "fault", "error"};
    tb_puts("TB:END status=");
    tb_puts(names[(unsigned)status < 3u ? (unsigned)status : 2u]);
    tb_newline();
#if TB_SEMIHOSTING
    tb_semihost(TB_SYS_EXIT, status == TB_STATUS_OK ? TB_ADP_STOPPED_APPLICATION_EXIT
                                                    : TB_ADP_STOPPED_RUNTIME_ERROR);
#endif
    for (;;) {
        __asm volatile("wfi");
    }
}
