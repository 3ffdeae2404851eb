/*
 * json.c - see json.h.
 */
#include "json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

json_t *json_u64(uint64_t v)
{
	return v <= INT64_MAX ? json_integer((json_int_t)v) : json_real((double)v);
}

json_t *json_fixed(double v, int decimals)
{
	double scale = pow(10, decimals);
	return json_real(round(v * scale) / scale);
}

/* The length of the UTF-8 sequence at p (1 to 4), 0 when it is not one. */
static size_t utf8_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	size_t n = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 && p[0] <= 0xdf ? 2 : 0;
	if (n == 3 && p[0] > 0xef)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	/* overlong 3-byte forms, surrogates, past U+10FFFF */
	if ((n == 3 && ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f))) ||
	    (n == 4 && ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))))
		return 0;
	return n;
}

json_t *json_text(const char *s)
{
	if (!s)
		return json_null();
	json_t *j = json_string(s);
	if (j)
		return j;
	/* not UTF-8 (or a NUL inside, which cannot be): replace what is not */
	struct strbuf b = {0};
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = utf8_len(p);
		if (n) {
			for (size_t i = 0; i < n; i++)
				sb_putc(&b, (char)p[i]);
			p += n;
		} else {
			sb_printf(&b, "\xef\xbf\xbd");
			p++;
		}
	}
	j = json_string(b.s ? b.s : "");
	sb_free(&b);
	return j ? j : json_string("");
}

json_t *json_frame(const struct sym_frame *f, int with_offset)
{
	json_t *o = json_object();
	json_object_set_new(o, "function", json_text(f->function));
	json_object_set_new(o, "file", json_text(f->file));
	json_object_set_new(o, "line", json_integer(f->line));
	json_object_set_new(o, "module", json_text(f->module));
	if (with_offset)
		json_object_set_new(o, "module_offset_bytes", json_u64(f->module_offset));
	json_object_set_new(o, "inlined", json_boolean(f->inlined));
	return o;
}

static int append(const char *buf, size_t size, void *data)
{
	struct strbuf *b = data;
	vec_reserve((void **)&b->s, &b->cap, b->len + size + 1, 1);
	memcpy(b->s + b->len, buf, size);
	b->len += size;
	b->s[b->len] = '\0';
	return 0;
}

void sb_json(struct strbuf *b, json_t *v)
{
	json_dump_callback(v, append, b, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
	json_decref(v);
}
