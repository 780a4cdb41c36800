/*
 * thread_counter: count how often each thread is scheduled. Hook: thread switch
 * (femto_sched_ctx_t, RIOT's { previous, next } pids). For every switch to a thread (next != 0)
 * the global store entry with key THREAD_START_KEY + pid is incremented, as in RIOT's own
 * example. Returns 0.
 */
#include "femto.h"

#define THREAD_START_KEY    0x0

int pid_log(femto_sched_ctx_t *ctx)
{
    if (ctx->next != 0) {
        uint32_t counter = 0;
        bpf_fetch_global(THREAD_START_KEY + (uint32_t)ctx->next, &counter);
        counter++;
        bpf_store_global(THREAD_START_KEY + (uint32_t)ctx->next, counter);
    }
    return 0;
}
