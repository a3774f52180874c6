#include "manifest.h"

#include "json_reader.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const kind_names[LOOM_KIND_COUNT] = {
	[LOOM_KIND_ENTRY] = "entry",
	[LOOM_KIND_STMT] = "stmt",
	[LOOM_KIND_CALL] = "call",
	[LOOM_KIND_EXIT] = "exit",
	[LOOM_KIND_BREAK] = "break",
	[LOOM_KIND_BACKEDGE] = "backedge",
	[LOOM_KIND_BLOCKING] = "blocking",
};

static const char *const copy_names[LOOM_COPY_COUNT] = {
	[LOOM_COPY_SLOW] = "slow",
	[LOOM_COPY_BOTH] = "both",
	[LOOM_COPY_INLINE] = "inline",
	[LOOM_COPY_TWIN] = "twin",
};

const char *loom_copy_name(enum loom_copy copy)
{
	return copy < LOOM_COPY_COUNT ? copy_names[copy] : "?";
}

const char *loom_kind_name(enum loom_slot_kind kind)
{
	return kind < LOOM_KIND_COUNT ? kind_names[kind] : "?";
}

static int cmp_conversion(const void *a, const void *b)
{
	const struct loom_conversion *x = a, *y = b;
	int c = strcmp(x->from, y->from);

	return c ? c : strcmp(x->to, y->to);
}

static void drop_conversion(void *p)
{
	struct loom_conversion *c = p;

	free(c->from);
	free(c->to);
}

void loom_conversions_unique(struct loom_conversion *c, size_t *n)
{
	loom_sort_unique(c, n, sizeof *c, cmp_conversion, drop_conversion);
}

struct loom_manifest *loom_manifest_new(const char *tool, const char *root)
{
	struct loom_manifest *m = loom_xcalloc(1, sizeof *m);

	m->tool = loom_xstrdup(tool);
	m->root = loom_xstrdup(root);
	return m;
}

void loom_manifest_free(struct loom_manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nfiles; i++)
		free(m->files[i].path);
	for (size_t i = 0; i < m->nfunctions; i++) {
		struct loom_function *f = &m->functions[i];

		free(f->name);
		free(f->exits);
		for (size_t j = 0; j < f->ncalls; j++) {
			free(f->calls[j].callee);
			free(f->calls[j].type);
			free(f->calls[j].taken);
			free(f->calls[j].passed_to);
		}
		for (size_t j = 0; j < f->ntaken_as; j++)
			free(f->taken_as[j]);
		free(f->taken_as);
		free(f->inline_reason);
		free(f->calls);
		free(f->loops);
		free(f->edges);
	}
	for (size_t i = 0; i < m->nconversions; i++) {
		free(m->conversions[i].from);
		free(m->conversions[i].to);
	}
	free(m->conversions);
	for (size_t i = 0; i < m->nslots; i++)
		free(m->slots[i].callee);
	free(m->files);
	free(m->functions);
	free(m->slots);
	free(m->skips);
	free(m->tool);
	free(m->root);
	free(m);
}

unsigned loom_manifest_add_slot(struct loom_manifest *m, enum loom_slot_kind kind,
                                unsigned file, unsigned line, unsigned column,
                                unsigned function)
{
	struct loom_slot *s = LOOM_PUSH(m->slots, m->nslots, m->slots_cap);

	*s = (struct loom_slot){
		.id = (unsigned)m->nslots, .kind = kind, .file = file,
		.line = line, .column = column, .function = function,
	};
	return s->id;
}

const struct loom_edge *loom_function_edges_from(const struct loom_function *f, unsigned from, size_t *n)
{
	size_t lo = 0, hi = f->nedges, first;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (f->edges[mid].from < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	first = lo;
	while (lo < f->nedges && f->edges[lo].from == from)
		lo++;
	*n = lo - first;
	return f->edges + first;
}

bool loom_call_may_reach(const struct loom_manifest *m, unsigned file, const struct loom_call *call,
                         const struct loom_function *g)
{
	const char *path = m->files[g->file].path;
	size_t n = strlen(path);
	bool header = !(n >= 2 && !strcmp(path + n - 2, ".c"));

	return call->callee && !strcmp(call->callee, g->name)
	       && (g->fast_entry || g->file == file || (header && g->is_static));
}

bool loom_callers_switch(const struct loom_function *g)
{
	return g->slow_copy && (!g->entry_switch || g->fast_entry);
}

const struct loom_slot *loom_manifest_slot(const struct loom_manifest *m, unsigned id)
{
	return id >= 1 && id <= m->nslots ? &m->slots[id - 1] : NULL;
}

static bool names_file(const char *path, const char *file)
{
	size_t n = strlen(path), k = strlen(file);

	return k >= n && !strcmp(file + k - n, path)
	       && (k == n || file[k - n - 1] == '/' || path[0] == '/');
}

/* How far PATH is from naming FILE: the least edit distance to a suffix of
 * FILE that starts after a '/', so that a misspelt base name is close to
 * the file however deep it is. */
static size_t file_distance(const char *path, const char *file)
{
	size_t best = (size_t)-1;

	if (path[0] == '/')
		path++;
	for (const char *s = file; s; s = strchr(s, '/')) {
		size_t d;

		if (*s == '/')
			s++;
		d = loom_edit_distance(path, s);
		if (d < best)
			best = d;
	}
	return best;
}

static void list_path(char *list, size_t size, const char *path, bool quote)
{
	size_t len = strlen(list);

	/* Room for the path and the closing ", ..." */
	if (len + strlen(path) + 12 >= size) {
		if (!strstr(list, ", ..."))
			snprintf(list + len, size - len, ", ...");
		return;
	}
	snprintf(list + len, size - len, quote ? "%s'%s'" : "%s%s", len ? ", " : "", path);
}

int loom_manifest_find_file(const struct loom_manifest *m, const char *path, unsigned *out,
                            struct loom_error *err, const char *where, unsigned line,
                            unsigned column)
{
	size_t found = 0, best = (size_t)-1;
	char list[600] = "";

	for (size_t i = 0; i < m->nfiles; i++)
		if (names_file(path, m->files[i].path)) {
			if (found++ == 0)
				*out = (unsigned)i;
			list_path(list, sizeof list, m->files[i].path, false);
		}
	if (found == 1)
		return 0;
	if (found > 1)
		return loom_error_set(err, where, line, column,
		                      "ambiguous file '%s': it names %s; write a longer path", path, list);
	if (!m->nfiles)
		return loom_error_set(err, where, line, column,
		                      "no file '%s' was rewritten (the manifest lists no files)", path);
	for (size_t i = 0; i < m->nfiles; i++) {
		size_t d = file_distance(path, m->files[i].path);

		if (d < best)
			best = d;
	}
	if (best <= strlen(path) / 2 + 1) {
		for (size_t i = 0; i < m->nfiles; i++)
			if (file_distance(path, m->files[i].path) == best)
				list_path(list, sizeof list, m->files[i].path, true);
		return loom_error_set(err, where, line, column,
		                      "no file '%s' was rewritten (did you mean %s?)", path, list);
	}
	for (size_t i = 0; i < m->nfiles && i < 8; i++)
		list_path(list, sizeof list, m->files[i].path, false);
	return loom_error_set(err, where, line, column, "no file '%s' was rewritten (files: %s%s)",
	                      path, list, m->nfiles > 8 && !strstr(list, ", ...") ? ", ..." : "");
}

/* ---- writing ---- */

/* The manifest is written as text directly, not through a jansson tree: for
 * a tree of 50k hooks building, sorting and dumping one cost a third of the
 * whole rewrite.  The layout is one file, function, slot or skip per line
 * (small diffs, easy to grep and to review), the top level in the order a
 * reader wants it. */
struct text {
	char *s;
	size_t len, cap;
};

static void put(struct text *t, const char *s, size_t n)
{
	while (t->cap < t->len + n + 1)
		loom_grow((void **)&t->s, &t->cap, t->cap, 1);
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

static void put_str(struct text *t, const char *s)
{
	put(t, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void putf(struct text *t, const char *fmt, ...)
{
	char buf[256];
	va_list ap, again;
	int n;

	va_start(ap, fmt);
	va_copy(again, ap);
	n = loom_vformat(buf, sizeof buf, fmt, ap);
	if (n < 0) /* a conversion it does not know: \u%04x */
		n = vsnprintf(buf, sizeof buf, fmt, again);
	va_end(again);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf)
		abort(); /* only numbers and keys are formatted here */
	put(t, buf, (size_t)n);
}

/* S as a JSON string: quotes, backslashes and control characters escaped,
 * other bytes (UTF-8) as they are. */
static void put_string(struct text *t, const char *s)
{
	put_str(t, "\"");
	for (const char *run = s;; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(t, run, (size_t)(s - run));
		if (!c)
			break;
		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };

			put(t, esc, 2);
		} else {
			putf(t, "\\u%04x", c);
		}
		run = s + 1;
	}
	put_str(t, "\"");
}

/* N in decimal: most of a manifest's bytes, written without putf's
 * format (a third of the manifest's cost on a large file). */
static void put_uint(struct text *t, unsigned n)
{
	char buf[LOOM_DECIMAL_MAX], *end = buf + sizeof buf, *p = loom_decimal(end, n);

	put(t, p, (size_t)(end - p));
}

/* S as a JSON string through CACHE, which keeps it escaped after the first
 * time: every slot names its file and function again. */
static void put_string_cached(struct text *t, struct text *cache, const char *s)
{
	if (!cache->s)
		put_string(cache, s);
	put(t, cache->s, cache->len);
}

/* The escaped names of M's files and functions, by index, as dump_lines
 * writes them (put_string_cached). */
struct names_json {
	const struct loom_manifest *m;
	struct text *files, *functions;
};

/* "file":F,"line":L,"column":C,"function":N of a slot or a skipped
 * statement. */
static void put_place(struct text *t, struct names_json *names, unsigned file, unsigned line, unsigned column,
                      unsigned function)
{
	put_str(t, "\"file\":");
	put_string_cached(t, &names->files[file], names->m->files[file].path);
	put_str(t, ",\"line\":");
	put_uint(t, line);
	put_str(t, ",\"column\":");
	put_uint(t, column);
	put_str(t, ",\"function\":");
	put_string_cached(t, &names->functions[function], names->m->functions[function].name);
}

static void put_key_string(struct text *t, const char *key, const char *value)
{
	putf(t, ",\"%s\":", key);
	put_string(t, value);
}

static const char *json_bool(bool b)
{
	return b ? "true" : "false";
}

static void put_function(struct text *t, const struct loom_manifest *m, const struct loom_function *f)
{
	put_str(t, "{\"name\":");
	put_string(t, f->name);
	put_key_string(t, "file", m->files[f->file].path);
	putf(t, ",\"line\":%u,\"end_line\":%u,\"static\":%s,\"address_taken\":%s", f->line, f->end_line,
	     json_bool(f->is_static), json_bool(f->address_taken));
	if (f->ntaken_as) {
		for (size_t j = 0; j < f->ntaken_as; j++) {
			put_str(t, j ? "," : ",\"taken_as\":[");
			put_string(t, f->taken_as[j]);
		}
		put_str(t, "]");
	}
	putf(t, ",\"slow_copy\":%s", json_bool(f->slow_copy));
	if (f->inline_reason)
		put_key_string(t, "inline_reason", f->inline_reason);
	if (f->pure)
		put_str(t, ",\"pure\":true");
	putf(t, ",\"entry_switch\":%s,\"fast_entry\":%s,\"wraps\":%s,\"entry\":%u,\"break\":%u,"
	     "\"exits\":[", json_bool(f->entry_switch), json_bool(f->fast_entry),
	     json_bool(f->wraps), f->entry, f->brk);
	for (size_t j = 0; j < f->nexits; j++) {
		if (j)
			put(t, ",", 1);
		put_uint(t, f->exits[j]);
	}
	put_str(t, "],\"calls\":[");
	for (size_t j = 0; j < f->ncalls; j++) {
		put_str(t, j ? ",{\"callee\":" : "{\"callee\":");
		if (f->calls[j].callee)
			put_string(t, f->calls[j].callee);
		else
			put_str(t, "null");
		if (f->calls[j].type)
			put_key_string(t, "type", f->calls[j].type);
		if (f->calls[j].taken)
			put_key_string(t, "taken", f->calls[j].taken);
		if (f->calls[j].passed_to)
			put_key_string(t, "passed_to", f->calls[j].passed_to);
		put_str(t, ",\"line\":");
		put_uint(t, f->calls[j].line);
		put_str(t, ",\"column\":");
		put_uint(t, f->calls[j].column);
		put_str(t, ",\"slot\":");
		put_uint(t, f->calls[j].slot);
		put(t, "}", 1);
	}
	put_str(t, "],\"loops\":[");
	for (size_t j = 0; j < f->nloops; j++)
		putf(t, "%s{\"line\":%u,\"end_line\":%u,\"break\":%u,\"twin_exit\":%u}", j ? "," : "",
		     f->loops[j].line, f->loops[j].end_line, f->loops[j].brk, f->loops[j].twin_exit);
	put_str(t, "],\"edges\":[");
	for (size_t j = 0; j < f->nedges; j++) {
		put_str(t, j ? ",[" : "[");
		put_uint(t, f->edges[j].from);
		put(t, ",", 1);
		put_uint(t, f->edges[j].to);
		put(t, "]", 1);
	}
	put_str(t, "]}");
}

/* Where the id's 16 hex digits go: written as zeros, hashed, then filled. */
#define ID_PLACEHOLDER "0000000000000000"

static char *dump_lines(const struct loom_manifest *m, size_t *id_at, size_t *len)
{
	struct text t = { 0 };
	struct names_json names = { m, loom_xcalloc(m->nfiles + 1, sizeof *names.files),
	                            loom_xcalloc(m->nfunctions + 1, sizeof *names.functions) };

	put_str(&t, "{\n \"format\":\"loom-manifest\",\n \"version\":");
	putf(&t, "%d,\n \"tool\":", LOOM_MANIFEST_VERSION);
	put_string(&t, m->tool);
	put_str(&t, ",\n \"id\":\"");
	*id_at = t.len;
	put_str(&t, ID_PLACEHOLDER "\",\n \"root\":");
	put_string(&t, m->root);
	putf(&t, ",\n \"hooks\":%zu,\n \"files\":[", m->nslots);
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct loom_file *f = &m->files[i];

		put_str(&t, i ? ",\n  {\"path\":" : "\n  {\"path\":");
		put_string(&t, f->path);
		put_key_string(&t, "hash", f->hash);
		putf(&t, ",\"lines\":%u,\"instrumented\":%s}", f->lines, json_bool(f->instrumented));
	}
	put_str(&t, m->nfiles ? "\n ],\n \"functions\":[" : "],\n \"functions\":[");
	for (size_t i = 0; i < m->nfunctions; i++) {
		put_str(&t, i ? ",\n  " : "\n  ");
		put_function(&t, m, &m->functions[i]);
	}
	put_str(&t, m->nfunctions ? "\n ],\n \"slots\":[" : "],\n \"slots\":[");
	for (size_t i = 0; i < m->nslots; i++) {
		const struct loom_slot *s = &m->slots[i];

		put_str(&t, i ? ",\n  {\"id\":" : "\n  {\"id\":");
		put_uint(&t, s->id);
		put_str(&t, ",\"kind\":\"");
		put_str(&t, loom_kind_name(s->kind));
		put_str(&t, "\",\"copy\":\"");
		put_str(&t, loom_copy_name(s->copy));
		put_str(&t, "\",");
		put_place(&t, &names, s->file, s->line, s->column, s->function);
		if (s->callee)
			put_key_string(&t, "callee", s->callee);
		put_str(&t, "}");
	}
	put_str(&t, m->nslots ? "\n ],\n \"macro_skipped\":[" : "],\n \"macro_skipped\":[");
	for (size_t i = 0; i < m->nskips; i++) {
		const struct loom_skip *s = &m->skips[i];

		put_str(&t, i ? ",\n  {" : "\n  {");
		put_place(&t, &names, s->file, s->line, s->column, s->function);
		put_str(&t, "}");
	}
	put_str(&t, m->nskips ? "\n ]" : "]");
	if (m->typed) {
		put_str(&t, ",\n \"conversions\":[");
		for (size_t i = 0; i < m->nconversions; i++) {
			put_str(&t, i ? ",\n  {\"from\":" : "\n  {\"from\":");
			put_string(&t, m->conversions[i].from);
			put_key_string(&t, "to", m->conversions[i].to);
			put_str(&t, "}");
		}
		put_str(&t, m->nconversions ? "\n ]" : "]");
	}
	put_str(&t, "\n}\n");
	for (size_t i = 0; i < m->nfiles; i++)
		free(names.files[i].s);
	for (size_t i = 0; i < m->nfunctions; i++)
		free(names.functions[i].s);
	free(names.files);
	free(names.functions);
	*len = t.len;
	return t.s;
}

/* The id of manifest TEXT (LEN bytes) whose id digits start at ID_AT: the
 * FNV-1a 64 of the text with those digits as zeros, so that the loader can
 * recompute it from the file's bytes and any edit shows. */
static void text_id(const char *text, size_t len, size_t id_at, char out[17])
{
	uint64_t h = loom_fnv64(LOOM_FNV_SEED, text, id_at);

	h = loom_fnv64(h, ID_PLACEHOLDER, 16);
	h = loom_fnv64(h, text + id_at + 16, len - id_at - 16);
	snprintf(out, 17, "%016" PRIx64, h);
}

int loom_manifest_save(struct loom_manifest *m, const char *path,
                       struct loom_error *err)
{
	size_t id_at, len;
	char *text = dump_lines(m, &id_at, &len);
	int ret = 0;

	text_id(text, len, id_at, m->id);
	memcpy(text + id_at, m->id, 16);
	if (loom_write_file(path, text, len) < 0)
		ret = loom_error_set(err, path, 0, 0, "cannot write: %s", strerror(errno));
	free(text);
	return ret;
}

/* ---- reading ---- */

/* Read with a pull reader (json_reader.h), straight into the model: a
 * jansson tree of binutils' 74 MB manifest took 826 MB and 5 s.  Members
 * may come in any order inside an object; the top level's arrays must come
 * as loom-rewrite writes them (files, functions, slots, macro_skipped,
 * conversions), since each names entries of the one before. */

#define MALFORMED "malformed manifest"

struct reader {
	const char *path;
	struct loom_error *err;
	struct loom_manifest *m;
	struct loom_json j;
	size_t last_function; /* find_function's last answer + 1, 0 if none */
	size_t last_file;     /* find_file's, the same way */
	char *name;           /* a slot's or skip's function name, until its line is known */
	size_t name_cap;
};

size_t loom_manifest_file_index(const struct loom_manifest *m, const char *path)
{
	size_t i = 0;

	while (path && i < m->nfiles && strcmp(m->files[i].path, path))
		i++;
	return path ? i : m->nfiles;
}

/* The index of KEY in KEYS (N of them), or -1.  With *SEEN, the bit of
 * each key read so far: a key read twice is an error. */
static int member_index(struct reader *r, const char *key, const char *const keys[], int n, unsigned *seen)
{
	for (int k = 0; k < n; k++)
		if (!strcmp(key, keys[k])) {
			if (*seen & 1u << k)
				return loom_json_fail(&r->j, MALFORMED, "\"%s\" given twice", key), -2;
			*seen |= 1u << k;
			return k;
		}
	return -1;
}

/* Fails at AT, the start of the object just read, if one of the keys of
 * REQUIRED (bits of KEYS) was not in it. */
static int check_required(struct reader *r, const char *at, const char *const keys[], unsigned required,
                          unsigned seen)
{
	for (int k = 0; k < 32; k++)
		if ((required & ~seen) & 1u << k) {
			r->j.value_at = at;
			return loom_json_fail(&r->j, MALFORMED, "missing \"%s\"", keys[k]);
		}
	return 0;
}

static int get_count(struct reader *r, unsigned *out)
{
	unsigned long long v;

	if (loom_json_uint(&r->j, 0x7fffffff, &v) < 0)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int get_id(struct reader *r, unsigned *out)
{
	if (get_count(r, out) < 0)
		return -1;
	return *out ? 0 : loom_json_fail(&r->j, MALFORMED, "a hook id is at least 1");
}

static int get_bool(struct reader *r, bool *out)
{
	return loom_json_bool(&r->j, out);
}

/* A string, copied. */
static int get_string(struct reader *r, char **out)
{
	const char *s;

	if (loom_json_string(&r->j, &s, NULL) < 0)
		return -1;
	*out = loom_xstrdup(s);
	return 0;
}

/* SLOT, a pointer just pushed, set to NULL: freeing the model frees it
 * whether or not a value is read into it. */
static char **push_null(char **slot)
{
	*slot = NULL;
	return slot;
}

/* A string, copied into R's name buffer (valid until the next call). */
static int get_name(struct reader *r)
{
	const char *s;
	size_t n;

	if (loom_json_string(&r->j, &s, &n) < 0)
		return -1;
	while (r->name_cap < n + 1)
		loom_grow((void **)&r->name, &r->name_cap, r->name_cap, 1);
	memcpy(r->name, s, n + 1);
	return 0;
}

/* A file path, as the index of that file.  Slots of one file follow one
 * another: the last answer is tried first (see find_function). */
static int get_file(struct reader *r, unsigned *out)
{
	const char *path;
	size_t i;

	if (loom_json_string(&r->j, &path, NULL) < 0)
		return -1;
	i = r->last_file && !strcmp(r->m->files[r->last_file - 1].path, path)
	    ? r->last_file - 1 : loom_manifest_file_index(r->m, path);
	if (i >= r->m->nfiles)
		return loom_json_fail(&r->j, MALFORMED, "no file \"%s\" in files", path);
	*out = (unsigned)i;
	r->last_file = i + 1;
	return 0;
}

static bool function_is(const struct loom_function *f, const char *name, unsigned file, unsigned line)
{
	return f->file == file && line >= f->line && line <= f->end_line && !strcmp(f->name, name);
}

/* The function named NAME in FILE around LINE.  A function's slots follow
 * one another, and functions come in the order of their slots: the last
 * answer and the one after it are tried first (a search per slot made
 * loading binutils' manifest, 13,861 functions and 422,149 slots, take
 * 11 s).  AT is where the object naming it starts. */
static int find_function(struct reader *r, const char *at, const char *name, unsigned file, unsigned line,
                         unsigned *out)
{
	size_t n = r->m->nfunctions, i = r->last_function ? r->last_function - 1 : 0;

	if (i < n && !function_is(&r->m->functions[i], name, file, line))
		i++;
	if (i >= n || !function_is(&r->m->functions[i], name, file, line))
		for (i = 0; i < n && !function_is(&r->m->functions[i], name, file, line); i++)
			;
	if (i >= n) {
		r->j.value_at = at;
		return loom_json_fail(&r->j, MALFORMED, "no function \"%s\" around %s:%u in functions", name,
		                      r->m->files[file].path, line);
	}
	*out = (unsigned)i;
	r->last_function = i + 1;
	return 0;
}

/* Reads the value of member K (an index into the object's keys) into OBJ. */
typedef int member_reader(struct reader *r, void *obj, int k);

/* Reads one object whose members are KEYS (N of them; those of the bits
 * of REQUIRED must be there): READ reads each known member's value into
 * OBJ, unknown members are skipped.  *AT gets where the object starts. */
static int read_object(struct reader *r, const char *const keys[], int n, unsigned required,
                       member_reader *read, void *obj, const char **at)
{
	const char *key;
	unsigned seen = 0;
	int rc;

	if (loom_json_object(&r->j) < 0)
		return -1;
	*at = r->j.value_at;
	while ((rc = loom_json_member(&r->j, &key)) > 0) {
		int k = member_index(r, key, keys, n, &seen);

		if ((k >= 0 ? read(r, obj, k) : k == -1 ? loom_json_skip(&r->j) : -1) < 0)
			return -1;
	}
	return rc < 0 ? -1 : check_required(r, *at, keys, required, seen);
}

/* KEYS and their number, for member_index and read_object. */
#define KEYS(keys) keys, (int)(sizeof keys / sizeof *keys)
#define ALL(n) ((1u << (n)) - 1)

static const char *const file_keys[] = { "path", "hash", "lines", "instrumented" };

static int file_member(struct reader *r, void *obj, int k)
{
	struct loom_file *f = obj;
	const char *hash;
	size_t len;

	switch (k) {
	case 0:
		return get_string(r, &f->path);
	case 1:
		if (loom_json_string(&r->j, &hash, &len) < 0)
			return -1;
		if (len != 16)
			return loom_json_fail(&r->j, MALFORMED, "a hash has 16 hex digits");
		memcpy(f->hash, hash, 17);
		return 0;
	case 2:
		return get_count(r, &f->lines);
	default:
		return get_bool(r, &f->instrumented);
	}
}

static int read_file(struct reader *r)
{
	struct loom_file *f = LOOM_PUSH(r->m->files, r->m->nfiles, r->m->files_cap);
	const char *at;

	memset(f, 0, sizeof *f);
	return read_object(r, KEYS(file_keys), ALL(4), file_member, f, &at);
}

static const char *const call_keys[] = { "callee", "type", "line", "column", "slot", "taken", "passed_to" };

static int call_member(struct reader *r, void *obj, int k)
{
	struct loom_call *c = obj;
	int rc;

	switch (k) {
	case 0:
		rc = loom_json_null(&r->j);
		return rc ? (rc < 0 ? -1 : 0) : get_string(r, &c->callee);
	case 1: return get_string(r, &c->type);
	case 2: return get_count(r, &c->line);
	case 3: return get_count(r, &c->column);
	case 4: return get_count(r, &c->slot);
	case 5: return get_string(r, &c->taken);
	default: return get_string(r, &c->passed_to);
	}
}

static int read_call(struct reader *r, struct loom_call *c)
{
	const char *at;

	memset(c, 0, sizeof *c);
	if (read_object(r, KEYS(call_keys), ALL(5) & ~2u, call_member, c, &at) < 0)
		return -1;
	if ((c->type || c->taken) && c->callee) {
		r->j.value_at = at;
		return loom_json_fail(&r->j, MALFORMED, "a direct call has no \"type\" or \"taken\"");
	}
	if (c->passed_to && c->callee) {
		r->j.value_at = at;
		return loom_json_fail(&r->j, MALFORMED, "a direct call has no \"passed_to\"");
	}
	return 0;
}

static const char *const loop_keys[] = { "line", "end_line", "break", "twin_exit" };

static int loop_member(struct reader *r, void *obj, int k)
{
	struct loom_loop *l = obj;
	unsigned *field[] = { &l->line, &l->end_line, &l->brk, &l->twin_exit };

	return get_count(r, field[k]);
}

static int read_loop(struct reader *r, struct loom_loop *l)
{
	const char *at;

	memset(l, 0, sizeof *l);
	return read_object(r, KEYS(loop_keys), ALL(4), loop_member, l, &at);
}

static int read_edge(struct reader *r, struct loom_edge *e)
{
	unsigned *ends[] = { &e->from, &e->to };
	const char *at;
	int n = 0, rc;

	if (loom_json_array(&r->j) < 0)
		return -1;
	at = r->j.value_at;
	while ((rc = loom_json_item(&r->j)) > 0) {
		if (n == 2)
			return loom_json_fail(&r->j, MALFORMED, "an edge is [FROM, TO]");
		if (get_id(r, ends[n++]) < 0)
			return -1;
	}
	if (rc == 0 && n < 2) {
		r->j.value_at = at;
		return loom_json_fail(&r->j, MALFORMED, "an edge is [FROM, TO]");
	}
	return rc;
}

static const char *const function_keys[] = {
	"name", "file", "line", "end_line", "static", "address_taken", "slow_copy", "entry_switch",
	"fast_entry", "wraps", "entry", "break", "exits", "calls", "loops", "edges", "taken_as", "inline_reason",
	"pure",
};

/* One of a function's arrays (K is its index in function_keys). */
static int read_function_list(struct reader *r, struct loom_function *f, int k)
{
	int rc;

	if (loom_json_array(&r->j) < 0)
		return -1;
	while ((rc = loom_json_item(&r->j)) > 0) {
		if (k == 12)
			rc = get_id(r, LOOM_PUSH(f->exits, f->nexits, f->exits_cap));
		else if (k == 13)
			rc = read_call(r, LOOM_PUSH(f->calls, f->ncalls, f->calls_cap));
		else if (k == 14)
			rc = read_loop(r, LOOM_PUSH(f->loops, f->nloops, f->loops_cap));
		else if (k == 15)
			rc = read_edge(r, LOOM_PUSH(f->edges, f->nedges, f->edges_cap));
		else
			rc = get_string(r, push_null(LOOM_PUSH(f->taken_as, f->ntaken_as, f->taken_as_cap)));
		if (rc < 0)
			return -1;
	}
	return rc;
}

static int function_member(struct reader *r, void *obj, int k)
{
	struct loom_function *f = obj;
	bool *flags[] = { &f->is_static, &f->address_taken, &f->slow_copy, &f->entry_switch, &f->fast_entry,
	                  &f->wraps };

	if (k == 0)
		return get_string(r, &f->name);
	if (k == 1)
		return get_file(r, &f->file);
	if (k == 2 || k == 3)
		return get_count(r, k == 2 ? &f->line : &f->end_line);
	if (k >= 4 && k <= 9)
		return get_bool(r, flags[k - 4]);
	if (k == 10 || k == 11)
		return get_count(r, k == 10 ? &f->entry : &f->brk);
	if (k == 17)
		return get_string(r, &f->inline_reason);
	if (k == 18)
		return get_bool(r, &f->pure);
	return read_function_list(r, f, k);
}

static int read_function(struct reader *r)
{
	struct loom_function *f = LOOM_PUSH(r->m->functions, r->m->nfunctions, r->m->functions_cap);
	const char *at;

	memset(f, 0, sizeof *f);
	if (read_object(r, KEYS(function_keys), ALL(16), function_member, f, &at) < 0)
		return -1;
	if (f->ntaken_as && !f->address_taken) {
		r->j.value_at = at;
		return loom_json_fail(&r->j, MALFORMED, "taken_as without address_taken in function %s", f->name);
	}
	if (f->inline_reason && f->slow_copy) {
		r->j.value_at = at;
		return loom_json_fail(&r->j, MALFORMED, "inline_reason with slow_copy in function %s", f->name);
	}
	if (f->pure && (f->slow_copy || f->entry_switch || f->inline_reason || f->nloops || f->nedges)) {
		r->j.value_at = at;
		return loom_json_fail(&r->j, MALFORMED, "a pure function with hooks: %s", f->name);
	}
	if (f->fast_entry && !(f->slow_copy && f->entry_switch)) {
		r->j.value_at = at;
		return loom_json_fail(&r->j, MALFORMED, "fast_entry without slow_copy and entry_switch in function %s",
		                      f->name);
	}
	return 0;
}

static const char *const slot_keys[] = { "id", "kind", "copy", "file", "line", "column", "function", "callee" };

/* A slot's kind or copy, by name (NAMES, N of them) into *OUT. */
static int get_enum(struct reader *r, const char *what, const char *const names[], int n, int *out)
{
	const char *name;

	if (loom_json_string(&r->j, &name, NULL) < 0)
		return -1;
	for (*out = 0; *out < n; ++*out)
		if (!strcmp(name, names[*out]))
			return 0;
	return loom_json_fail(&r->j, MALFORMED, "unknown %s \"%s\"", what, name);
}

static int slot_member(struct reader *r, void *obj, int k)
{
	struct loom_slot *s = obj;
	int v;

	switch (k) {
	case 0:
		if (get_count(r, &s->id) < 0)
			return -1;
		if (s->id != r->m->nslots)
			return loom_json_fail(&r->j, MALFORMED, "slot %zu has id %u: ids run from 1, in order",
			                      r->m->nslots, s->id);
		return 0;
	case 1:
		if (get_enum(r, "kind", kind_names, LOOM_KIND_COUNT, &v) < 0)
			return -1;
		s->kind = (enum loom_slot_kind)v;
		return 0;
	case 2:
		if (get_enum(r, "copy", copy_names, LOOM_COPY_COUNT, &v) < 0)
			return -1;
		s->copy = (enum loom_copy)v;
		return 0;
	case 3: return get_file(r, &s->file);
	case 4: return get_count(r, &s->line);
	case 5: return get_count(r, &s->column);
	case 6: return get_name(r);
	default: return get_string(r, &s->callee);
	}
}

static int read_slot(struct reader *r)
{
	struct loom_slot *s = LOOM_PUSH(r->m->slots, r->m->nslots, r->m->slots_cap);
	const char *at;

	memset(s, 0, sizeof *s);
	if (read_object(r, KEYS(slot_keys), ALL(7), slot_member, s, &at) < 0)
		return -1;
	return find_function(r, at, r->name, s->file, s->line, &s->function);
}

static const char *const conversion_keys[] = { "from", "to" };

static int conversion_member(struct reader *r, void *obj, int k)
{
	struct loom_conversion *c = obj;

	return get_string(r, k ? &c->to : &c->from);
}

static int read_conversion(struct reader *r)
{
	struct loom_conversion *c = LOOM_PUSH(r->m->conversions, r->m->nconversions, r->m->conversions_cap);
	const char *at;

	memset(c, 0, sizeof *c);
	return read_object(r, KEYS(conversion_keys), ALL(2), conversion_member, c, &at);
}

static const char *const skip_keys[] = { "file", "line", "column", "function" };

static int skip_member(struct reader *r, void *obj, int k)
{
	struct loom_skip *s = obj;

	switch (k) {
	case 0: return get_file(r, &s->file);
	case 1: return get_count(r, &s->line);
	case 2: return get_count(r, &s->column);
	default: return get_name(r);
	}
}

static int read_skip(struct reader *r)
{
	struct loom_skip *s = LOOM_PUSH(r->m->skips, r->m->nskips, r->m->skips_cap);
	const char *at;

	memset(s, 0, sizeof *s);
	if (read_object(r, KEYS(skip_keys), ALL(4), skip_member, s, &at) < 0)
		return -1;
	return find_function(r, at, r->name, s->file, s->line, &s->function);
}

static int check_refs(struct reader *r, unsigned hooks)
{
	/* Functions name their slots by id: check every reference now, so that
	 * users of the model can index without checks. */
	for (size_t f = 0; f < r->m->nfunctions; f++) {
		const struct loom_function *fn = &r->m->functions[f];
		bool ok = fn->entry >= 1 && fn->entry <= hooks && fn->brk >= 1 && fn->brk <= hooks;

		for (size_t j = 0; j < fn->nexits; j++)
			ok = ok && fn->exits[j] <= hooks;
		for (size_t j = 0; j < fn->nloops; j++)
			ok = ok && fn->loops[j].brk <= hooks && fn->loops[j].twin_exit <= hooks;
		for (size_t j = 0; j < fn->ncalls; j++)
			ok = ok && fn->calls[j].slot <= hooks;
		/* An edge joins two hooks of the function; edges are sorted and
		 * unique (loom_function_edges_from searches them). */
		for (size_t j = 0; j < fn->nedges; j++)
			ok = ok && fn->edges[j].from <= hooks && fn->edges[j].to <= hooks
			     && r->m->slots[fn->edges[j].from - 1].function == f
			     && r->m->slots[fn->edges[j].to - 1].function == f
			     && (!j || fn->edges[j - 1].from < fn->edges[j].from
			         || (fn->edges[j - 1].from == fn->edges[j].from && fn->edges[j - 1].to < fn->edges[j].to));
		if (!ok)
			return loom_error_set(r->err, r->path, 0, 0, MALFORMED ": functions[%zu]: slot id out of range in %s",
			                      f, fn->name);
	}
	return 0;
}

/* The top level's members before its arrays, read without failing on a
 * value of another type: whether this is a manifest of this version at
 * all is said first (check_header). */
struct header {
	bool format_ok;
	const char *version_at; /* the version's text, where it starts and ends */
	const char *version_end;
	char *id, *tool, *root; /* NULL: missing, or not a string */
	unsigned hooks;
	bool hooks_ok;
	unsigned seen;
	bool checked;
};

static const char *const top_keys[] = {
	"format", "version", "tool", "id", "root", "hooks", "files", "functions", "slots", "macro_skipped",
	"conversions",
};

/* Checks what comes before the arrays, once: whether this is a manifest of
 * this version at all, before its entries are read. */
static int check_header(struct reader *r, struct header *h)
{
	size_t vlen = (size_t)(h->version_end - h->version_at);
	char version[16];

	if (h->checked)
		return 0;
	h->checked = true;
	snprintf(version, sizeof version, "%d", LOOM_MANIFEST_VERSION);
	if (!h->format_ok)
		return loom_error_set(r->err, r->path, 0, 0, "not a Loom manifest (no \"format\": \"loom-manifest\")");
	if (!h->version_at || vlen != strlen(version) || memcmp(h->version_at, version, vlen))
		return loom_error_set(r->err, r->path, 0, 0, "manifest version %.*s is not supported (this loom reads version %d)",
		                      h->version_at ? (int)(vlen > 20 ? 20 : vlen) : 4,
		                      h->version_at ? h->version_at : "none", LOOM_MANIFEST_VERSION);
	if (!h->id || strlen(h->id) != 16 || !h->tool || !h->root || !h->hooks_ok)
		return loom_error_set(r->err, r->path, 0, 0, MALFORMED ": missing or invalid id, tool, root or hooks");
	r->m = loom_manifest_new(h->tool, h->root);
	memcpy(r->m->id, h->id, 17);
	return 0;
}

/* A header member's string into *OUT, or nothing if it is another value. */
static int header_string(struct reader *r, char **out)
{
	return loom_json_peek(&r->j) == '"' ? get_string(r, out) : loom_json_skip(&r->j);
}

/* One of the top level's members (its index K in top_keys). */
static int read_top_member(struct reader *r, struct header *h, int k, int *stage)
{
	const char *s, *at, *arr_at;
	int rc;

	switch (k) {
	case 0:
		if (loom_json_peek(&r->j) != '"')
			return loom_json_skip(&r->j);
		rc = loom_json_string(&r->j, &s, NULL);
		h->format_ok = !rc && !strcmp(s, "loom-manifest");
		return rc;
	case 1:
	case 5:
		/* Any value: the version's text goes into the error if it is not
		 * ours; hooks must be digits, a count. */
		loom_json_peek(&r->j);
		at = r->j.p;
		rc = loom_json_skip(&r->j);
		if (k == 1) {
			h->version_at = at;
			h->version_end = r->j.p;
			return rc;
		}
		h->hooks_ok = !rc && r->j.p > at && r->j.p - at <= 10;
		for (h->hooks = 0; h->hooks_ok && at < r->j.p; at++) {
			h->hooks_ok = *at >= '0' && *at <= '9' && h->hooks <= (0x7fffffffu - (unsigned)(*at - '0')) / 10;
			h->hooks = h->hooks * 10 + (unsigned)(*at - '0');
		}
		return rc;
	case 2: return header_string(r, &h->tool);
	case 3: return header_string(r, &h->id);
	case 4: return header_string(r, &h->root);
	case -1: return loom_json_skip(&r->j);
	case -2: return -1;
	}
	/* An array of entries: files (k 6), functions, slots, macro_skipped,
	 * conversions (optional). */
	if (check_header(r, h) < 0)
		return -1;
	if (*stage != k - 6)
		return loom_json_fail(&r->j, MALFORMED, "out of place: the arrays come as files, functions, slots, "
		                      "macro_skipped, conversions");
	*stage = k - 5;
	r->m->typed |= k == 10;
	if (loom_json_array(&r->j) < 0)
		return -1;
	arr_at = r->j.value_at;
	while ((rc = loom_json_item(&r->j)) > 0) {
		if (k == 8 && r->m->nslots == h->hooks)
			return loom_json_fail(&r->j, MALFORMED, "more slots than \"hooks\" (%u)", h->hooks);
		rc = k == 6 ? read_file(r) : k == 7 ? read_function(r) : k == 8 ? read_slot(r)
		     : k == 9 ? read_skip(r) : read_conversion(r);
		if (rc < 0)
			return -1;
	}
	if (rc == 0 && k == 8 && r->m->nslots != h->hooks) {
		r->j.value_at = arr_at;
		return loom_json_fail(&r->j, MALFORMED, "%zu slots, but \"hooks\" is %u", r->m->nslots, h->hooks);
	}
	return rc;
}

static int read_manifest(struct reader *r, struct header *h)
{
	const char *key;
	int stage = 0, rc;

	if (loom_json_peek(&r->j) != '{') {
		if (loom_json_skip(&r->j) < 0 || loom_json_end(&r->j) < 0)
			return -1;
		return check_header(r, h);
	}
	if (loom_json_object(&r->j) < 0)
		return -1;
	while ((rc = loom_json_member(&r->j, &key)) > 0)
		if (read_top_member(r, h, member_index(r, key, KEYS(top_keys), &h->seen), &stage) < 0)
			return -1;
	if (rc < 0 || loom_json_end(&r->j) < 0 || check_header(r, h) < 0)
		return -1;
	if (stage < 4)
		return loom_error_set(r->err, r->path, 0, 0, MALFORMED ": missing \"%s\"", top_keys[6 + stage]);
	return check_refs(r, h->hooks);
}

struct loom_manifest *loom_manifest_parse(const char *text, size_t len, const char *path,
                                         struct loom_error *err)
{
	struct reader r = { .path = path, .err = err };
	struct header h = { 0 };
	const char *id_at;
	char want[17];

	/* The syntax first, as a whole: a damaged file is reported as such,
	 * not by whatever the damage made of the entries before it. */
	loom_json_init(&r.j, text, len, path, err);
	if (loom_json_skip(&r.j) < 0 || loom_json_end(&r.j) < 0)
		goto fail;
	loom_json_fini(&r.j);
	loom_json_init(&r.j, text, len, path, err);
	r.j.what = MALFORMED;
	if (read_manifest(&r, &h) < 0)
		goto fail;
	/* The id's digits as the writer placed them: the one string-valued
	 * "id" (slot ids are numbers). */
	id_at = memmem(text, len, "\n \"id\":\"", 8);
	if (!id_at || id_at + 8 + 16 > text + len || memcmp(id_at + 8, r.m->id, 16)) {
		loom_error_set(err, path, 0, 0, "manifest id %s is not where loom-rewrite writes it: "
		               "the file was edited or damaged", r.m->id);
		goto fail;
	}
	text_id(text, len, (size_t)(id_at + 8 - text), want);
	if (strcmp(want, r.m->id)) {
		loom_error_set(err, path, 0, 0, "manifest id %s does not match its content (%s): the file was edited or damaged",
		               r.m->id, want);
		goto fail;
	}
	goto done;
fail:
	loom_manifest_free(r.m);
	r.m = NULL;
done:
	loom_json_fini(&r.j);
	free(h.id);
	free(h.tool);
	free(h.root);
	free(r.name);
	return r.m;
}

struct loom_manifest *loom_manifest_load(const char *path, struct loom_error *err)
{
	size_t len;
	char *text = loom_read_file(path, &len);
	struct loom_manifest *m;

	if (!text) {
		loom_error_set(err, path, 0, 0, "cannot read manifest: %s", strerror(errno));
		return NULL;
	}
	m = loom_manifest_parse(text, len, path, err);
	free(text);
	return m;
}

char *loom_join_path(const char *dir, const char *name)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return loom_xasprintf("%.*s%s%s", (int)n, dir, n && dir[n - 1] == '/' ? "" : "/", name);
}

struct loom_manifest *loom_manifest_open(const char *arg, struct loom_error *err)
{
	struct stat st;
	struct loom_manifest *m = NULL;
	char *path;

	if (stat(arg, &st) < 0 || !S_ISDIR(st.st_mode))
		return loom_manifest_load(arg, err);
	path = loom_join_path(arg, LOOM_MANIFEST_NAME);
	if (access(path, F_OK) < 0 && errno == ENOENT)
		loom_error_set(err, arg, 0, 0, "not a rewritten tree: it holds no %s", LOOM_MANIFEST_NAME);
	else
		m = loom_manifest_load(path, err);
	free(path);
	return m;
}
