/*
 * tb_insn_count: exact instruction count for tinybench's QEMU backend (plugin API v1).
 *
 * Every translated instruction gets an inline 64-bit add into one counter, so the total is
 * exact (an instruction that faults is counted, as it was issued). Each translation block also
 * gets an inline add into a per-(vaddr, n_insns) counter, for the per-function profile.
 * At exit the plugin writes, to the file given by "out=<path>" (else to QEMU's log):
 *   insns <total>
 *   tb <vaddr hex> <n_insns> <executions>      (one line per distinct block)
 * Single vCPU (the MPS2 boards have one core); counters are not atomic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu-plugin.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

typedef struct tb_entry {
    uint64_t vaddr;
    uint64_t n_insns;
    uint64_t count;
    struct tb_entry *next;
} tb_entry;

#define TABLE_BITS 16
#define TABLE_SIZE (1u << TABLE_BITS)

static uint64_t total_insns;
static tb_entry *table[TABLE_SIZE];
static char *out_path;

static tb_entry *lookup(uint64_t vaddr, uint64_t n)
{
    uint64_t h = (vaddr * 0x9E3779B97F4A7C15ull + n) >> (64 - TABLE_BITS);
    for (tb_entry *e = table[h]; e; e = e->next) {
        if (e->vaddr == vaddr && e->n_insns == n) return e;
    }
    tb_entry *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->vaddr = vaddr;
    e->n_insns = n;
    e->next = table[h];
    table[h] = e;
    return e;
}

static void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        qemu_plugin_register_vcpu_insn_exec_inline(qemu_plugin_tb_get_insn(tb, i),
                                                   QEMU_PLUGIN_INLINE_ADD_U64, &total_insns, 1);
    }
    tb_entry *e = lookup(qemu_plugin_tb_vaddr(tb), n);
    if (e) {
        qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &e->count, 1);
    }
}

static void on_plugin_exit(qemu_plugin_id_t id, void *userdata)
{
    (void)id;
    (void)userdata;
    char line[96];
    FILE *f = out_path ? fopen(out_path, "w") : NULL;
    snprintf(line, sizeof line, "insns %llu\n", (unsigned long long)total_insns);
    if (f) {
        fputs(line, f);
        for (unsigned i = 0; i < TABLE_SIZE; i++) {
            for (tb_entry *e = table[i]; e; e = e->next) {
                if (e->count) {
                    fprintf(f, "tb %llx %llu %llu\n", (unsigned long long)e->vaddr,
                            (unsigned long long)e->n_insns, (unsigned long long)e->count);
                }
            }
        }
        fclose(f);
    }
    qemu_plugin_outs(line);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                           int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "out=", 4) == 0) {
            out_path = strdup(argv[i] + 4);
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
    qemu_plugin_register_atexit_cb(id, on_plugin_exit, NULL);
    return 0;
}
