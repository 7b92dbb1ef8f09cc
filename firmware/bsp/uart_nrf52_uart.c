/**
 * @file uart_nrf52_uart.c
 * @brief nRF52840 UART0 (0x40002000) in legacy (non-EasyDMA) mode, TX on P0.06 as on the DK.
 *
 * TASKS_STARTTX +0x008, EVENTS_TXDRDY +0x11C, ENABLE +0x500 (4 = UART), PSEL.TXD +0x50C,
 * TXD +0x51C, BAUDRATE +0x524 (0x01D7E000 = 115200).
 */
#include "tb_bsp.h"

#ifndef TB_UART_BASE
#define TB_UART_BASE 0x40002000u
#endif

#define NRF_TASKS_STARTTX TB_REG32(TB_UART_BASE + 0x008u)
#define NRF_EVENTS_TXDRDY TB_REG32(TB_UART_BASE + 0x11Cu)
#define NRF_ENABLE        TB_REG32(TB_UART_BASE + 0x500u)
#define NRF_PSEL_TXD      TB_REG32(TB_UART_BASE + 0x50Cu)
#define NRF_TXD           TB_REG32(TB_UART_BASE + 0x51Cu)
#define NRF_BAUDRATE      TB_REG32(TB_UART_BASE + 0x524u)

void tb_uart_init(void)
{
    NRF_PSEL_TXD = 6u;
    NRF_BAUDRATE = 0x01D7E000u;
    NRF_ENABLE = 4u;
    NRF_TASKS_STARTTX = 1u;
}

void tb_uart_putc(char c)
{
    NRF_EVENTS_TXDRDY = 0u;
    NRF_TXD = (uint8_t)c;
    while (NRF_EVENTS_TXDRDY == 0u) {
    }
}
