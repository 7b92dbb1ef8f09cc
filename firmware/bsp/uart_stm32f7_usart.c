/**
 * @file uart_stm32f7_usart.c
 * @brief STM32F7 USART1 (0x40011000) on PA9, as on the STM32F746 Discovery virtual COM port.
 *
 * Clocks: GPIOA and USART1 enabled in RCC; the core runs from the 16 MHz HSI after reset
 * (this BSP does not start the PLL), so BRR = 16 MHz / 115200. USART: CR1 +0x00 (UE bit 0,
 * TE bit 3), BRR +0x0C, ISR +0x1C (TXE bit 7), TDR +0x28.
 */
#include "tb_bsp.h"

#ifndef TB_UART_BASE
#define TB_UART_BASE 0x40011000u
#endif

#define RCC_BASE      0x40023800u
#define RCC_AHB1ENR   TB_REG32(RCC_BASE + 0x30u)
#define RCC_APB2ENR   TB_REG32(RCC_BASE + 0x44u)
#define GPIOA_BASE    0x40020000u
#define GPIOA_MODER   TB_REG32(GPIOA_BASE + 0x00u)
#define GPIOA_AFRH    TB_REG32(GPIOA_BASE + 0x24u)

#define USART_CR1     TB_REG32(TB_UART_BASE + 0x00u)
#define USART_BRR     TB_REG32(TB_UART_BASE + 0x0Cu)
#define USART_ISR     TB_REG32(TB_UART_BASE + 0x1Cu)
#define USART_TDR     TB_REG32(TB_UART_BASE + 0x28u)

#define TB_HSI_HZ 16000000u
#define TB_BAUD   115200u

void tb_uart_init(void)
{
    RCC_AHB1ENR |= 1u << 0;  /* GPIOAEN */
    RCC_APB2ENR |= 1u << 4;  /* USART1EN */
    GPIOA_MODER = (GPIOA_MODER & ~(3u << 18)) | (2u << 18); /* PA9 alternate function */
    GPIOA_AFRH = (GPIOA_AFRH & ~(0xFu << 4)) | (7u << 4);   /* AF7 = USART1_TX */
    USART_CR1 = 0u;
    USART_BRR = (TB_HSI_HZ + TB_BAUD / 2u) / TB_BAUD;
    USART_CR1 = (1u << 3) | (1u << 0); /* TE | UE */
}

void tb_uart_putc(char c)
{
    while ((USART_ISR & (1u << 7)) == 0u) {
    }
    USART_TDR = (uint8_t)c;
}
