/*
 * ldprof/entrypoints.h - every function the agent interposes, in one table.
 *
 * Both sides derive from it:
 *   - the agent: the version script (build/gen/ldprof.map, everything else
 *     stays local), the real functions it resolves with dlsym(RTLD_NEXT)
 *     (struct ldp_real_fns, the C++ and allocator-API pointers), the malloc
 *     family a RTLD_DEEPBIND library's slots are redirected for, the exits
 *     and execs it resolves at start;
 *   - the reporter: its allocator frames (a stack's site is the first frame
 *     past them) and the agent's entry points (time spent in one is the
 *     program's own call).
 *
 * X(family, name, kind, ret, params): the library family the function
 * belongs to, its symbol (mangled for C++), what it does to the heap, and its
 * C signature (C++ references and std::align_val_t are passed as the pointer
 * and size_t they are in the ABI). Adding an interposed function is one line
 * here plus its wrapper (docs/ARCHITECTURE.md, "Adding an interposed
 * function").
 */
#ifndef LDPROF_ENTRYPOINTS_H
#define LDPROF_ENTRYPOINTS_H

/* (The version script reads the table alone.) */
#ifndef LDP_EP_TABLE_ONLY
/* What a call does to the heap. */
enum ldp_ep_kind {
	LDP_EPK_ALLOC = 1, /* returns a new block: an allocation event */
	LDP_EPK_REALLOC,   /* moves or resizes a block: a free and an allocation */
	LDP_EPK_FREE,      /* releases a block: a free event */
	LDP_EPK_QUERY,     /* asks about a block: no event */
	LDP_EPK_ENDING,    /* ends the process: the trace is flushed first */
	LDP_EPK_EXEC,      /* replaces the image: flushed, the writer held across */
	LDP_EPK_OTHER,     /* the agent's other business (signals, mappings, threads, loader) */
};

/* Which library family defines it. */
enum ldp_ep_family {
	LDP_EPF_LIBC = 1, /* the C library (glibc) */
	LDP_EPF_CXX,      /* C++ operator new/delete (libstdc++, or an allocator that replaces them) */
	LDP_EPF_JEMALLOC, /* jemalloc's non-standard API */
	LDP_EPF_TCMALLOC, /* gperftools' tc_* */
	LDP_EPF_MIMALLOC, /* mimalloc's mi_* */
};
#endif

/* The C malloc family. */
#define LDP_EP_LIBC_HEAP(X)                                                                                    \
	X(LIBC, malloc, ALLOC, void *, (size_t))                                                               \
	X(LIBC, calloc, ALLOC, void *, (size_t, size_t))                                                       \
	X(LIBC, realloc, REALLOC, void *, (void *, size_t))                                                    \
	X(LIBC, reallocarray, REALLOC, void *, (void *, size_t, size_t))                                       \
	X(LIBC, posix_memalign, ALLOC, int, (void **, size_t, size_t))                                         \
	X(LIBC, aligned_alloc, ALLOC, void *, (size_t, size_t))                                                \
	X(LIBC, memalign, ALLOC, void *, (size_t, size_t))                                                     \
	X(LIBC, valloc, ALLOC, void *, (size_t))                                                               \
	X(LIBC, pvalloc, ALLOC, void *, (size_t))                                                              \
	X(LIBC, free, FREE, void, (void *))                                                                    \
	X(LIBC, malloc_usable_size, QUERY, size_t, (void *))

/* C++ operator new and delete (x86-64 mangling: size_t is m). */
#define LDP_EP_CXX(X)                                                                                          \
	X(CXX, _Znwm, ALLOC, void *, (size_t))                                  /* new */                      \
	X(CXX, _Znam, ALLOC, void *, (size_t))                                  /* new[] */                    \
	X(CXX, _ZnwmRKSt9nothrow_t, ALLOC, void *, (size_t, const void *))      /* new nothrow */              \
	X(CXX, _ZnamRKSt9nothrow_t, ALLOC, void *, (size_t, const void *))                                     \
	X(CXX, _ZnwmSt11align_val_t, ALLOC, void *, (size_t, size_t))           /* new aligned */              \
	X(CXX, _ZnamSt11align_val_t, ALLOC, void *, (size_t, size_t))                                          \
	X(CXX, _ZnwmSt11align_val_tRKSt9nothrow_t, ALLOC, void *, (size_t, size_t, const void *))              \
	X(CXX, _ZnamSt11align_val_tRKSt9nothrow_t, ALLOC, void *, (size_t, size_t, const void *))              \
	X(CXX, _ZdlPv, FREE, void, (void *))                                    /* delete */                   \
	X(CXX, _ZdaPv, FREE, void, (void *))                                                                   \
	X(CXX, _ZdlPvm, FREE, void, (void *, size_t))                           /* sized */                    \
	X(CXX, _ZdaPvm, FREE, void, (void *, size_t))                                                          \
	X(CXX, _ZdlPvRKSt9nothrow_t, FREE, void, (void *, const void *))                                       \
	X(CXX, _ZdaPvRKSt9nothrow_t, FREE, void, (void *, const void *))                                       \
	X(CXX, _ZdlPvSt11align_val_t, FREE, void, (void *, size_t))             /* aligned */                  \
	X(CXX, _ZdaPvSt11align_val_t, FREE, void, (void *, size_t))                                            \
	X(CXX, _ZdlPvmSt11align_val_t, FREE, void, (void *, size_t, size_t))    /* sized, aligned */           \
	X(CXX, _ZdaPvmSt11align_val_t, FREE, void, (void *, size_t, size_t))                                   \
	X(CXX, _ZdlPvSt11align_val_tRKSt9nothrow_t, FREE, void, (void *, size_t, const void *))                \
	X(CXX, _ZdaPvSt11align_val_tRKSt9nothrow_t, FREE, void, (void *, size_t, const void *))

/* jemalloc's non-standard API (nallocx makes nothing: not interposed). */
#define LDP_EP_JEMALLOC(X)                                                                                     \
	X(JEMALLOC, mallocx, ALLOC, void *, (size_t, int))                                                     \
	X(JEMALLOC, rallocx, REALLOC, void *, (void *, size_t, int))                                           \
	X(JEMALLOC, xallocx, REALLOC, size_t, (void *, size_t, size_t, int))                                   \
	X(JEMALLOC, sallocx, QUERY, size_t, (const void *, int))                                               \
	X(JEMALLOC, dallocx, FREE, void, (void *, int))                                                        \
	X(JEMALLOC, sdallocx, FREE, void, (void *, size_t, int))

/* gperftools' tcmalloc API (its malloc and operator new are the ones above). */
#define LDP_EP_TCMALLOC(X)                                                                                     \
	X(TCMALLOC, tc_malloc, ALLOC, void *, (size_t))                                                        \
	X(TCMALLOC, tc_malloc_skip_new_handler, ALLOC, void *, (size_t))                                       \
	X(TCMALLOC, tc_calloc, ALLOC, void *, (size_t, size_t))                                                \
	X(TCMALLOC, tc_realloc, REALLOC, void *, (void *, size_t))                                             \
	X(TCMALLOC, tc_memalign, ALLOC, void *, (size_t, size_t))                                              \
	X(TCMALLOC, tc_posix_memalign, ALLOC, int, (void **, size_t, size_t))                                  \
	X(TCMALLOC, tc_valloc, ALLOC, void *, (size_t))                                                        \
	X(TCMALLOC, tc_pvalloc, ALLOC, void *, (size_t))                                                       \
	X(TCMALLOC, tc_new, ALLOC, void *, (size_t))                                                           \
	X(TCMALLOC, tc_newarray, ALLOC, void *, (size_t))                                                      \
	X(TCMALLOC, tc_new_nothrow, ALLOC, void *, (size_t, const void *))                                     \
	X(TCMALLOC, tc_newarray_nothrow, ALLOC, void *, (size_t, const void *))                                \
	X(TCMALLOC, tc_free, FREE, void, (void *))                                                             \
	X(TCMALLOC, tc_cfree, FREE, void, (void *))                                                            \
	X(TCMALLOC, tc_free_sized, FREE, void, (void *, size_t))                                               \
	X(TCMALLOC, tc_delete, FREE, void, (void *))                                                           \
	X(TCMALLOC, tc_deletearray, FREE, void, (void *))                                                      \
	X(TCMALLOC, tc_delete_sized, FREE, void, (void *, size_t))                                             \
	X(TCMALLOC, tc_deletearray_sized, FREE, void, (void *, size_t))                                        \
	X(TCMALLOC, tc_delete_nothrow, FREE, void, (void *, const void *))                                     \
	X(TCMALLOC, tc_deletearray_nothrow, FREE, void, (void *, const void *))                                \
	X(TCMALLOC, tc_malloc_size, QUERY, size_t, (void *))

/* mimalloc's core API. */
#define LDP_EP_MIMALLOC(X)                                                                                     \
	X(MIMALLOC, mi_malloc, ALLOC, void *, (size_t))                                                        \
	X(MIMALLOC, mi_zalloc, ALLOC, void *, (size_t))                                                        \
	X(MIMALLOC, mi_calloc, ALLOC, void *, (size_t, size_t))                                                \
	X(MIMALLOC, mi_malloc_aligned, ALLOC, void *, (size_t, size_t))                                        \
	X(MIMALLOC, mi_zalloc_aligned, ALLOC, void *, (size_t, size_t))                                        \
	X(MIMALLOC, mi_realloc, REALLOC, void *, (void *, size_t))                                             \
	X(MIMALLOC, mi_free, FREE, void, (void *))                                                             \
	X(MIMALLOC, mi_usable_size, QUERY, size_t, (const void *))

/* The allocator APIs a program may call besides malloc and operator new. */
#define LDP_EP_ALLOC_APIS(X) LDP_EP_JEMALLOC(X) LDP_EP_TCMALLOC(X) LDP_EP_MIMALLOC(X)

/* Process endings and image changes (the execl forms collect their
 * arguments and call the array forms: nothing of their own to resolve). */
#define LDP_EP_ENDINGS(X)                                                                                      \
	X(LIBC, _exit, ENDING, void, (int))                                                                    \
	X(LIBC, _Exit, ENDING, void, (int))                                                                    \
	X(LIBC, quick_exit, ENDING, void, (int))                                                               \
	X(LIBC, abort, ENDING, void, (void))                                                                   \
	X(LIBC, execve, EXEC, int, (const char *, char *const[], char *const[]))                               \
	X(LIBC, execv, EXEC, int, (const char *, char *const[]))                                               \
	X(LIBC, execvp, EXEC, int, (const char *, char *const[]))                                              \
	X(LIBC, execvpe, EXEC, int, (const char *, char *const[], char *const[]))                              \
	X(LIBC, fexecve, EXEC, int, (int, char *const[], char *const[]))                                       \
	X(LIBC, execveat, EXEC, int, (int, const char *, char *const[], char *const[], int))
#define LDP_EP_EXEC_VARIADIC(X)                                                                                \
	X(LIBC, execl, EXEC, int, (const char *, const char *, ...))                                           \
	X(LIBC, execlp, EXEC, int, (const char *, const char *, ...))                                          \
	X(LIBC, execle, EXEC, int, (const char *, const char *, ...))

/* Programs started without the exec family: the agent's variables go back
 * into their environment (env.c). */
#define LDP_EP_SPAWN(X)                                                                                        \
	X(LIBC, posix_spawn, OTHER, int, (int *, const char *, const void *, const void *, char *const[], char *const[])) \
	X(LIBC, posix_spawnp, OTHER, int, (int *, const char *, const void *, const void *, char *const[], char *const[])) \
	X(LIBC, system, OTHER, int, (const char *))                                                            \
	X(LIBC, popen, OTHER, void *, (const char *, const char *))

/* Everything else the agent exports, each resolved by its own module. */
#define LDP_EP_OTHER(X)                                                                                        \
	X(LIBC, dlopen, OTHER, void *, (const char *, int))        /* RTLD_DEEPBIND (deepbind.c) */            \
	X(LIBC, _Fork, OTHER, int, (void))                         /* forks no atfork handler sees (forks.c) */ \
	X(LIBC, syscall, OTHER, long, (long, ...))                 /* raw calls around the agent (syscall.c) */ \
	X(LIBC, pipe2, OTHER, int, (int[2], int))                  /* libunwind's pipe (fds.c) */              \
	X(LIBC, mmap, OTHER, void *, (void *, size_t, int, int, int, long)) /* mapped.c */                    \
	X(LIBC, mmap64, OTHER, void *, (void *, size_t, int, int, int, long))                                 \
	X(LIBC, munmap, OTHER, int, (void *, size_t))                                                          \
	X(LIBC, mremap, OTHER, void *, (void *, size_t, size_t, int, ...))                                     \
	X(LIBC, pthread_create, OTHER, int, (void *, const void *, void *(*)(void *), void *)) /* sample.c */  \
	X(LIBC, sigaction, OTHER, int, (int, const void *, void *)) /* signals.c */                          \
	X(LIBC, __sigaction, OTHER, int, (int, const void *, void *))                                          \
	X(LIBC, signal, OTHER, void *, (int, void *))                                                          \
	X(LIBC, bsd_signal, OTHER, void *, (int, void *))                                                      \
	X(LIBC, ssignal, OTHER, void *, (int, void *))                                                         \
	X(LIBC, sysv_signal, OTHER, void *, (int, void *))                                                     \
	X(LIBC, __sysv_signal, OTHER, void *, (int, void *))                                                   \
	X(LIBC, sigset, OTHER, void *, (int, void *))                                                          \
	X(LIBC, sigignore, OTHER, int, (int))                                                                  \
	X(LIBC, siginterrupt, OTHER, int, (int, int))                                                          \
	X(LIBC, sigprocmask, OTHER, int, (int, const void *, void *))                                          \
	X(LIBC, pthread_sigmask, OTHER, int, (int, const void *, void *))                                      \
	X(LIBC, sighold, OTHER, int, (int))                                                                    \
	X(LIBC, sigrelse, OTHER, int, (int))                                                                   \
	X(LIBC, sigblock, OTHER, int, (int))                                                                   \
	X(LIBC, sigsetmask, OTHER, int, (int))                                                                 \
	X(LIBC, sigwait, OTHER, int, (const void *, int *))                                                    \
	X(LIBC, sigwaitinfo, OTHER, int, (const void *, void *))                                               \
	X(LIBC, sigtimedwait, OTHER, int, (const void *, void *, const void *))                                \
	X(LIBC, signalfd, OTHER, int, (int, const void *, int))

/* Every interposed function. */
#define LDP_ENTRYPOINTS(X)                                                                                     \
	LDP_EP_LIBC_HEAP(X) LDP_EP_CXX(X) LDP_EP_ALLOC_APIS(X) LDP_EP_ENDINGS(X) LDP_EP_EXEC_VARIADIC(X) LDP_EP_SPAWN(X)       \
	LDP_EP_OTHER(X)

#endif
