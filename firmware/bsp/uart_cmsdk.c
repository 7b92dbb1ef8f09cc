/**
 * @file uart_cmsdk.c
 * @brief ARM CMSDK APB UART (QEMU mps2-an386 / mps2-an500 UART0 at 0x40004000).
 *
 * DATA +0x00, STATE +0x04 (bit 0: TX buffer full), CTRL +0x08 (bit 0: TX enable),
 * BAUDDIV +0x10 (QEMU drops output unless BAUDDIV >= 16 and TX is enabled).
 */
#include "tb_bsp.h"

#ifndef TB_UART_BASE
#define TB_UART_BASE 0x40004000u
#endif

#define CMSDK_DATA    TB_REG32(TB_UART_BASE + 0x00u)
#define CMSDK_STATE   TB_REG32(TB_UART_BASE + 0x04u)
#define CMSDK_CTRL    TB_REG32(TB_UART_BASE + 0x08u)
#define CMSDK_BAUDDIV TB_REG32(TB_UART_BASE + 0x10u)

void tb_uart_init(void)
{
    CMSDK_BAUDDIV = 16u;
    CMSDK_CTRL = 1u; /* TX enable */
}

void tb_uart_putc(char c)
{
    while (CMSDK_STATE & 1u) {
    }
    CMSDK_DATA = (uint8_t)c;
}
