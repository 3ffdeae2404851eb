/*
 * serialize.c - "JSON vs pickle vs msgpack": one record set (ids, names,
 * arrays of scores) encoded and decoded three ways, compared by size, speed,
 * exactness and safety.
 *
 *   json     jansson: text, portable, self-describing; the slowest and largest
 *   msgpack  msgpack-c: binary, portable, self-describing
 *   raw      the in-memory structs written out as they are, then the bytes
 *            they point to: the pickle analogue. Fastest, but tied to this
 *            build's struct layout and byte order, and it carries the
 *            writer's heap addresses. Fed untrusted bytes, a decoder that
 *            trusts the lengths in the structs reads wherever they say: never
 *            do that. The decoder here checks everything and says what an
 *            unguarded one would have done.
 *
 * Timing is timeit-style: each operation runs in a loop of `number` runs
 * (chosen so a loop takes at least 50 ms, or --number), the loop is repeated
 * --repeat times, and the best and the median time per run are shown. Encode
 * includes freeing the output; decode includes building the records and
 * freeing them.
 *
 * --untrusted FILE feeds FILE to every decoder and prints what each made of
 * it. The JSON and msgpack decoders check the document against the schema
 * (an array of {"id": uint, "name": str, "scores": [number]}); msgpack input
 * is walked once without allocating before msgpack-c sees it, because
 * msgpack-c sizes its allocation by the element count a container claims:
 * 5 bytes claiming 2^28 map entries make it reserve 16 GiB.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <msgpack.h>

#include "common.h"

#define PROG "serialize"
#define ERR_BYTES 256
#define MAX_RECORDS (1u << 24)  /* decoders refuse more */
#define MAX_NAME 4096           /* bytes in a name */
#define MAX_SCORES 65536        /* scores in a record */
#define MP_MAX_DEPTH 16         /* msgpack container nesting accepted */
#define UNTRUSTED_MAX (256u << 20)

/* ------------------------------------------------------------------------ */
/* Records                                                                  */
/* ------------------------------------------------------------------------ */

/* One record in memory. Written out as is by the raw format, pointers included. */
struct record {
	uint64_t id;
	char *name;         /* name_len bytes, not NUL-terminated */
	uint32_t name_len;
	uint32_t nscores;
	double *scores;     /* nscores values */
};
_Static_assert(sizeof(struct record) == 32, "struct record has no padding: the raw dump writes it whole");

struct recset {
	struct record *rec;
	size_t n;
	void *block;  /* raw decoder: names and scores live in this one block; else each is its own */
};

static void recset_free(struct recset *s)
{
	if (!s->block) {
		for (size_t i = 0; i < s->n; i++) {
			free(s->rec[i].name);
			free(s->rec[i].scores);
		}
	}
	free(s->block);
	free(s->rec);
	*s = (struct recset){0};
}

/* Room for N records, zeroed. @return 0, or -1 with ERR. */
static int recset_alloc(struct recset *s, size_t n, char *err)
{
	*s = (struct recset){0};
	if (n == 0)
		return 0;
	s->rec = calloc(n, sizeof *s->rec);
	if (!s->rec) {
		snprintf(err, ERR_BYTES, "out of memory for %zu records", n);
		return -1;
	}
	s->n = n;
	return 0;
}

/* Fill R's name and scores with copies. @return 0, or -1 with ERR. */
static int record_set(struct record *r, uint64_t id, const char *name, size_t name_len, size_t nscores, char *err)
{
	r->id = id;
	r->name = malloc(name_len ? name_len : 1);
	r->scores = malloc(nscores ? nscores * sizeof *r->scores : 1);
	if (!r->name || !r->scores) {
		snprintf(err, ERR_BYTES, "out of memory");
		return -1;
	}
	memcpy(r->name, name, name_len);
	r->name_len = (uint32_t)name_len;
	r->nscores = (uint32_t)nscores;
	return 0;
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1du;
}

/*
 * N records: 62-bit ids, names with UTF-8, quotes, backslashes and control
 * characters (what JSON must escape), 0..16 scores each, full-precision
 * doubles plus the awkward ones (-0.0, the smallest subnormal, 1e300).
 */
static int recset_generate(struct recset *s, size_t n, uint64_t seed, char *err)
{
	static const char *const first[] = {"Ada", "Zoë", "Søren", "José", "Ngũgĩ", "O'Brien", "\"Doc\"",
					    "back\\slash", "李雷", "Ærø", "tab\there", "Émile"};
	static const char *const last[] = {"Lovelace", "Kierkegaard", "Hopper", "Thiong'o", "Ritchie", "Ørsted",
					   "line\nbreak", "Dijkstra"};
	static const double odd[] = {-0.0, 4.9406564584124654e-324, 1e300, 0.1, -2.5};
	if (recset_alloc(s, n, err) != 0)
		return -1;
	uint64_t st = seed * 0x9e3779b97f4a7c15u + 1;
	for (size_t i = 0; i < n; i++) {
		uint64_t r = rng_next(&st);
		char name[128];
		int len = snprintf(name, sizeof name, "%s %s-%" PRIu64, first[r % 12], last[(r >> 4) % 8], (r >> 8) % 1000);
		size_t k = i < 1 ? 5 : (size_t)((r >> 20) % 17);
		if (record_set(&s->rec[i], rng_next(&st) >> 2, name, (size_t)len, k, err) != 0) {
			recset_free(s);
			return -1;
		}
		for (size_t j = 0; j < k; j++)
			s->rec[i].scores[j] = i < 1 ? odd[j] : (double)(rng_next(&st) >> 11) / 9007199254740992.0 * 100;
	}
	return 0;
}

/* Bit-for-bit equal? (-0.0 differs from 0.0, as it should.) */
static bool recset_equal(const struct recset *a, const struct recset *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct record *x = &a->rec[i], *y = &b->rec[i];
		if (x->id != y->id || x->name_len != y->name_len || x->nscores != y->nscores ||
		    memcmp(x->name, y->name, x->name_len) != 0 ||
		    memcmp(x->scores, y->scores, x->nscores * sizeof *x->scores) != 0)
			return false;
	}
	return true;
}

/* An encoded document: malloc'd bytes. */
struct blob {
	unsigned char *data;
	size_t len;
};

/* ------------------------------------------------------------------------ */
/* JSON (jansson)                                                           */
/* ------------------------------------------------------------------------ */

/* [{"id": 1, "name": "...", "scores": [1.5, ...]}, ...] */
__attribute__((noinline)) static int json_encode(const struct recset *s, struct blob *out, char *err)
{
	json_t *root = json_array();
	if (!root)
		goto oom;
	for (size_t i = 0; i < s->n; i++) {
		const struct record *r = &s->rec[i];
		json_t *obj = json_object(), *scores = json_array();
		int bad = !obj || !scores;
		for (uint32_t j = 0; !bad && j < r->nscores; j++)
			bad = json_array_append_new(scores, json_real(r->scores[j])) != 0;
		/* json_object_set_new and json_array_append_new take the reference even when they fail. */
		bad = bad || json_object_set_new(obj, "id", json_integer((json_int_t)r->id)) != 0;
		bad = bad || json_object_set_new(obj, "name", json_stringn(r->name, r->name_len)) != 0;
		if (bad) {
			json_decref(obj);
			json_decref(scores);
			json_decref(root);
			snprintf(err, ERR_BYTES, "json: cannot build record %zu (out of memory, or a name that is not UTF-8)", i);
			return -1;
		}
		if (json_object_set_new(obj, "scores", scores) != 0 || json_array_append_new(root, obj) != 0) {
			json_decref(root);
			goto oom;
		}
	}
	/* 17 significant digits (jansson's default): every double comes back exactly. */
	char *text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!text)
		goto oom;
	out->data = (unsigned char *)text;
	out->len = strlen(text);
	return 0;
oom:
	snprintf(err, ERR_BYTES, "json: out of memory");
	return -1;
}

static int json_to_record(json_t *obj, size_t i, struct record *r, char *err)
{
	if (!json_is_object(obj))
		return snprintf(err, ERR_BYTES, "json: record %zu is not an object", i), -1;
	json_t *id = json_object_get(obj, "id"), *name = json_object_get(obj, "name");
	json_t *scores = json_object_get(obj, "scores");
	if (!json_is_integer(id) || json_integer_value(id) < 0)
		return snprintf(err, ERR_BYTES, "json: record %zu: \"id\" is missing or not a non-negative integer", i), -1;
	if (!json_is_string(name) || json_string_length(name) > MAX_NAME)
		return snprintf(err, ERR_BYTES, "json: record %zu: \"name\" is missing, not a string, or over %d bytes", i,
				MAX_NAME), -1;
	if (!json_is_array(scores) || json_array_size(scores) > MAX_SCORES)
		return snprintf(err, ERR_BYTES, "json: record %zu: \"scores\" is missing, not an array, or over %d long", i,
				MAX_SCORES), -1;
	size_t k = json_array_size(scores);
	if (record_set(r, (uint64_t)json_integer_value(id), json_string_value(name), json_string_length(name), k, err))
		return -1;
	for (size_t j = 0; j < k; j++) {
		json_t *v = json_array_get(scores, j);
		if (!json_is_number(v))
			return snprintf(err, ERR_BYTES, "json: record %zu: score %zu is not a number", i, j), -1;
		r->scores[j] = json_number_value(v);
	}
	return 0;
}

__attribute__((noinline)) static int json_decode(const unsigned char *buf, size_t len, struct recset *out, char *err)
{
	json_error_t je;
	json_t *root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return snprintf(err, ERR_BYTES, "json: %s (line %d, column %d, byte %d)", je.text, je.line, je.column,
				je.position), -1;
	int rc = -1;
	if (!json_is_array(root)) {
		snprintf(err, ERR_BYTES, "json: the document is not an array of records");
		goto out;
	}
	if (json_array_size(root) > MAX_RECORDS) {
		snprintf(err, ERR_BYTES, "json: %zu records, more than the %u accepted", json_array_size(root), MAX_RECORDS);
		goto out;
	}
	if (recset_alloc(out, json_array_size(root), err) != 0)
		goto out;
	for (size_t i = 0; i < out->n; i++) {
		if (json_to_record(json_array_get(root, i), i, &out->rec[i], err) != 0) {
			recset_free(out);
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* MessagePack (msgpack-c)                                                  */
/* ------------------------------------------------------------------------ */

static int mp_key(msgpack_packer *pk, const char *k)
{
	size_t n = strlen(k);
	return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, k, n);
}

/* The same shape as the JSON: an array of maps {"id", "name", "scores"}. */
__attribute__((noinline)) static int mp_encode(const struct recset *s, struct blob *out, char *err)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	int bad = msgpack_pack_array(&pk, s->n);
	for (size_t i = 0; !bad && i < s->n; i++) {
		const struct record *r = &s->rec[i];
		bad = msgpack_pack_map(&pk, 3) || mp_key(&pk, "id") || msgpack_pack_uint64(&pk, r->id) ||
		      mp_key(&pk, "name") || msgpack_pack_str(&pk, r->name_len) ||
		      msgpack_pack_str_body(&pk, r->name, r->name_len) || mp_key(&pk, "scores") ||
		      msgpack_pack_array(&pk, r->nscores);
		for (uint32_t j = 0; !bad && j < r->nscores; j++)
			bad = msgpack_pack_double(&pk, r->scores[j]);
	}
	if (bad) {
		msgpack_sbuffer_destroy(&sb);
		return snprintf(err, ERR_BYTES, "msgpack: out of memory"), -1;
	}
	out->len = sb.size;
	out->data = (unsigned char *)msgpack_sbuffer_release(&sb); /* malloc'd by the sbuffer: free() it */
	if (!out->data) /* an empty buffer has no data yet */
		out->data = malloc(1);
	return out->data ? 0 : (snprintf(err, ERR_BYTES, "msgpack: out of memory"), -1);
}

static uint64_t be(const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * Walk one msgpack document without allocating: every length fits in the
 * bytes left, every element a container claims is there (each takes at least
 * a byte), containers nest at most MP_MAX_DEPTH deep, nothing follows the
 * document. After this, what msgpack-c allocates is bounded by the input's
 * size. @return 0, or -1 with ERR naming the byte offset.
 */
static int mp_validate(const unsigned char *b, size_t len, char *err)
{
	uint64_t pending[MP_MAX_DEPTH + 1] = {1}; /* elements still to read at each level */
	int depth = 0;
	size_t pos = 0;
	while (depth >= 0) {
		if (pending[depth] == 0) {
			depth--;
			continue;
		}
		pending[depth]--;
		if (pos >= len)
			return snprintf(err, ERR_BYTES, "msgpack: the input ends at byte %zu, inside the document", pos), -1;
		size_t at = pos;
		unsigned t = b[pos++];
		size_t lenbytes = 0; /* size of a length/count field that follows */
		uint64_t payload = 0; /* bytes of payload (str, bin, ext, numbers) */
		int container = 0;    /* 1 array, 2 map */
		const char *what = "value";
		if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) {
			/* fixint, nil, bool: the byte is the value */
		} else if (t <= 0x8f) {
			container = 2, payload = t & 0x0f, what = "map";
		} else if (t <= 0x9f) {
			container = 1, payload = t & 0x0f, what = "array";
		} else if (t <= 0xbf) {
			payload = t & 0x1f, what = "str";
		} else if (t == 0xc1) {
			return snprintf(err, ERR_BYTES, "msgpack: byte %zu is 0xc1, which msgpack never uses", at), -1;
		} else if (t >= 0xc4 && t <= 0xc6) {
			lenbytes = (size_t)1 << (t - 0xc4), what = "bin";
		} else if (t >= 0xc7 && t <= 0xc9) {
			lenbytes = (size_t)1 << (t - 0xc7), what = "ext";
		} else if (t == 0xca || t == 0xcb) {
			payload = t == 0xca ? 4 : 8;
		} else if (t >= 0xcc && t <= 0xd3) {
			payload = (uint64_t)1 << ((t - 0xcc) & 3);
		} else if (t >= 0xd4 && t <= 0xd8) {
			payload = 1 + ((uint64_t)1 << (t - 0xd4)), what = "ext";
		} else if (t >= 0xd9 && t <= 0xdb) {
			lenbytes = (size_t)1 << (t - 0xd9), what = "str";
		} else if (t == 0xdc || t == 0xdd) {
			container = 1, lenbytes = t == 0xdc ? 2 : 4, what = "array";
		} else { /* 0xde, 0xdf */
			container = 2, lenbytes = t == 0xde ? 2 : 4, what = "map";
		}
		if (lenbytes) {
			if (len - pos < lenbytes)
				return snprintf(err, ERR_BYTES, "msgpack: the input ends inside the %s header at byte %zu", what,
						at), -1;
			payload = be(b + pos, lenbytes);
			pos += lenbytes;
			if (t >= 0xc7 && t <= 0xc9)
				payload++; /* ext: the type byte */
		}
		if (container) {
			uint64_t items = payload * (uint64_t)container;
			if (items > len - pos)
				return snprintf(err, ERR_BYTES,
						"msgpack: %s at byte %zu claims %" PRIu64 " entries but only %zu bytes follow", what,
						at, payload, len - pos), -1;
			if (depth == MP_MAX_DEPTH)
				return snprintf(err, ERR_BYTES, "msgpack: containers nested deeper than %d at byte %zu",
						MP_MAX_DEPTH, at), -1;
			pending[++depth] = items;
		} else {
			if (payload > len - pos)
				return snprintf(err, ERR_BYTES, "msgpack: %s at byte %zu claims %" PRIu64 " bytes but only %zu follow",
						what, at, payload, len - pos), -1;
			pos += (size_t)payload;
		}
	}
	if (pos != len)
		return snprintf(err, ERR_BYTES, "msgpack: a whole value ends at byte %zu and %zu more bytes follow: not one document",
				pos, len - pos), -1;
	return 0;
}

static bool mp_is_key(const msgpack_object *o, const char *k)
{
	size_t n = strlen(k);
	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n && memcmp(o->via.str.ptr, k, n) == 0;
}

static int mp_number(const msgpack_object *o, double *d)
{
	switch (o->type) {
	case MSGPACK_OBJECT_FLOAT64:
	case MSGPACK_OBJECT_FLOAT32:
		*d = o->via.f64;
		return 0;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		*d = (double)o->via.u64;
		return 0;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		*d = (double)o->via.i64;
		return 0;
	default:
		return -1;
	}
}

static int mp_to_record(const msgpack_object *o, size_t i, struct record *r, char *err)
{
	if (o->type != MSGPACK_OBJECT_MAP)
		return snprintf(err, ERR_BYTES, "msgpack: record %zu is not a map", i), -1;
	const msgpack_object *id = NULL, *name = NULL, *scores = NULL;
	for (uint32_t k = 0; k < o->via.map.size; k++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[k];
		const msgpack_object **slot = mp_is_key(&kv->key, "id")       ? &id
					      : mp_is_key(&kv->key, "name")   ? &name
					      : mp_is_key(&kv->key, "scores") ? &scores
									      : NULL;
		if (slot && *slot)
			return snprintf(err, ERR_BYTES, "msgpack: record %zu has a key twice", i), -1;
		if (slot)
			*slot = &kv->val;
	}
	if (!id || id->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return snprintf(err, ERR_BYTES, "msgpack: record %zu: \"id\" is missing or not a non-negative integer", i), -1;
	if (!name || name->type != MSGPACK_OBJECT_STR || name->via.str.size > MAX_NAME)
		return snprintf(err, ERR_BYTES, "msgpack: record %zu: \"name\" is missing, not a string, or over %d bytes", i,
				MAX_NAME), -1;
	if (!scores || scores->type != MSGPACK_OBJECT_ARRAY || scores->via.array.size > MAX_SCORES)
		return snprintf(err, ERR_BYTES, "msgpack: record %zu: \"scores\" is missing, not an array, or over %d long", i,
				MAX_SCORES), -1;
	if (record_set(r, id->via.u64, name->via.str.ptr, name->via.str.size, scores->via.array.size, err) != 0)
		return -1;
	for (uint32_t j = 0; j < scores->via.array.size; j++)
		if (mp_number(&scores->via.array.ptr[j], &r->scores[j]) != 0)
			return snprintf(err, ERR_BYTES, "msgpack: record %zu: score %u is not a number", i, j), -1;
	return 0;
}

__attribute__((noinline)) static int mp_decode(const unsigned char *buf, size_t len, struct recset *out, char *err)
{
	if (mp_validate(buf, len, err) != 0)
		return -1;
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	size_t off = 0;
	int rc = -1;
	msgpack_unpack_return ret = msgpack_unpack_next(&u, (const char *)buf, len, &off);
	if (ret != MSGPACK_UNPACK_SUCCESS) {
		snprintf(err, ERR_BYTES, "msgpack: %s at byte %zu",
			 ret == MSGPACK_UNPACK_NOMEM_ERROR ? "out of memory (or nested too deep)"
			 : ret == MSGPACK_UNPACK_CONTINUE  ? "the input ends inside the document"
							   : "parse error",
			 off);
		goto out;
	}
	const msgpack_object *root = &u.data;
	if (root->type != MSGPACK_OBJECT_ARRAY) {
		snprintf(err, ERR_BYTES, "msgpack: the document is not an array of records");
		goto out;
	}
	if (root->via.array.size > MAX_RECORDS) {
		snprintf(err, ERR_BYTES, "msgpack: %u records, more than the %u accepted", root->via.array.size, MAX_RECORDS);
		goto out;
	}
	if (recset_alloc(out, root->via.array.size, err) != 0)
		goto out;
	for (size_t i = 0; i < out->n; i++) {
		if (mp_to_record(&root->via.array.ptr[i], i, &out->rec[i], err) != 0) {
			recset_free(out);
			goto out;
		}
	}
	rc = 0;
out:
	msgpack_unpacked_destroy(&u);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Raw struct dump (the pickle analogue)                                    */
/* ------------------------------------------------------------------------ */

#define RAW_MAGIC "LDPRAW01"
#define RAW_BYTE_ORDER 0x01020304u

/*
 * Layout: this header, then `count` struct records exactly as they are in
 * memory (the name and scores pointers included: the writer's heap
 * addresses), then every record's scores, then every record's name.
 */
struct raw_header {
	char magic[8];
	uint32_t byte_order;   /* RAW_BYTE_ORDER in the writer's byte order */
	uint32_t record_size;  /* the writer's sizeof(struct record) */
	uint64_t count;        /* records */
	uint64_t blob_size;    /* bytes of scores and names after the records */
};

__attribute__((noinline)) static int raw_encode(const struct recset *s, struct blob *out, char *err)
{
	size_t blob = 0;
	for (size_t i = 0; i < s->n; i++)
		blob += s->rec[i].nscores * sizeof(double) + s->rec[i].name_len;
	size_t total = sizeof(struct raw_header) + s->n * sizeof(struct record) + blob;
	unsigned char *p = malloc(total);
	if (!p)
		return snprintf(err, ERR_BYTES, "raw: out of memory"), -1;
	struct raw_header h = {.byte_order = RAW_BYTE_ORDER, .record_size = sizeof(struct record), .count = s->n,
			       .blob_size = blob};
	memcpy(h.magic, RAW_MAGIC, 8);
	memcpy(p, &h, sizeof h);
	unsigned char *q = p + sizeof h;
	if (s->n) /* memcpy from NULL is undefined even for 0 bytes */
		memcpy(q, s->rec, s->n * sizeof(struct record));
	q += s->n * sizeof(struct record);
	for (size_t i = 0; i < s->n; i++) {
		memcpy(q, s->rec[i].scores, s->rec[i].nscores * sizeof(double));
		q += s->rec[i].nscores * sizeof(double);
	}
	for (size_t i = 0; i < s->n; i++) {
		memcpy(q, s->rec[i].name, s->rec[i].name_len);
		q += s->rec[i].name_len;
	}
	out->data = p;
	out->len = total;
	return 0;
}

/* The first pointer a raw dump carries from its writer's address space, or 0. */
static uintptr_t raw_leaked_pointer(const unsigned char *buf, size_t len)
{
	struct raw_header h;
	struct record r;
	if (len < sizeof h + sizeof r)
		return 0;
	memcpy(&h, buf, sizeof h);
	if (memcmp(h.magic, RAW_MAGIC, 8) != 0 || h.count == 0)
		return 0;
	memcpy(&r, buf + sizeof h, sizeof r);
	return (uintptr_t)r.name;
}

/*
 * The guarded decoder: every field of the header and of each record is
 * checked against the bytes there are, with overflow-safe arithmetic, before
 * anything is copied. The pointers in the dump are never used: the copies get
 * pointers into one fresh block. Errors say what a decoder that trusts the
 * dump would have done instead.
 */
__attribute__((noinline)) static int raw_decode(const unsigned char *buf, size_t len, struct recset *out, char *err)
{
	struct raw_header h;
	char b1[32];
	if (len < sizeof h)
		return snprintf(err, ERR_BYTES, "raw: %zu bytes, too short for the %zu-byte header", len, sizeof h), -1;
	memcpy(&h, buf, sizeof h);
	if (memcmp(h.magic, RAW_MAGIC, 8) != 0)
		return snprintf(err, ERR_BYTES, "raw: not a raw dump (no %s magic)", RAW_MAGIC), -1;
	if (h.byte_order != RAW_BYTE_ORDER)
		return snprintf(err, ERR_BYTES, "raw: written by a machine of the other byte order: a raw dump is not portable"), -1;
	if (h.record_size != sizeof(struct record))
		return snprintf(err, ERR_BYTES,
				"raw: written by a build whose struct record is %u bytes (here %zu): a raw dump is not portable",
				h.record_size, sizeof(struct record)), -1;
	size_t room = (len - sizeof h) / sizeof(struct record);
	if (h.count > room || h.count > MAX_RECORDS)
		return snprintf(err, ERR_BYTES,
				"raw: the header claims %" PRIu64 " records, the %zu bytes hold at most %zu: a decoder that "
				"trusts it would copy %s past the end of the input",
				h.count, len, room,
				sample_bytes((double)(h.count - (h.count > room ? room : 0)) * sizeof(struct record), b1,
					     sizeof b1)), -1;
	size_t n = (size_t)h.count;
	size_t blob = len - sizeof h - n * sizeof(struct record);
	if (h.blob_size != blob)
		return snprintf(err, ERR_BYTES, "raw: the header says %" PRIu64 " bytes of data follow the records, there are %zu",
				h.blob_size, blob), -1;
	if (recset_alloc(out, n, err) != 0)
		return -1;
	if (n)
		memcpy(out->rec, buf + sizeof h, n * sizeof(struct record));
	/* The dump's pointers are addresses in the writer's process: wipe them at
	 * once, so that not even an error path (recset_free) can touch them. */
	for (size_t i = 0; i < n; i++) {
		out->rec[i].name = NULL;
		out->rec[i].scores = NULL;
	}
	/* Check every record's claims against what is left, before copying anything. */
	size_t left = blob;
	for (size_t i = 0; i < n; i++) {
		const struct record *r = &out->rec[i];
		uint64_t want = (uint64_t)r->nscores * sizeof(double);
		const char *what = "scores";
		if (want <= left && r->nscores <= MAX_SCORES) {
			left -= (size_t)want;
			continue;
		}
		if (want <= left) /* within the buffer, but over the limit */
			snprintf(err, ERR_BYTES, "raw: record %zu claims %u scores, more than the %d accepted", i, r->nscores,
				 MAX_SCORES);
		else
			snprintf(err, ERR_BYTES,
				 "raw: record %zu claims %" PRIu64 " bytes of %s, only %zu are left: a decoder that trusts the "
				 "dump would read %s past the end of the input",
				 i, want, what, left, sample_bytes((double)(want - left), b1, sizeof b1));
		recset_free(out);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct record *r = &out->rec[i];
		if (r->name_len <= left && r->name_len <= MAX_NAME) {
			left -= r->name_len;
			continue;
		}
		if (r->name_len <= left)
			snprintf(err, ERR_BYTES, "raw: record %zu claims a %u-byte name, more than the %d accepted", i,
				 r->name_len, MAX_NAME);
		else
			snprintf(err, ERR_BYTES,
				 "raw: record %zu claims a %u-byte name, only %zu bytes are left: a decoder that trusts the dump "
				 "would read %s past the end of the input",
				 i, r->name_len, left, sample_bytes((double)(r->name_len - left), b1, sizeof b1));
		recset_free(out);
		return -1;
	}
	if (left != 0) {
		snprintf(err, ERR_BYTES, "raw: %zu bytes after the last name belong to no record", left);
		recset_free(out);
		return -1;
	}
	/* One copy of all scores and names; point the records into it. */
	out->block = malloc(blob ? blob : 1);
	if (!out->block) {
		free(out->rec);
		*out = (struct recset){0};
		return snprintf(err, ERR_BYTES, "raw: out of memory"), -1;
	}
	memcpy(out->block, buf + sizeof h + n * sizeof(struct record), blob);
	unsigned char *scores = out->block, *names = scores;
	for (size_t i = 0; i < n; i++)
		names += out->rec[i].nscores * sizeof(double);
	for (size_t i = 0; i < n; i++) {
		out->rec[i].scores = (double *)(void *)scores; /* 8-aligned: header and records are multiples of 8 */
		scores += out->rec[i].nscores * sizeof(double);
		out->rec[i].name = (char *)names;
		names += out->rec[i].name_len;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Driver                                                                   */
/* ------------------------------------------------------------------------ */

struct format {
	const char *name;
	const char *ext;  /* --save file extension */
	int (*encode)(const struct recset *, struct blob *, char *);
	int (*decode)(const unsigned char *, size_t, struct recset *, char *);
};

static const struct format formats[] = {
	{"json", "json", json_encode, json_decode},
	{"msgpack", "msgpack", mp_encode, mp_decode},
	{"raw", "raw", raw_encode, raw_decode},
};
#define NFORMATS (sizeof formats / sizeof *formats)

struct opts {
	int format;          /* index into formats, or -1: all */
	size_t records;
	uint64_t seed;
	int repeat;          /* timeit: loops timed */
	long number;         /* timeit: runs per loop; 0: chosen automatically */
	const char *save;    /* directory to write records.<ext> into */
	const char *untrusted;
};

/* What one timed run needs. */
struct job {
	const struct format *f;
	const struct recset *in;  /* encode input */
	const struct blob *doc;   /* decode input */
	char err[ERR_BYTES];
};

static int run_encode(struct job *j)
{
	struct blob b;
	if (j->f->encode(j->in, &b, j->err) != 0)
		return -1;
	free(b.data);
	return 0;
}

static int run_decode(struct job *j)
{
	struct recset s;
	if (j->f->decode(j->doc->data, j->doc->len, &s, j->err) != 0)
		return -1;
	recset_free(&s);
	return 0;
}

/* Seconds for NUMBER runs of OP. @return < 0 if a run failed. */
static double time_loop(int (*op)(struct job *), struct job *j, long number)
{
	int64_t t0 = sample_now_ns();
	for (long i = 0; i < number; i++)
		if (op(j) != 0)
			return -1;
	return (double)(sample_now_ns() - t0) / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/*
 * timeit: pick the number of runs per loop (1, 2, 5, 10, 20, ... until a
 * loop takes 50 ms), then time o->repeat loops. Per-run best and median, in
 * seconds. @return 0, or -1 with j->err.
 */
static int timeit(int (*op)(struct job *), struct job *j, const struct opts *o, double *best, double *median,
		  long *number)
{
	long n = o->number;
	if (n == 0) {
		static const long step[] = {1, 2, 5};
		for (long scale = 1;; scale *= 10) {
			for (size_t s = 0; s < 3; s++) {
				n = step[s] * scale;
				double t = time_loop(op, j, n);
				if (t < 0)
					return -1;
				if (t >= 0.05 || n >= 1000000)
					goto chosen;
			}
		}
	}
chosen:;
	double t[100];
	for (int r = 0; r < o->repeat; r++) {
		t[r] = time_loop(op, j, n);
		if (t[r] < 0)
			return -1;
		t[r] /= (double)n;
	}
	qsort(t, (size_t)o->repeat, sizeof *t, cmp_double);
	*best = t[0];
	*median = o->repeat % 2 ? t[o->repeat / 2] : (t[o->repeat / 2 - 1] + t[o->repeat / 2]) / 2;
	*number = n;
	return 0;
}

/* Encode, decode, check, time one format and print its line. @return 0 if all went well. */
static int compare_format(const struct format *f, const struct recset *s, const struct opts *o)
{
	struct job j = {.f = f, .in = s};
	struct blob doc;
	if (f->encode(s, &doc, j.err) != 0) {
		printf("%-8s FAILED: %s\n", f->name, j.err);
		return -1;
	}
	j.doc = &doc;
	struct recset back;
	const char *exact;
	if (f->decode(doc.data, doc.len, &back, j.err) != 0) {
		printf("%-8s FAILED: cannot decode its own output: %s\n", f->name, j.err);
		free(doc.data);
		return -1;
	}
	exact = recset_equal(s, &back) ? "exact" : "DIFFERS";
	recset_free(&back);
	double eb, em, db, dm;
	long en, dn;
	if (timeit(run_encode, &j, o, &eb, &em, &en) != 0 || timeit(run_decode, &j, o, &db, &dm, &dn) != 0) {
		printf("%-8s FAILED: %s\n", f->name, j.err);
		free(doc.data);
		return -1;
	}
	printf("%-8s %11zu  %9.3f %9.3f  %9.3f %9.3f  %-7s  (%ld/%ld runs per loop)\n", f->name, doc.len, eb * 1e3,
	       em * 1e3, db * 1e3, dm * 1e3, exact, en, dn);
	fflush(stdout);
	free(doc.data);
	return strcmp(exact, "exact") == 0 ? 0 : -1;
}

static int save_all(const struct recset *s, const struct opts *o)
{
	for (size_t k = 0; k < NFORMATS; k++) {
		if (o->format >= 0 && (size_t)o->format != k)
			continue;
		const struct format *f = &formats[k];
		char path[PATH_MAX], err[ERR_BYTES];
		snprintf(path, sizeof path, "%s/records.%s", o->save, f->ext);
		struct blob b;
		if (f->encode(s, &b, err) != 0) {
			fprintf(stderr, "%s: %s\n", PROG, err);
			return -1;
		}
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int rc = fd < 0 ? -1 : 0;
		for (size_t done = 0; rc == 0 && done < b.len;) {
			ssize_t n = write(fd, b.data + done, b.len - done);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				rc = -1;
			else
				done += (size_t)n;
		}
		if (fd >= 0 && close(fd) != 0)
			rc = -1;
		free(b.data);
		if (rc != 0) {
			fprintf(stderr, "%s: %s: %s\n", PROG, path, strerror(errno));
			return -1;
		}
		printf("%s: wrote %s (%zu bytes)\n", PROG, path, b.len);
	}
	return 0;
}

/* Read at most UNTRUSTED_MAX bytes of PATH. @return 0, or -1 after saying why. */
static int read_file(const char *path, struct blob *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "%s: %s: %s\n", PROG, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > UNTRUSTED_MAX) {
		fprintf(stderr, "%s: %s: not a regular file of at most %u MiB\n", PROG, path, UNTRUSTED_MAX >> 20);
		close(fd);
		return -1;
	}
	size_t size = (size_t)st.st_size, done = 0;
	out->data = malloc(size ? size : 1);
	if (!out->data) {
		fprintf(stderr, "%s: %s: out of memory\n", PROG, path);
		close(fd);
		return -1;
	}
	while (done < size) {
		ssize_t n = read(fd, out->data + done, size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* error, or the file shrank */
		done += (size_t)n;
	}
	close(fd);
	if (done != size) {
		fprintf(stderr, "%s: %s: read %zu of %zu bytes\n", PROG, path, done, size);
		free(out->data);
		return -1;
	}
	out->len = size;
	return 0;
}

/* Print S with control bytes escaped: error texts may quote the hostile input. */
static void print_escaped(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			printf("\\x%02x", *p);
		else
			putchar(*p);
	}
}

/* Feed PATH to each decoder; print what each made of it. */
static int check_untrusted(const struct opts *o)
{
	struct blob in;
	if (read_file(o->untrusted, &in) != 0)
		return -1;
	printf("%s: untrusted input %s (%zu bytes)\n", PROG, o->untrusted, in.len);
	for (size_t k = 0; k < NFORMATS; k++) {
		if (o->format >= 0 && (size_t)o->format != k)
			continue;
		const struct format *f = &formats[k];
		struct recset s;
		char err[ERR_BYTES];
		if (f->decode(in.data, in.len, &s, err) != 0) {
			printf("%-8s rejected: ", f->name);
			print_escaped(err);
			putchar('\n');
		} else {
			printf("%-8s accepted: %zu records\n", f->name, s.n);
			recset_free(&s);
		}
		uintptr_t leak = f->decode == raw_decode ? raw_leaked_pointer(in.data, in.len) : 0;
		if (leak)
			printf("%-8s note: the dump holds its writer's heap addresses (first: %#" PRIxPTR "): ignored here; a "
			       "loader that used them would read wherever the file's author pointed\n",
			       f->name, leak);
	}
	fflush(stdout);
	free(in.data);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [--format FMT] [--records N] [--repeat R] [--number K] [--seed S]\n"
		"       %s [--format FMT] [--records N] --save DIR\n"
		"       %s [--format FMT] --untrusted FILE\n"
		"\n"
		"Encodes and decodes one record set as JSON (jansson), MessagePack (msgpack-c)\n"
		"and a raw struct dump; prints size, encode and decode time, exactness.\n"
		"\n"
		"  --format FMT      json, msgpack, raw, or all (default)\n"
		"  --records N       records in the set (default 10000)\n"
		"  --repeat R        timed loops per operation, 1..100 (default 5)\n"
		"  --number K        runs per loop (default: enough for 50 ms a loop)\n"
		"  --seed S          generator seed (default 1)\n"
		"  --save DIR        write DIR/records.{json,msgpack,raw} and stop\n"
		"  --untrusted FILE  feed FILE to each decoder and say what it made of it\n",
		PROG, PROG, PROG);
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"format", required_argument, NULL, 'f'}, {"records", required_argument, NULL, 'n'},
		{"repeat", required_argument, NULL, 'r'}, {"number", required_argument, NULL, 'k'},
		{"seed", required_argument, NULL, 's'},   {"save", required_argument, NULL, 'S'},
		{"untrusted", required_argument, NULL, 'u'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	*o = (struct opts){.format = -1, .records = 10000, .seed = 1, .repeat = 5};
	long v;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->format = -2;
			for (size_t k = 0; k < NFORMATS; k++)
				if (strcmp(optarg, formats[k].name) == 0)
					o->format = (int)k;
			if (strcmp(optarg, "all") == 0)
				o->format = -1;
			if (o->format == -2) {
				fprintf(stderr, "%s: --format: '%s' is not one of json, msgpack, raw, all\n", PROG, optarg);
				return -1;
			}
			break;
		case 'n':
			if (sample_parse_long(PROG, "--records", optarg, 0, MAX_RECORDS, &v))
				return -1;
			o->records = (size_t)v;
			break;
		case 'r':
			if (sample_parse_long(PROG, "--repeat", optarg, 1, 100, &v))
				return -1;
			o->repeat = (int)v;
			break;
		case 'k':
			if (sample_parse_long(PROG, "--number", optarg, 1, 1000000, &v))
				return -1;
			o->number = v;
			break;
		case 's':
			if (sample_parse_long(PROG, "--seed", optarg, 0, LONG_MAX, &v))
				return -1;
			o->seed = (uint64_t)v;
			break;
		case 'S':
			o->save = optarg;
			break;
		case 'u':
			o->untrusted = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", PROG, argv[optind]);
		return -1;
	}
	if (o->save && o->untrusted) {
		fprintf(stderr, "%s: --save and --untrusted do different things: give one\n", PROG);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	if (parse_args(argc, argv, &o) != 0)
		return 2;
	if (o.untrusted)
		return check_untrusted(&o) == 0 ? 0 : 1;

	struct recset s;
	char err[ERR_BYTES];
	if (recset_generate(&s, o.records, o.seed, err) != 0) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		return 1;
	}
	int status = 0;
	if (o.save) {
		status = save_all(&s, &o) == 0 ? 0 : 1;
	} else {
		printf("%s: %zu records (id, name, 0-16 scores), seed %" PRIu64 "; per run: best and median of %d loops\n\n",
		       PROG, o.records, o.seed, o.repeat);
		printf("%-8s %11s  %19s  %19s  %s\n", "format", "bytes", "encode ms best/med", "decode ms best/med",
		       "round trip");
		fflush(stdout);
		for (size_t k = 0; k < NFORMATS; k++)
			if ((o.format < 0 || (size_t)o.format == k) && compare_format(&formats[k], &s, &o) != 0)
				status = 1;
	}
	recset_free(&s);
	return status;
}
