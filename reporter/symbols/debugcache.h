/*
 * debugcache.h - separate debug files kept decompressed, by build-id, in
 * $LDPROF_DEBUG_CACHE, else $XDG_CACHE_HOME/ldprof/debug, else
 * ~/.cache/ldprof/debug ("off" turns it off).
 */
#ifndef LDPR_DEBUGCACHE_H
#define LDPR_DEBUGCACHE_H

#include <elfutils/libdwfl.h>

/* A libdwfl find_debuginfo callback: dwfl_standard_find_debuginfo's file,
 * or the cache's decompressed copy of it (made the first time a file with
 * compressed sections is found). */
int debugcache_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			      const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
			      char **debuginfo_file_name);
/* The same for libdw's default search path ("-.debug:/usr/lib/debug", no
 * --debug-dir or --sysroot): when no file it could find is there and
 * DEBUGINFOD_URLS is unset, -1 at once (the standard search would load
 * libdebuginfod to ask no server: 5 ms a report). */
int debugcache_find_debuginfo_default(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
				      const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
				      char **debuginfo_file_name);

#endif
