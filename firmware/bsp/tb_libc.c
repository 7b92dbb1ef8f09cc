/**
 * @file tb_libc.c
 * @brief The few libc functions GCC may call in freestanding code (-nostdlib).
 *
 * Without no-tree-loop-distribute-patterns GCC recognises these loops as memset/memcpy and
 * turns them into calls to themselves.
 */
#include "tb_bsp.h"

#define TB_NO_LIBCALL __attribute__((optimize("no-tree-loop-distribute-patterns")))

TB_NO_LIBCALL void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = (unsigned char *)dst;
    unsigned char v = (unsigned char)c;
    while (n != 0u && ((uintptr_t)d & 3u) != 0u) {
        *d++ = v;
        n--;
    }
    uint32_t w = (uint32_t)v * 0x01010101u;
    uint32_t *dw = (uint32_t *)(void *)d;
    while (n >= 4u) {
        *dw++ = w;
        n -= 4u;
    }
    d = (unsigned char *)dw;
    while (n != 0u) {
        *d++ = v;
        n--;
    }
    return dst;
}

TB_NO_LIBCALL void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    if ((((uintptr_t)d | (uintptr_t)s) & 3u) == 0u) {
        uint32_t *dw = (uint32_t *)(void *)d;
        const uint32_t *sw = (const uint32_t *)(const void *)s;
        while (n >= 4u) {
            *dw++ = *sw++;
            n -= 4u;
        }
        d = (unsigned char *)dw;
        s = (const unsigned char *)sw;
    }
    while (n != 0u) {
        *d++ = *s++;
        n--;
    }
    return dst;
}

TB_NO_LIBCALL void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    if (d == s || n == 0u) return dst;
    if (d < s || d >= s + n) return memcpy(dst, src, n);
    while (n != 0u) {
        n--;
        d[n] = s[n];
    }
    return dst;
}

TB_NO_LIBCALL int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = (const unsigned char *)a;
    const unsigned char *y = (const unsigned char *)b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i]) return (int)x[i] - (int)y[i];
    }
    return 0;
}

TB_NO_LIBCALL size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0') n++;
    return n;
}
