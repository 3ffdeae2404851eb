/*
 * compiler.h - attributes and branch hints used across the agent.
 */
#ifndef LDP_COMPILER_H
#define LDP_COMPILER_H

#define LDP_LIKELY(x) __builtin_expect(!!(x), 1)
#define LDP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LDP_NOINLINE __attribute__((noinline))
#define LDP_ALWAYS_INLINE inline __attribute__((always_inline))
#define LDP_HIDDEN __attribute__((visibility("hidden")))
#define LDP_EXPORT __attribute__((visibility("default")))
#define LDP_CACHE_ALIGN _Alignas(64)
/* Initial-exec TLS never calls __tls_get_addr, so touching it never allocates. */
#define LDP_TLS __thread __attribute__((tls_model("initial-exec")))

#endif
