#include "manifest.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[LOOM_KIND_COUNT] = {
	[LOOM_KIND_ENTRY] = "entry",
	[LOOM_KIND_STMT] = "stmt",
	[LOOM_KIND_EXIT] = "exit",
	[LOOM_KIND_BREAK] = "break",
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
		for (size_t j = 0; j < f->ncalls; j++)
			free(f->calls[j].callee);
		free(f->calls);
		free(f->loops);
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

static json_t *ids_to_json(const unsigned *ids, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_integer(ids[i]));
	return a;
}

static json_t *to_json(const struct loom_manifest *m)
{
	json_t *files = json_array(), *fns = json_array(), *slots = json_array();
	json_t *skips = json_array();

	for (size_t i = 0; i < m->nfiles; i++) {
		const struct loom_file *f = &m->files[i];

		json_array_append_new(files, json_pack("{s:s, s:s, s:i, s:b}",
			"path", f->path, "hash", f->hash, "lines", (json_int_t)f->lines,
			"instrumented", f->instrumented));
	}
	for (size_t i = 0; i < m->nfunctions; i++) {
		const struct loom_function *f = &m->functions[i];
		json_t *calls = json_array(), *loops = json_array();

		for (size_t j = 0; j < f->ncalls; j++)
			json_array_append_new(calls, json_pack("{s:o, s:i, s:i}",
				"callee", f->calls[j].callee ? json_string(f->calls[j].callee) : json_null(),
				"line", (json_int_t)f->calls[j].line,
				"column", (json_int_t)f->calls[j].column));
		for (size_t j = 0; j < f->nloops; j++)
			json_array_append_new(loops, json_pack("{s:i, s:i, s:i, s:i}",
				"line", (json_int_t)f->loops[j].line, "end_line", (json_int_t)f->loops[j].end_line,
				"break", (json_int_t)f->loops[j].brk, "twin_exit", (json_int_t)f->loops[j].twin_exit));
		json_array_append_new(fns, json_pack(
			"{s:s, s:s, s:i, s:i, s:b, s:b, s:b, s:b, s:i, s:i, s:o, s:o, s:o}",
			"name", f->name, "file", m->files[f->file].path,
			"line", (json_int_t)f->line, "end_line", (json_int_t)f->end_line,
			"static", f->is_static, "address_taken", f->address_taken,
			"slow_copy", f->slow_copy, "entry_switch", f->entry_switch,
			"entry", (json_int_t)f->entry, "break", (json_int_t)f->brk,
			"exits", ids_to_json(f->exits, f->nexits), "calls", calls, "loops", loops));
	}
	for (size_t i = 0; i < m->nslots; i++) {
		const struct loom_slot *s = &m->slots[i];
		json_t *o = json_pack("{s:i, s:s, s:s, s:s, s:i, s:i, s:s}",
			"id", (json_int_t)s->id, "kind", loom_kind_name(s->kind),
			"copy", loom_copy_name(s->copy),
			"file", m->files[s->file].path, "line", (json_int_t)s->line,
			"column", (json_int_t)s->column,
			"function", m->functions[s->function].name);

		if (s->callee)
			json_object_set_new(o, "callee", json_string(s->callee));
		json_array_append_new(slots, o);
	}
	for (size_t i = 0; i < m->nskips; i++) {
		const struct loom_skip *s = &m->skips[i];

		json_array_append_new(skips, json_pack("{s:s, s:i, s:i, s:s}",
			"file", m->files[s->file].path, "line", (json_int_t)s->line,
			"column", (json_int_t)s->column, "function", m->functions[s->function].name));
	}
	return json_pack("{s:s, s:i, s:s, s:s, s:i, s:o, s:o, s:o, s:o}",
		"format", "loom-manifest", "version", LOOM_MANIFEST_VERSION,
		"tool", m->tool, "root", m->root, "hooks", (json_int_t)m->nslots,
		"files", files, "functions", fns, "slots", slots, "macro_skipped", skips);
}

/* The id is a hash of the canonical compact form without the id itself, so
 * that the loader can recompute and check it. */
static void compute_id(json_t *root, char out[17])
{
	char *text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);

	if (!text) {
		fputs("loom: out of memory\n", stderr);
		abort();
	}
	snprintf(out, 17, "%016" PRIx64, loom_fnv64(LOOM_FNV_SEED, text, strlen(text)));
	free(text);
}

struct text {
	char *s;
	size_t len, cap;
};

static void append(struct text *t, const char *s)
{
	size_t n = strlen(s);

	while (t->cap < t->len + n + 1)
		loom_grow((void **)&t->s, &t->cap, t->cap, 1);
	memcpy(t->s + t->len, s, n + 1);
	t->len += n;
}

/* One file, function, slot or skip per line: small diffs, easy to grep and
 * to review; the top level in the order a reader wants it. */
static char *dump_lines(json_t *root)
{
	static const char *const order[] = {
		"format", "version", "tool", "id", "root", "hooks",
		"files", "functions", "slots", "macro_skipped",
	};
	struct text t = { 0 };

	append(&t, "{");
	for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
		json_t *v = json_object_get(root, order[k]), *e;
		char *item;
		size_t i;

		append(&t, k ? ",\n \"" : "\n \"");
		append(&t, order[k]);
		append(&t, "\":");
		if (!json_is_array(v)) {
			item = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			append(&t, item);
			free(item);
			continue;
		}
		json_array_foreach(v, i, e) {
			append(&t, i ? ",\n  " : "[\n  ");
			item = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
			append(&t, item);
			free(item);
		}
		append(&t, json_array_size(v) ? "\n ]" : "[]");
	}
	append(&t, "\n}\n");
	return t.s;
}

int loom_manifest_save(struct loom_manifest *m, const char *path,
                       struct loom_error *err)
{
	json_t *root = to_json(m);
	char *text;
	int ret = 0;

	compute_id(root, m->id);
	json_object_set_new(root, "id", json_string(m->id));
	text = dump_lines(root);
	json_decref(root);
	if (loom_write_file(path, text, strlen(text)) < 0)
		ret = loom_error_set(err, path, 0, 0, "cannot write: %s", strerror(errno));
	free(text);
	return ret;
}

/* ---- reading ---- */

struct reader {
	const char *path;
	struct loom_error *err;
	struct loom_manifest *m;
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

static int find_file(struct reader *r, const char *path, unsigned *out)
{
	for (size_t i = 0; path && i < r->m->nfiles; i++)
		if (!strcmp(r->m->files[i].path, path)) {
			*out = (unsigned)i;
			return 0;
		}
	return -1;
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
		json_t *loops = json_object_get(o, "loops");
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
		    || !json_is_array(exits) || !json_is_array(calls) || !json_is_array(loops))
			return bad(r, "functions", i, "missing or invalid field in function", name);
		f->name = loom_xstrdup(name);
		f->is_static = json_is_true(json_object_get(o, "static"));
		f->address_taken = json_is_true(json_object_get(o, "address_taken"));
		f->slow_copy = json_is_true(json_object_get(o, "slow_copy"));
		f->entry_switch = json_is_true(json_object_get(o, "entry_switch"));
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

			memset(c, 0, sizeof *c);
			if ((!json_is_string(callee) && !json_is_null(callee))
			    || get_uint(v, "line", &c->line) < 0 || get_uint(v, "column", &c->column) < 0)
				return bad(r, "functions", i, "invalid call in", name);
			c->callee = json_is_string(callee) ? loom_xstrdup(json_string_value(callee)) : NULL;
		}
	}
	return 0;
}

static int find_function(struct reader *r, const char *name, unsigned file, unsigned line,
                         unsigned *out)
{
	for (size_t i = 0; name && i < r->m->nfunctions; i++) {
		const struct loom_function *f = &r->m->functions[i];

		if (f->file == file && line >= f->line && line <= f->end_line && !strcmp(f->name, name)) {
			*out = (unsigned)i;
			return 0;
		}
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
		if (!ok)
			return bad(r, "functions", f, "slot id out of range in", fn->name);
	}
	return 0;
}

struct loom_manifest *loom_manifest_load(const char *path, struct loom_error *err)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	struct reader r = { .path = path, .err = err };
	const char *format, *id, *tool, *rootdir;
	json_int_t version;
	unsigned hooks;
	char want[17];

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
	json_object_del(root, "id"); /* frees id */
	compute_id(root, want);
	if (strcmp(want, r.m->id)) {
		loom_error_set(err, path, 0, 0, "manifest id %s does not match its content (%s): the file was edited or damaged",
		               r.m->id, want);
		goto fail;
	}
	json_decref(root);
	return r.m;
fail:
	loom_manifest_free(r.m);
	json_decref(root);
	return NULL;
}
