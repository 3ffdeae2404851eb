/*
 * debugcache.c - separate debug files kept decompressed (see debugcache.h).
 *
 * Debian's debug packages (libc6-dbg...) ship their DWARF compressed
 * (SHF_COMPRESSED sections); libdw inflates every section the first time a
 * report needs the file's DWARF: 205 M instructions for glibc, about 60 ms,
 * half of a `report` on a git trace, paid again by every report. The first
 * report that finds such a file writes a decompressed copy, named by the
 * file's build-id, to the cache; later reports open the copy instead.
 *
 * The copy is made by libelf itself (the file copied, its compressed
 * sections decompressed in place, elf_update), in a temporary file renamed
 * into place, so a reader never sees half a file and two reporters racing
 * write the same bytes. A cached file is used only when its build-id is the
 * module's. Anything that fails leaves the original in use, silently: the
 * cache only saves time.
 */
#define _GNU_SOURCE
#include "debugcache.h"

#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The cache directory (made when missing), or NULL when off. */
static const char *cache_dir(void)
{
	static char dir[PATH_MAX];
	static int done;
	if (done)
		return dir[0] ? dir : NULL;
	done = 1;
	const char *env = getenv("LDPROF_DEBUG_CACHE"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int n;
	if (env && (!strcmp(env, "off") || !*env))
		return NULL;
	if (env)
		n = snprintf(dir, sizeof dir, "%s", env);
	else if (xdg && *xdg == '/')
		n = snprintf(dir, sizeof dir, "%s/ldprof/debug", xdg);
	else if (home && *home == '/')
		n = snprintf(dir, sizeof dir, "%s/.cache/ldprof/debug", home);
	else
		n = -1;
	if (n < 0 || (size_t)n >= sizeof dir - 160) {
		dir[0] = '\0';
		return NULL;
	}
	/* mkdir -p, private: the files are readable anyway, the names are not ours to show */
	for (char *p = dir + 1;; p++) {
		char c = *p;
		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST) {
			dir[0] = '\0';
			return NULL;
		}
		*p = c;
		if (!c)
			break;
	}
	return dir;
}

/* Does the ELF file behind fd carry the build-id id[0..n)? */
static int has_build_id(int fd, const unsigned char *id, int n)
{
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e)
		return 0;
	const void *got;
	ssize_t k = dwelf_elf_gnu_build_id(e, &got);
	int same = k == n && !memcmp(got, id, (size_t)n);
	elf_end(e);
	return same;
}

static int has_compressed(int fd)
{
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	int found = 0;
	for (Elf_Scn *scn = e ? elf_nextscn(e, NULL) : NULL; scn && !found; scn = elf_nextscn(e, scn)) {
		GElf_Shdr sh;
		found = gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_COMPRESSED);
	}
	if (e)
		elf_end(e);
	return found;
}

static int copy_fd(int from, int to)
{
	char buf[1 << 16];
	for (off_t at = 0;;) {
		ssize_t n = pread(from, buf, sizeof buf, at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? 0 : -1;
		for (ssize_t w = 0; w < n;) {
			ssize_t k = write(to, buf + w, (size_t)(n - w));
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				return -1;
			w += k;
		}
		at += n;
	}
}

/* Write the decompressed copy of fd's file to path. @return 0 or -1. */
static int write_copy(int fd, const char *dir, const char *path)
{
	char tmp[PATH_MAX];
	int len = snprintf(tmp, sizeof tmp, "%s/.tmp-XXXXXX", dir);
	if (len < 0 || (size_t)len >= sizeof tmp)
		return -1;
	int out = mkostemp(tmp, O_CLOEXEC);
	if (out < 0 || elf_version(EV_CURRENT) == EV_NONE)
		return out < 0 ? -1 : (close(out), unlink(tmp), -1);
	int ok = copy_fd(fd, out) == 0;
	Elf *e = ok ? elf_begin(out, ELF_C_RDWR, NULL) : NULL;
	ok = e != NULL;
	for (Elf_Scn *scn = e ? elf_nextscn(e, NULL) : NULL; scn && ok; scn = elf_nextscn(e, scn)) {
		GElf_Shdr sh;
		if (gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_COMPRESSED))
			ok = elf_compress(scn, 0, 0) >= 0;
	}
	ok = ok && elf_update(e, ELF_C_WRITE) >= 0;
	if (e)
		elf_end(e);
	ok = close(out) == 0 && ok;
	if (!ok || rename(tmp, path)) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* A build-id of 1 to 64 bytes in hex (hex: 129 bytes). @return 0, -1 for another length. */
static int id_hex(const unsigned char *id, int n, char *hex)
{
	if (n <= 0 || n > 64)
		return -1;
	for (int i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	return 0;
}

/* The cache's path for a build-id; "" when the cache is off. */
static void cache_path(const unsigned char *id, int n, char *path, size_t size)
{
	char hex[129];
	const char *dir = id_hex(id, n, hex) == 0 ? cache_dir() : NULL;
	if (!dir || snprintf(path, size, "%s/%s.debug", dir, hex) >= (int)size)
		path[0] = '\0';
}

static int exists(const char *dir, const char *sub, const char *name)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s%s%s%s%s", dir, *sub ? "/" : "", sub, *name == '/' ? "" : "/", name) >=
	    (int)sizeof path)
		return 0;
	return access(path, F_OK) == 0;
}

/* Whether a separate debug file of mod may be on this machine where libdw's
 * default search ("-.debug:/usr/lib/debug") looks: by build-id, or by its
 * debuglink name (else the file's name + ".debug") beside the file, in its
 * .debug, or under /usr/lib/debug, for the file and for what its symlinks
 * name; an absolute name (a dwz file's) as it is. A superset of where the
 * search opens files: false means it would find nothing. */
static int may_have_local_debug(const unsigned char *id, int n, const char *file_name, const char *debuglink_file)
{
	char hex[129];
	if (id_hex(id, n, hex) == 0) {
		char name[160];
		snprintf(name, sizeof name, "%.2s/%s.debug", hex, hex + 2);
		if (exists("/usr/lib/debug", ".build-id", name))
			return 1;
	}
	if (!file_name)
		return 0;
	char own[PATH_MAX];
	const char *base = strrchr(file_name, '/');
	if (!debuglink_file) {
		snprintf(own, sizeof own, "%s.debug", base ? base + 1 : file_name);
		debuglink_file = own;
	}
	if (debuglink_file[0] == '/')
		return access(debuglink_file, F_OK) == 0;
	char real[PATH_MAX];
	const char *names[2] = {file_name, realpath(file_name, real)};
	for (int k = 0; k < 2; k++) {
		if (!names[k])
			continue;
		char dir[PATH_MAX];
		snprintf(dir, sizeof dir, "%s", names[k]);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		else
			snprintf(dir, sizeof dir, ".");
		if (exists(dir, "", debuglink_file) || exists(dir, ".debug", debuglink_file) ||
		    (dir[0] == '/' && exists("/usr/lib/debug", dir + 1, debuglink_file)))
			return 1;
	}
	return 0;
}

static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			  const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
			  char **debuginfo_file_name, int default_path)
{
	const unsigned char *id;
	GElf_Addr vaddr;
	char path[PATH_MAX];
	int n = dwfl_module_build_id(mod, &id, &vaddr);
	cache_path(id, n, path, sizeof path);
	/* In the cache: used without asking the standard search, which would
	 * open the original and hand libdwfl its ELF handle. */
	int cached = path[0] ? open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
	if (cached >= 0) {
		if (has_build_id(cached, id, n)) {
			*debuginfo_file_name = strdup(path);
			return cached;
		}
		close(cached);
	}
	/* Nothing here to find, and no server to ask: not the standard search,
	 * whose last resort loads libdebuginfod (and curl, and TLS...) even
	 * when DEBUGINFOD_URLS is unset, 5 ms a report (elfutils 0.188). */
	const char *urls = getenv("DEBUGINFOD_URLS");
	if (default_path && !(urls && *urls) && !may_have_local_debug(id, n, file_name, debuglink_file)) {
		errno = 0;
		return -1;
	}
	int fd = dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
					      debuglink_crc, debuginfo_file_name);
	/* This report reads the original (libdwfl holds it now); the next
	 * ones will read the copy. */
	if (fd >= 0 && path[0] && has_compressed(fd))
		write_copy(fd, cache_dir(), path);
	return fd;
}

int debugcache_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			      const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
			      char **debuginfo_file_name)
{
	return find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file, debuglink_crc,
			      debuginfo_file_name, 0);
}

int debugcache_find_debuginfo_default(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
				      const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
				      char **debuginfo_file_name)
{
	return find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file, debuglink_crc,
			      debuginfo_file_name, 1);
}
