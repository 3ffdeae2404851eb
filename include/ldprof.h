/*
 * ldprof.h - the small API a program may call when it runs under ldprof.
 *
 * Every function is exported by libldprof.so (the agent). A program that
 * should also run without the agent declares them weak, as this header does
 * when LDPROF_WEAK is defined, and calls them only when they are present:
 *
 *     #define LDPROF_WEAK
 *     #include <ldprof.h>
 *     ...
 *     LDPROF_SNAPSHOT("after-load");   // a no-op returning -1 without the agent
 *
 * No function allocates through the program's malloc or blocks on I/O; all
 * are safe to call from any thread (not from signal handlers).
 */
#ifndef LDPROF_H
#define LDPROF_H

#ifdef __cplusplus
extern "C" {
#endif

#ifdef LDPROF_WEAK
#define LDPROF_API __attribute__((weak))
#else
#define LDPROF_API
#endif

/*
 * Mark a snapshot of the live heap, named `label` (at most 127 bytes; NULL
 * or "" becomes "snapshot"). Labels may repeat: `ldprof diff` selects the
 * N-th one as label#N. Every allocation and free that happened before the
 * call, in any thread, is before the snapshot; everything after it, after.
 * @return 0, or -1 when no agent is active (or it has turned itself off).
 */
LDPROF_API int ldprof_snapshot(const char *label);

/*
 * Stop recording allocations made from now on, in every thread; frees of
 * blocks allocated while recording are still recorded, so totals stay
 * consistent (what was not recorded is simply not in the trace).
 * ldprof_resume() starts again. Calls nest: n pauses need n resumes.
 * @return 0, or -1 when no agent is active.
 */
LDPROF_API int ldprof_pause(void);
LDPROF_API int ldprof_resume(void);

/* @return 1 when an agent is loaded and recording, else 0. */
LDPROF_API int ldprof_is_active(void);

#ifdef LDPROF_WEAK
#define LDPROF_SNAPSHOT(label) (ldprof_snapshot ? ldprof_snapshot(label) : -1)
#define LDPROF_PAUSE() (ldprof_pause ? ldprof_pause() : -1)
#define LDPROF_RESUME() (ldprof_resume ? ldprof_resume() : -1)
#endif

#ifdef __cplusplus
}
#endif

#endif
