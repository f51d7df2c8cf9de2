/* vm/mem.h — the one allocation hook every part of hitl allocates through.
 *
 * All heap memory (front end arenas, bytecode, the VM heap) goes through
 * mem_alloc / mem_realloc / mem_free, so a test can make the Nth allocation
 * fail (HITL_FAIL_ALLOC=N, or mem_fail_after) and prove that every caller
 * copes: no crash, no leak.  The VM's garbage collector adds its own stress
 * mode on top (collect at every allocation). */
#ifndef HITL_MEM_H
#define HITL_MEM_H

#include <stddef.h>

void *mem_alloc(size_t size);                          /* NULL on failure */
void *mem_calloc(size_t size);                         /* zeroed; NULL on failure */
/* Large zeroed blocks straight from the system; free with mem_unmap and the
 * same size.  From 2 MiB, where the kernel grants transparent huge pages to
 * regions that ask, the block is 2 MiB-aligned and asks for them (a fault
 * per 2 MiB); otherwise its pages are mapped up front (one system call
 * instead of a page fault per 4 KiB).  Falls back to mem_calloc / mem_free. */
void *mem_map(size_t size);
void mem_unmap(void *p, size_t size);
void *mem_realloc(void *p, size_t old_size, size_t new_size);  /* NULL on failure, p untouched */
void mem_free(void *p, size_t size);                   /* size as allocated (0 if unknown) */

/* Make the nth allocation from now fail (1 = the next one); 0 turns it off.
 * Reads HITL_FAIL_ALLOC from the environment on first use. */
void mem_fail_after(long n);
/* Number of allocations so far (for tests that walk every failure point). */
unsigned long mem_count(void);

#endif
