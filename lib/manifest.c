#include "manifest.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
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
		}
		free(f->calls);
		free(f->loops);
		free(f->edges);
	}
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
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
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
	putf(t, ",\"line\":%u,\"end_line\":%u,\"static\":%s,\"address_taken\":%s,\"slow_copy\":%s,"
	     "\"entry_switch\":%s,\"fast_entry\":%s,\"wraps\":%s,\"entry\":%u,\"break\":%u,\"exits\":[",
	     f->line, f->end_line, json_bool(f->is_static), json_bool(f->address_taken), json_bool(f->slow_copy),
	     json_bool(f->entry_switch), json_bool(f->fast_entry), json_bool(f->wraps), f->entry, f->brk);
	for (size_t j = 0; j < f->nexits; j++)
		putf(t, "%s%u", j ? "," : "", f->exits[j]);
	put_str(t, "],\"calls\":[");
	for (size_t j = 0; j < f->ncalls; j++) {
		put_str(t, j ? ",{\"callee\":" : "{\"callee\":");
		if (f->calls[j].callee)
			put_string(t, f->calls[j].callee);
		else
			put_str(t, "null");
		if (f->calls[j].type)
			put_key_string(t, "type", f->calls[j].type);
		putf(t, ",\"line\":%u,\"column\":%u,\"slot\":%u}", f->calls[j].line, f->calls[j].column,
		     f->calls[j].slot);
	}
	put_str(t, "],\"loops\":[");
	for (size_t j = 0; j < f->nloops; j++)
		putf(t, "%s{\"line\":%u,\"end_line\":%u,\"break\":%u,\"twin_exit\":%u}", j ? "," : "",
		     f->loops[j].line, f->loops[j].end_line, f->loops[j].brk, f->loops[j].twin_exit);
	put_str(t, "],\"edges\":[");
	for (size_t j = 0; j < f->nedges; j++)
		putf(t, "%s[%u,%u]", j ? "," : "", f->edges[j].from, f->edges[j].to);
	put_str(t, "]}");
}

/* Where the id's 16 hex digits go: written as zeros, hashed, then filled. */
#define ID_PLACEHOLDER "0000000000000000"

static char *dump_lines(const struct loom_manifest *m, size_t *id_at, size_t *len)
{
	struct text t = { 0 };

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

		putf(&t, "%s{\"id\":%u,\"kind\":\"%s\",\"copy\":\"%s\",\"file\":", i ? ",\n  " : "\n  ", s->id,
		     loom_kind_name(s->kind), loom_copy_name(s->copy));
		put_string(&t, m->files[s->file].path);
		putf(&t, ",\"line\":%u,\"column\":%u,\"function\":", s->line, s->column);
		put_string(&t, m->functions[s->function].name);
		if (s->callee)
			put_key_string(&t, "callee", s->callee);
		put_str(&t, "}");
	}
	put_str(&t, m->nslots ? "\n ],\n \"macro_skipped\":[" : "],\n \"macro_skipped\":[");
	for (size_t i = 0; i < m->nskips; i++) {
		const struct loom_skip *s = &m->skips[i];

		put_str(&t, i ? ",\n  {\"file\":" : "\n  {\"file\":");
		put_string(&t, m->files[s->file].path);
		putf(&t, ",\"line\":%u,\"column\":%u,\"function\":", s->line, s->column);
		put_string(&t, m->functions[s->function].name);
		put_str(&t, "}");
	}
	put_str(&t, m->nskips ? "\n ]\n}\n" : "]\n}\n");
	*len = t.len;
	return t.s;
}

/* The id of manifest TEXT (LEN bytes) whose id digits start at ID_AT: the
 * FNV-1a 64 of the text with those digits as zeros, so that the loader can
 * recompute it from the file's bytes and any edit shows. */
static void text_id(char *text, size_t len, size_t id_at, char out[17])
{
	char saved[16];

	memcpy(saved, text + id_at, 16);
	memcpy(text + id_at, ID_PLACEHOLDER, 16);
	snprintf(out, 17, "%016" PRIx64, loom_fnv64(LOOM_FNV_SEED, text, len));
	memcpy(text + id_at, saved, 16);
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

struct reader {
	const char *path;
	struct loom_error *err;
	struct loom_manifest *m;
	size_t last_function; /* find_function's last answer + 1, 0 if none */
	size_t last_file;     /* find_file's, the same way */
};

static int bad(struct reader *r, const char *what, size_t index, const char *fmt, const char *name)
{
	char where[128];

	if (index == (size_t)-1)
		snprintf(where, sizeof where, "%s", what);
	else
		snprintf(where, sizeof where, "%s[%zu]", what, index);
	return loom_error_set(r->err, r->path, 0, 0, "malformed manifest: %s: %s%s%s",
	                      where, fmt, name ? " " : "", name ? name : "");
}

static int get_uint(json_t *o, const char *key, unsigned *out)
{
	json_t *v = json_object_get(o, key);
	json_int_t i;

	if (!json_is_integer(v))
		return -1;
	i = json_integer_value(v);
	if (i < 0 || i > 0x7fffffff)
		return -1;
	*out = (unsigned)i;
	return 0;
}

static const char *get_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

size_t loom_manifest_file_index(const struct loom_manifest *m, const char *path)
{
	size_t i = 0;

	while (path && i < m->nfiles && strcmp(m->files[i].path, path))
		i++;
	return path ? i : m->nfiles;
}

/* Slots of one file follow one another: the last answer first (see
 * find_function). */
static int find_file(struct reader *r, const char *path, unsigned *out)
{
	size_t i = r->last_file && path && !strcmp(r->m->files[r->last_file - 1].path, path)
	           ? r->last_file - 1 : loom_manifest_file_index(r->m, path);

	*out = (unsigned)i;
	if (i >= r->m->nfiles)
		return -1;
	r->last_file = i + 1;
	return 0;
}

static int read_files(struct reader *r, json_t *files)
{
	size_t i;
	json_t *o;

	if (!json_is_array(files))
		return bad(r, "files", (size_t)-1, "expected an array", NULL);
	json_array_foreach(files, i, o) {
		struct loom_file *f = LOOM_PUSH(r->m->files, r->m->nfiles, r->m->files_cap);
		const char *path = get_str(o, "path"), *hash = get_str(o, "hash");

		memset(f, 0, sizeof *f);
		if (!path || !hash || strlen(hash) != 16 || get_uint(o, "lines", &f->lines) < 0
		    || !json_is_boolean(json_object_get(o, "instrumented")))
			return bad(r, "files", i, "missing or invalid path, hash, lines or instrumented", NULL);
		f->path = loom_xstrdup(path);
		memcpy(f->hash, hash, 17);
		f->instrumented = json_is_true(json_object_get(o, "instrumented"));
	}
	return 0;
}

static int read_functions(struct reader *r, json_t *fns)
{
	size_t i;
	json_t *o;

	if (!json_is_array(fns))
		return bad(r, "functions", (size_t)-1, "expected an array", NULL);
	json_array_foreach(fns, i, o) {
		struct loom_function *f = LOOM_PUSH(r->m->functions, r->m->nfunctions,
		                                    r->m->functions_cap);
		json_t *exits = json_object_get(o, "exits"), *calls = json_object_get(o, "calls");
		json_t *loops = json_object_get(o, "loops"), *edges = json_object_get(o, "edges");
		const char *name = get_str(o, "name");
		size_t j;
		json_t *v;

		memset(f, 0, sizeof *f);
		if (!name || find_file(r, get_str(o, "file"), &f->file) < 0
		    || get_uint(o, "line", &f->line) < 0 || get_uint(o, "end_line", &f->end_line) < 0
		    || get_uint(o, "entry", &f->entry) < 0 || get_uint(o, "break", &f->brk) < 0
		    || !json_is_boolean(json_object_get(o, "static"))
		    || !json_is_boolean(json_object_get(o, "address_taken"))
		    || !json_is_boolean(json_object_get(o, "slow_copy"))
		    || !json_is_boolean(json_object_get(o, "entry_switch"))
		    || !json_is_boolean(json_object_get(o, "fast_entry"))
		    || !json_is_boolean(json_object_get(o, "wraps"))
		    || !json_is_array(exits) || !json_is_array(calls) || !json_is_array(loops)
		    || !json_is_array(edges))
			return bad(r, "functions", i, "missing or invalid field in function", name);
		f->name = loom_xstrdup(name);
		f->is_static = json_is_true(json_object_get(o, "static"));
		f->address_taken = json_is_true(json_object_get(o, "address_taken"));
		f->slow_copy = json_is_true(json_object_get(o, "slow_copy"));
		f->entry_switch = json_is_true(json_object_get(o, "entry_switch"));
		f->fast_entry = json_is_true(json_object_get(o, "fast_entry"));
		f->wraps = json_is_true(json_object_get(o, "wraps"));
		if (f->fast_entry && !(f->slow_copy && f->entry_switch))
			return bad(r, "functions", i, "fast_entry without slow_copy and entry_switch in function", name);
		json_array_foreach(exits, j, v) {
			json_int_t id = json_integer_value(v);

			if (!json_is_integer(v) || id < 1 || id > 0x7fffffff)
				return bad(r, "functions", i, "invalid exit id in", name);
			*LOOM_PUSH(f->exits, f->nexits, f->exits_cap) = (unsigned)id;
		}
		json_array_foreach(loops, j, v) {
			struct loom_loop *l = LOOM_PUSH(f->loops, f->nloops, f->loops_cap);

			if (get_uint(v, "line", &l->line) < 0 || get_uint(v, "end_line", &l->end_line) < 0
			    || get_uint(v, "break", &l->brk) < 0 || get_uint(v, "twin_exit", &l->twin_exit) < 0)
				return bad(r, "functions", i, "invalid loop in", name);
		}
		json_array_foreach(calls, j, v) {
			struct loom_call *c = LOOM_PUSH(f->calls, f->ncalls, f->calls_cap);
			json_t *callee = json_object_get(v, "callee");

			json_t *type = json_object_get(v, "type");

			memset(c, 0, sizeof *c);
			if ((!json_is_string(callee) && !json_is_null(callee))
			    || (type && (!json_is_string(type) || json_is_string(callee)))
			    || get_uint(v, "line", &c->line) < 0 || get_uint(v, "column", &c->column) < 0
			    || get_uint(v, "slot", &c->slot) < 0)
				return bad(r, "functions", i, "invalid call in", name);
			c->callee = json_is_string(callee) ? loom_xstrdup(json_string_value(callee)) : NULL;
			c->type = type ? loom_xstrdup(json_string_value(type)) : NULL;
		}
		json_array_foreach(edges, j, v) {
			struct loom_edge *e = LOOM_PUSH(f->edges, f->nedges, f->edges_cap);
			json_t *from = json_array_get(v, 0), *to = json_array_get(v, 1);

			if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_integer(from)
			    || !json_is_integer(to) || json_integer_value(from) < 1 || json_integer_value(to) < 1
			    || json_integer_value(from) > 0x7fffffff || json_integer_value(to) > 0x7fffffff)
				return bad(r, "functions", i, "invalid edge in", name);
			e->from = (unsigned)json_integer_value(from);
			e->to = (unsigned)json_integer_value(to);
		}
	}
	return 0;
}

static bool function_is(const struct loom_function *f, const char *name, unsigned file, unsigned line)
{
	return f->file == file && line >= f->line && line <= f->end_line && !strcmp(f->name, name);
}

/* The function a slot names.  A function's slots follow one another, so
 * the last answer is tried first: a search per slot made loading
 * binutils' manifest (13,861 functions, 422,149 slots) take 11 s. */
static int find_function(struct reader *r, const char *name, unsigned file, unsigned line,
                         unsigned *out)
{
	if (name && r->last_function && function_is(&r->m->functions[r->last_function - 1], name, file, line)) {
		*out = (unsigned)(r->last_function - 1);
		return 0;
	}
	for (size_t i = 0; name && i < r->m->nfunctions; i++)
		if (function_is(&r->m->functions[i], name, file, line)) {
			*out = (unsigned)i;
			r->last_function = i + 1;
			return 0;
		}
	return -1;
}

static int read_slots(struct reader *r, json_t *slots, unsigned hooks)
{
	size_t i;
	json_t *o;

	if (!json_is_array(slots) || json_array_size(slots) != hooks)
		return bad(r, "slots", (size_t)-1, "expected an array of `hooks` entries", NULL);
	json_array_foreach(slots, i, o) {
		struct loom_slot *s = LOOM_PUSH(r->m->slots, r->m->nslots, r->m->slots_cap);
		const char *kind = get_str(o, "kind"), *callee = get_str(o, "callee");
		const char *copy = get_str(o, "copy");

		memset(s, 0, sizeof *s);
		s->kind = LOOM_KIND_COUNT;
		for (int k = 0; kind && k < LOOM_KIND_COUNT; k++)
			if (!strcmp(kind, kind_names[k]))
				s->kind = (enum loom_slot_kind)k;
		s->copy = LOOM_COPY_COUNT;
		for (int k = 0; copy && k < LOOM_COPY_COUNT; k++)
			if (!strcmp(copy, copy_names[k]))
				s->copy = (enum loom_copy)k;
		if (get_uint(o, "id", &s->id) < 0 || s->id != i + 1 || s->kind == LOOM_KIND_COUNT
		    || s->copy == LOOM_COPY_COUNT
		    || find_file(r, get_str(o, "file"), &s->file) < 0
		    || get_uint(o, "line", &s->line) < 0 || get_uint(o, "column", &s->column) < 0
		    || find_function(r, get_str(o, "function"), s->file, s->line, &s->function) < 0)
			return bad(r, "slots", i, "missing or invalid id, kind, copy, file, line, column or function", NULL);
		s->callee = callee ? loom_xstrdup(callee) : NULL;
	}
	return 0;
}

static int read_skips(struct reader *r, json_t *skips)
{
	size_t i;
	json_t *o;

	if (!json_is_array(skips))
		return bad(r, "macro_skipped", (size_t)-1, "expected an array", NULL);
	json_array_foreach(skips, i, o) {
		struct loom_skip *s = LOOM_PUSH(r->m->skips, r->m->nskips, r->m->skips_cap);

		memset(s, 0, sizeof *s);
		if (find_file(r, get_str(o, "file"), &s->file) < 0
		    || get_uint(o, "line", &s->line) < 0 || get_uint(o, "column", &s->column) < 0
		    || find_function(r, get_str(o, "function"), s->file, s->line, &s->function) < 0)
			return bad(r, "macro_skipped", i, "missing or invalid file, line, column or function", NULL);
	}
	return 0;
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
			return bad(r, "functions", f, "slot id out of range in", fn->name);
	}
	return 0;
}

struct loom_manifest *loom_manifest_load(const char *path, struct loom_error *err)
{
	json_error_t jerr;
	size_t len;
	char *text = loom_read_file(path, &len);
	json_t *root = text ? json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
	struct reader r = { .path = path, .err = err };
	const char *id_at;
	const char *format, *id, *tool, *rootdir;
	json_int_t version;
	unsigned hooks;
	char want[17];

	if (!text) {
		loom_error_set(err, path, 0, 0, "cannot read manifest: %s", strerror(errno));
		return NULL;
	}
	if (!root) {
		if (jerr.line <= 0)
			loom_error_set(err, path, 0, 0, "cannot read manifest: %s", jerr.text);
		else
			loom_error_set(err, path, (unsigned)jerr.line, (unsigned)jerr.column,
			               "invalid JSON: %s", jerr.text);
		return NULL;
	}
	format = get_str(root, "format");
	version = json_integer_value(json_object_get(root, "version"));
	id = get_str(root, "id");
	tool = get_str(root, "tool");
	rootdir = get_str(root, "root");
	if (!format || strcmp(format, "loom-manifest")) {
		loom_error_set(err, path, 0, 0, "not a Loom manifest (no \"format\": \"loom-manifest\")");
		goto fail;
	}
	if (version != LOOM_MANIFEST_VERSION) {
		loom_error_set(err, path, 0, 0, "manifest version %lld is not supported (this loom reads version %d)",
		               (long long)version, LOOM_MANIFEST_VERSION);
		goto fail;
	}
	if (!id || strlen(id) != 16 || !tool || !rootdir || get_uint(root, "hooks", &hooks) < 0) {
		loom_error_set(err, path, 0, 0, "malformed manifest: missing id, tool, root or hooks");
		goto fail;
	}
	r.m = loom_manifest_new(tool, rootdir);
	if (read_files(&r, json_object_get(root, "files")) < 0
	    || read_functions(&r, json_object_get(root, "functions")) < 0
	    || read_slots(&r, json_object_get(root, "slots"), hooks) < 0
	    || check_refs(&r, hooks) < 0
	    || read_skips(&r, json_object_get(root, "macro_skipped")) < 0)
		goto fail;
	memcpy(r.m->id, id, 17);
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
	json_decref(root);
	free(text);
	return r.m;
fail:
	loom_manifest_free(r.m);
	json_decref(root);
	free(text);
	return NULL;
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
