/*
 * prim.h - the OS primitives the agent uses, in one place.
 *
 * Everything here is safe to call from inside malloc: nothing allocates,
 * nothing touches stdio. Functions returning int give 0 on success or a
 * negative errno. None of them preserves errno; callers on the program's
 * paths save and restore it.
 */
#ifndef LDP_PRIM_H
#define LDP_PRIM_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

int ldp_gettid(void);
uint64_t ldp_mono_ns(void);
uint64_t ldp_real_ns(void);

/* Anonymous private mapping, or NULL. Memory is zeroed. */
void *ldp_map(size_t size);
void ldp_unmap(void *p, size_t size);

/* write(2) until done; retries EINTR and short writes. */
int ldp_write_all(int fd, const void *buf, size_t len);
/* A write past RLIMIT_FSIZE raises SIGXFSZ in the writing thread, which kills
 * the program by default. A program thread brackets its trace writes with
 * these: the signal stays blocked meanwhile (the write fails with EFBIG
 * instead) and one the writes raised is taken off again; one that was
 * already pending stays pending. */
struct ldp_xfsz_guard {
	sigset_t old;
	int was_pending;
};
void ldp_xfsz_block(struct ldp_xfsz_guard *g);
void ldp_xfsz_restore(const struct ldp_xfsz_guard *g);

/* Read up to cap-1 bytes of a small file and NUL-terminate. @return bytes read or -errno. */
ssize_t ldp_read_small_file(const char *path, char *buf, size_t cap);

/* getenv without malloc and without locale: a scan of environ. */
const char *ldp_getenv(const char *name);
/* Our variables ("LDPROF_...=v", "LD_PRELOAD=...") as found at start: env.c
 * takes them out of environ so the program never sees them, and puts them
 * here, where ldp_getenv still finds them. */
#define LDP_ENV_OURS_MAX 64
extern char *ldp_env_ours[LDP_ENV_OURS_MAX];
extern unsigned ldp_env_nours;
/* Where LDPROF_* settings are read: environ, or, in a process the agent was
 * attached to, the settings file's lines (set before the start). */
extern char **ldp_settings_override;
char **ldp_settings(void);

/* futex on a 32-bit word; wait returns early on wake, timeout or signal. */
void ldp_futex_wait(volatile uint32_t *word, uint32_t expected, uint64_t timeout_ns);
void ldp_futex_wake(volatile uint32_t *word);

/* Move fd to a high number (F_DUPFD_CLOEXEC at 7/8 of min(RLIMIT_NOFILE,
 * 1024)), out of reach of a program that closes every fd and reopens its
 * own: those take the lowest numbers. @return the new fd, or fd unchanged. */
int ldp_fd_move_high(int fd);

/* Process start time in clock ticks since boot (field 22 of /proc/self/stat); 0 if unknown. */
uint64_t ldp_proc_start_ticks(void);

#endif
