/*
 * tb_insn_count: exact instruction counts for tinybench's QEMU backend (plugin API v1).
 *
 * Every translated instruction gets an inline 64-bit add into one counter, so the total is
 * exact (an instruction that faults is counted, as it was issued). Each translation block also
 * gets an inline add into a per-(vaddr, n_insns) counter, for the per-function profile.
 *
 * Options (-plugin lib.so,opt=value,...):
 *   out=<path>                 where to write the results (else QEMU's log)
 *   mark=<hex>,mark_size=<n>   the harness's tb_mark function: at its first instruction the
 *                              plugin notes the count so far (callbacks run before the inline
 *                              add of their instruction, so this is the count before it) ...
 *   table=<hex>,table_size=<n> ... and its byte load from table + event names the event
 *   budget=<n>                 stop after n instructions (checked at the start of every block):
 *                              write the results with a "budget" line, then exit with code 3
 *
 * Results, one record per line:
 *   insns <total>
 *   mark <event> <instructions before tb_mark>       (in execution order)
 *   budget <instructions> <vaddr hex of the block about to run>   (only when the budget hit)
 *   tb <vaddr hex> <n_insns> <executions>            (one line per distinct block)
 * Single vCPU (the MPS2 boards have one core); counters are not atomic.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qemu-plugin.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define BUDGET_EXIT_CODE 3

typedef struct tb_entry {
    uint64_t vaddr;
    uint64_t n_insns;
    uint64_t count;
    struct tb_entry *next;
} tb_entry;

typedef struct mark_record {
    uint64_t event;
    uint64_t insns;
} mark_record;

#define TABLE_BITS 16
#define TABLE_SIZE (1u << TABLE_BITS)

static uint64_t total_insns;
static tb_entry *table[TABLE_SIZE];
static char *out_path;

static uint64_t mark_addr, mark_size, event_base, event_count, budget;
static uint64_t mark_pending; /* count at the latest entry of tb_mark */
static mark_record *marks;
static size_t n_marks, cap_marks;
static int budget_hit;
static uint64_t budget_vaddr;

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

static void write_results(void)
{
    char line[96];
    FILE *f = out_path ? fopen(out_path, "w") : NULL;
    snprintf(line, sizeof line, "insns %" PRIu64 "\n", total_insns);
    if (f) {
        fputs(line, f);
        for (size_t i = 0; i < n_marks; i++) {
            fprintf(f, "mark %" PRIu64 " %" PRIu64 "\n", marks[i].event, marks[i].insns);
        }
        if (budget_hit) {
            fprintf(f, "budget %" PRIu64 " %" PRIx64 "\n", total_insns, budget_vaddr);
        }
        for (unsigned i = 0; i < TABLE_SIZE; i++) {
            for (tb_entry *e = table[i]; e; e = e->next) {
                if (e->count) {
                    fprintf(f, "tb %" PRIx64 " %" PRIu64 " %" PRIu64 "\n", e->vaddr, e->n_insns,
                            e->count);
                }
            }
        }
        fclose(f);
    }
    qemu_plugin_outs(line);
}

static void on_mark_entry(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    (void)udata;
    mark_pending = total_insns;
}

static void on_mark_load(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata)
{
    (void)vcpu;
    (void)info;
    (void)udata;
    if (vaddr < event_base || vaddr >= event_base + event_count) return;
    if (n_marks == cap_marks) {
        size_t cap = cap_marks ? 2 * cap_marks : 4096;
        mark_record *grown = realloc(marks, cap * sizeof *marks);
        if (!grown) return;
        marks = grown;
        cap_marks = cap;
    }
    marks[n_marks].event = vaddr - event_base;
    marks[n_marks].insns = mark_pending;
    n_marks++;
}

static void on_block_budget(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    if (total_insns >= budget && !budget_hit) {
        budget_hit = 1;
        budget_vaddr = ((tb_entry *)udata)->vaddr;
        write_results();
        _exit(BUDGET_EXIT_CODE);
    }
}

static void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    tb_entry *e = lookup(qemu_plugin_tb_vaddr(tb), n);
    if (e && budget) {
        qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block_budget, QEMU_PLUGIN_CB_NO_REGS, e);
    }
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t va = qemu_plugin_insn_vaddr(insn);
        if (mark_size && va == mark_addr) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark_entry, QEMU_PLUGIN_CB_NO_REGS, NULL);
        }
        if (mark_size && va >= mark_addr && va < mark_addr + mark_size) {
            /* MEM_RW, not MEM_R: Debian's QEMU 7.2 calls no MEM_R callback for loads (measured:
             * MEM_R saw 0 of tb_mark's loads, MEM_W and MEM_RW all). tb_mark stores nothing. */
            qemu_plugin_register_vcpu_mem_cb(insn, on_mark_load, QEMU_PLUGIN_CB_NO_REGS,
                                             QEMU_PLUGIN_MEM_RW, NULL);
        }
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &total_insns, 1);
    }
    if (e) {
        qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &e->count, 1);
    }
}

static void on_plugin_exit(qemu_plugin_id_t id, void *userdata)
{
    (void)id;
    (void)userdata;
    write_results();
}

static int option(const char *arg, const char *name, uint64_t *value)
{
    size_t len = strlen(name);
    if (strncmp(arg, name, len) != 0 || arg[len] != '=') return 0;
    *value = strtoull(arg + len + 1, NULL, 0);
    return 1;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                           int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "out=", 4) == 0) {
            out_path = strdup(argv[i] + 4);
        } else if (!(option(argv[i], "mark", &mark_addr) || option(argv[i], "mark_size", &mark_size)
                     || option(argv[i], "table", &event_base)
                     || option(argv[i], "table_size", &event_count)
                     || option(argv[i], "budget", &budget))) {
            fprintf(stderr, "tb_insn_count: unknown option '%s'\n", argv[i]);
            return -1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
    qemu_plugin_register_atexit_cb(id, on_plugin_exit, NULL);
    return 0;
}
