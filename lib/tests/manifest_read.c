/* The manifest reader (lib/json_reader.c, lib/manifest.c), suite 'lib':
 *
 * - a model written and read back is the same model, with paths that need
 *   escapes and UTF-8, and members in any order and any spacing;
 * - every prefix of a manifest, and every one-byte change of it, is refused
 *   with an error, and the error is a located "invalid JSON" exactly when
 *   jansson (the oracle) finds the text is not JSON;
 * - bad values get errors that name the file, line, column and the value's
 *   path in the document.
 *
 * Built with the library's sources under AddressSanitizer and UBSan, so
 * that a read out of bounds or a leak on an error path fails it too.
 *
 * Exit 0 when every check holds, 1 otherwise (each failure printed). */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json_reader.h"
#include "manifest.h"

static int checks, failures;

__attribute__((format(printf, 2, 3)))
static bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	checks++;
	if (ok)
		return true;
	failures++;
	fprintf(stderr, "FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return false;
}

static char dir[] = "/tmp/loom-manifest-read-XXXXXX";
static char path[sizeof dir + 32];

/* Sets the id of manifest TEXT as loom-rewrite computes it (docs/manifest.md),
 * so that an edited text passes the id check and reaches what it tests. */
static void fix_id(char *text, size_t len)
{
	char *at = strstr(text, "\n \"id\":\"");
	char hex[17];

	if (!at)
		abort();
	at += 8;
	memset(at, '0', 16);
	snprintf(hex, sizeof hex, "%016llx", (unsigned long long)loom_fnv64(LOOM_FNV_SEED, text, len));
	memcpy(at, hex, 16);
}

/* Parses TEXT as if read from PATH: the manifest, or NULL with *ERR set.
 * From a copy of exactly LEN bytes: under AddressSanitizer a read past
 * them fails (a file's text has a NUL after them). */
static struct loom_manifest *load_text(const char *text, size_t len, struct loom_error *err)
{
	char *copy = loom_xmalloc(len ? len : 1);
	struct loom_manifest *m;

	memset(err, 0, sizeof *err);
	memcpy(copy, text, len);
	m = loom_manifest_parse(copy, len, path, err);
	free(copy);
	return m;
}

/* ---- a model with one of everything ---- */

static struct loom_manifest *sample(void)
{
	struct loom_manifest *m = loom_manifest_new("loom-rewrite test", "/src/a \"tree\"");
	struct loom_file *f;
	struct loom_function *fn;
	struct loom_call *c;
	struct loom_skip *sk;
	const char *paths[] = { "na\xc3\xafve/\xe2\x82\xac.c", "odd\tname\\x.h" };

	for (int i = 0; i < 2; i++) {
		f = LOOM_PUSH(m->files, m->nfiles, m->files_cap);
		memset(f, 0, sizeof *f);
		f->path = loom_xstrdup(paths[i]);
		memcpy(f->hash, i ? "00000000deadbeef" : "0123456789abcdef", 17);
		f->lines = 40u + (unsigned)i;
		f->instrumented = !i;
	}
	for (int i = 0; i < 2; i++) {
		unsigned base = (unsigned)m->nslots;

		fn = LOOM_PUSH(m->functions, m->nfunctions, m->functions_cap);
		memset(fn, 0, sizeof *fn);
		fn->name = loom_xstrdup(i ? "helper" : "worker");
		fn->file = (unsigned)i;
		fn->line = 10u * (unsigned)i + 3;
		fn->end_line = fn->line + 6;
		fn->is_static = i;
		fn->address_taken = !i;
		if (!i) {
			*LOOM_PUSH(fn->taken_as, fn->ntaken_as, fn->taken_as_cap) = loom_xstrdup("int (const void *, const void *)");
			*LOOM_PUSH(fn->taken_as, fn->ntaken_as, fn->taken_as_cap) = loom_xstrdup("void *(void *)");
		}
		fn->slow_copy = !i;
		fn->inline_reason = i ? loom_xstrdup("static local \"variables\"") : NULL;
		fn->entry_switch = !i;
		fn->fast_entry = !i;
		fn->wraps = i;
		loom_manifest_add_slot(m, LOOM_KIND_BREAK, fn->file, fn->line, 1, (unsigned)i);
		loom_manifest_add_slot(m, LOOM_KIND_ENTRY, fn->file, fn->line, 1, (unsigned)i);
		loom_manifest_add_slot(m, i ? LOOM_KIND_STMT : LOOM_KIND_CALL, fn->file, fn->line + 2, 5, (unsigned)i);
		loom_manifest_add_slot(m, LOOM_KIND_BACKEDGE, fn->file, fn->line + 3, 9, (unsigned)i);
		loom_manifest_add_slot(m, LOOM_KIND_BLOCKING, fn->file, fn->line + 4, 9, (unsigned)i);
		loom_manifest_add_slot(m, LOOM_KIND_EXIT, fn->file, fn->end_line, 1, (unsigned)i);
		m->slots[base + 4].callee = loom_xstrdup("pthread_cond_wait");
		m->slots[base + 4].copy = LOOM_COPY_BOTH;
		m->slots[base + 5].copy = i ? LOOM_COPY_TWIN : LOOM_COPY_INLINE;
		fn->brk = base + 1;
		fn->entry = base + 2;
		*LOOM_PUSH(fn->exits, fn->nexits, fn->exits_cap) = base + 6;
		*LOOM_PUSH(fn->exits, fn->nexits, fn->exits_cap) = base + 3;
		c = LOOM_PUSH(fn->calls, fn->ncalls, fn->calls_cap);
		memset(c, 0, sizeof *c);
		c->callee = i ? NULL : loom_xstrdup("helper");
		c->type = i ? loom_xstrdup("int (const void *, const void *)") : NULL;
		c->taken = i ? loom_xstrdup("worker") : NULL;
		c->passed_to = i ? loom_xstrdup("run_later") : NULL;
		c->line = fn->line + 2;
		c->column = 12;
		c->slot = base + 3;
		*LOOM_PUSH(fn->loops, fn->nloops, fn->loops_cap) =
			(struct loom_loop){ fn->line + 3, fn->line + 5, base + 4, i ? base + 6 : 0 };
		for (unsigned e = 1; e < 6; e++)
			*LOOM_PUSH(fn->edges, fn->nedges, fn->edges_cap) = (struct loom_edge){ base + e, base + e + 1 };
	}
	/* A pure function (loom-rewrite --skip-pure): ids that never fire. */
	{
		unsigned base = (unsigned)m->nslots;

		fn = LOOM_PUSH(m->functions, m->nfunctions, m->functions_cap);
		memset(fn, 0, sizeof *fn);
		fn->name = loom_xstrdup("mixer");
		fn->file = 1;
		fn->line = 30;
		fn->end_line = 33;
		fn->is_static = true;
		fn->pure = true;
		loom_manifest_add_slot(m, LOOM_KIND_BREAK, fn->file, fn->line, 1, 2);
		loom_manifest_add_slot(m, LOOM_KIND_ENTRY, fn->file, fn->line, 1, 2);
		loom_manifest_add_slot(m, LOOM_KIND_EXIT, fn->file, fn->end_line, 1, 2);
		fn->brk = base + 1;
		fn->entry = base + 2;
		*LOOM_PUSH(fn->exits, fn->nexits, fn->exits_cap) = base + 3;
	}
	sk = LOOM_PUSH(m->skips, m->nskips, m->skips_cap);
	*sk = (struct loom_skip){ 1, 15, 7, 1 };
	m->typed = true;
	*LOOM_PUSH(m->conversions, m->nconversions, m->conversions_cap) =
		(struct loom_conversion){ loom_xstrdup("void *(void *)"), loom_xstrdup(LOOM_OPAQUE_TYPE) };
	*LOOM_PUSH(m->conversions, m->nconversions, m->conversions_cap) =
		(struct loom_conversion){ loom_xstrdup(LOOM_OPAQUE_TYPE), loom_xstrdup("void (int, \"q\\\")") };
	return m;
}

#define SAME(field) ok = ok && a->field == b->field
#define SAME_STR(field) ok = ok && ((!a->field && !b->field) || (a->field && b->field && !strcmp(a->field, b->field)))

static bool same_function(const struct loom_function *a, const struct loom_function *b)
{
	bool ok = true;

	SAME_STR(name); SAME(file); SAME(line); SAME(end_line); SAME(is_static); SAME(address_taken);
	SAME(slow_copy); SAME(pure); SAME_STR(inline_reason); SAME(entry_switch); SAME(fast_entry); SAME(wraps); SAME(entry);
	SAME(brk);
	SAME(nexits); SAME(ncalls); SAME(nloops); SAME(nedges); SAME(ntaken_as);
	for (size_t i = 0; ok && i < a->nexits; i++)
		SAME(exits[i]);
	for (size_t i = 0; ok && i < a->ntaken_as; i++)
		SAME_STR(taken_as[i]);
	for (size_t i = 0; ok && i < a->ncalls; i++) {
		SAME_STR(calls[i].callee); SAME_STR(calls[i].type); SAME_STR(calls[i].taken); SAME_STR(calls[i].passed_to);
		SAME(calls[i].line);
		SAME(calls[i].column);
		SAME(calls[i].slot);
	}
	for (size_t i = 0; ok && i < a->nloops; i++) {
		SAME(loops[i].line); SAME(loops[i].end_line); SAME(loops[i].brk); SAME(loops[i].twin_exit);
	}
	for (size_t i = 0; ok && i < a->nedges; i++) {
		SAME(edges[i].from); SAME(edges[i].to);
	}
	return ok;
}

static bool same_manifest(const struct loom_manifest *a, const struct loom_manifest *b)
{
	bool ok = true;

	SAME_STR(tool); SAME_STR(root); SAME(nfiles); SAME(nfunctions); SAME(nslots); SAME(nskips); SAME(typed);
	SAME(nconversions);
	ok = ok && !strcmp(a->id, b->id);
	for (size_t i = 0; ok && i < a->nfiles; i++) {
		SAME_STR(files[i].path); SAME(files[i].lines); SAME(files[i].instrumented);
		ok = ok && !strcmp(a->files[i].hash, b->files[i].hash);
	}
	for (size_t i = 0; ok && i < a->nfunctions; i++)
		ok = same_function(&a->functions[i], &b->functions[i]);
	for (size_t i = 0; ok && i < a->nslots; i++) {
		SAME(slots[i].id); SAME(slots[i].copy); SAME(slots[i].kind); SAME(slots[i].file);
		SAME(slots[i].line); SAME(slots[i].column); SAME(slots[i].function); SAME_STR(slots[i].callee);
	}
	for (size_t i = 0; ok && i < a->nskips; i++) {
		SAME(skips[i].file); SAME(skips[i].line); SAME(skips[i].column); SAME(skips[i].function);
	}
	for (size_t i = 0; ok && i < a->nconversions; i++) {
		SAME_STR(conversions[i].from); SAME_STR(conversions[i].to);
	}
	return ok;
}

/* ---- the checks ---- */

static char *round_trip(size_t *len)
{
	struct loom_manifest *m = sample(), *back;
	struct loom_error err = { 0 };
	char *text;

	if (!check(loom_manifest_save(m, path, &err) == 0, "save: %s", err.text))
		exit(1);
	back = loom_manifest_load(path, &err);
	check(back && same_manifest(m, back), "a saved model reads back the same (%s)", back ? "differs" : err.text);
	text = loom_read_file(path, len);
	if (!text)
		abort();
	loom_manifest_free(back);
	loom_manifest_free(m);
	return text;
}

/* The same manifest with the first slot's members in another order, other
 * spacing, escapes for its path's UTF-8 and members loom does not know:
 * the same model (JSON objects have no order). */
static void any_order(const char *text, size_t len)
{
	struct loom_manifest *orig, *moved;
	struct loom_error err;
	char *t = loom_xmalloc(len * 2 + 1), *at;
	const char *slot = "{\"id\":1,\"kind\":\"break\",\"copy\":\"slow\",";

	orig = load_text(text, len, &err);
	at = strstr(text, slot);
	if (!orig || !at)
		abort();
	{
		const char *end = strchr(at, '}');
		size_t pre = (size_t)(at - text), n;

		n = (size_t)snprintf(t, len * 2 + 1, "%.*s{ \"function\" :\r\n\t\"worker\", \"column\":1,\"line\":3, "
		                     "\"file\":\"na\\u00efve/\\u20ac.c\", \"copy\":\"slow\", \"kind\":\"break\", "
		                     "\"unknown\": [1, {\"x\": null}, -2.5e3, true], \"id\":1 }%s",
		                     (int)pre, text, end + 1);
		fix_id(t, n);
		moved = load_text(t, n, &err);
		if (moved)
			memcpy(moved->id, orig->id, sizeof moved->id); /* the text changed, so did its id */
		check(moved && same_manifest(orig, moved), "members in another order, escapes and unknown members: %s",
		      moved ? "a different model" : err.text);
		loom_manifest_free(moved);
	}
	loom_manifest_free(orig);
	free(t);
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* TEXT (LEN bytes, not the manifest as written) must be refused; with
 * jansson as the judge of what is JSON. */
static void refused(const char *text, size_t len, const char *what)
{
	struct loom_error err;
	struct loom_manifest *m = load_text(text, len, &err);
	json_error_t jerr;
	json_t *tree = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
	bool syntax = err.set && starts_with(err.text, "invalid JSON: ");

	bool ok = check(!m && err.set && !strcmp(err.file, path), "%s: refused, with an error at the file", what);

	/* jansson takes a NUL byte for the end of the text; JSON has none. */
	if (!ok)
		;
	else if (tree && !memchr(text, '\0', len))
		check(!syntax, "%s: valid JSON (as jansson reads it), yet \"%s\"", what, err.text);
	else
		check(syntax && err.line > 0 && err.column > 0,
		      "%s: not JSON (jansson: %d:%d: %s), yet \"%s\" at %u:%u", what, jerr.line, jerr.column, jerr.text,
		      err.text, err.line, err.column);
	json_decref(tree);
	loom_manifest_free(m);
}

static void damaged(const char *text, size_t len)
{
	static const char bytes[] = { '{', '}', '[', ']', '"', ',', ':', '\\', '0', '7', '-', '.', 'e', 'x', ' ',
	                              '\n', '\x01', '\0', (char)0xff, (char)0xc3 };
	char *t = loom_xmalloc(len + 1), what[64];

	for (size_t n = 0; n < len; n++) {
		snprintf(what, sizeof what, "the first %zu bytes", n);
		refused(text, n, what);
	}
	for (size_t i = 0; i < len; i++)
		for (size_t b = 0; b < sizeof bytes; b++) {
			if (text[i] == bytes[b])
				continue;
			memcpy(t, text, len);
			t[i] = bytes[b];
			t[len] = '\0';
			snprintf(what, sizeof what, "byte %zu as 0x%02x", i, (unsigned char)bytes[b]);
			refused(t, len, what);
		}
	free(t);
}

/* Hand-made manifests with one thing wrong: the exact error, and what
 * starts where it points (all on the body's line, 7). */
static void errors(void)
{
	static const struct {
		const char *body; /* after the header */
		const char *want;
		const char *at;   /* the text at the error's column */
	} cases[] = {
		{ "\"files\":[{\"path\":\"a.c\",\"hash\":\"0123456789abcdef\",\"lines\":3}],"
		  "\"functions\":[],\"slots\":[],\"macro_skipped\":[]}",
		  "malformed manifest: files[0]: missing \"instrumented\"", "{\"path\"" },
		{ "\"files\":[{\"path\":\"a.c\",\"hash\":\"0123456789abcdef\",\"lines\":\"3\",\"instrumented\":true}],"
		  "\"functions\":[],\"slots\":[],\"macro_skipped\":[]}",
		  "malformed manifest: files[0].lines: expected an unsigned integer, found a string", "\"3\"" },
		{ "\"files\":[{\"path\":\"a.c\",\"hash\":\"0123456789abcdef\",\"lines\":3,\"lines\":4,\"instrumented\":true}],"
		  "\"functions\":[],\"slots\":[],\"macro_skipped\":[]}",
		  "malformed manifest: files[0].lines: \"lines\" given twice", "\"lines\":4" },
		{ "\"files\":[],\"functions\":[],\"slots\":[],\"macro_skipped\":[{\"file\":\"b.c\"}]}",
		  "malformed manifest: macro_skipped[0].file: no file \"b.c\" in files", "\"b.c\"" },
		{ "\"files\":[],\"slots\":[],\"functions\":[],\"macro_skipped\":[]}",
		  "malformed manifest: slots: out of place: the arrays come as files, functions, slots, macro_skipped, conversions",
		  "\"slots\"" },
		{ "\"files\":[],\"functions\":[],\"slots\":[],\"conversions\":[],\"macro_skipped\":[]}",
		  "malformed manifest: conversions: out of place: the arrays come as files, functions, slots, "
		  "macro_skipped, conversions", "\"conversions\"" },
		{ "\"files\":[],\"functions\":[],\"slots\":[],\"macro_skipped\":[],\"conversions\":[{\"from\":\"*\"}]}",
		  "malformed manifest: conversions[0]: missing \"to\"", "{\"from\"" },
		{ "\"files\":[],\"functions\":[],\"slots\":[{\"id\":1}]}",
		  "malformed manifest: slots[0]: more slots than \"hooks\" (0)", "{\"id\"" },
		{ "\"files\":[],\"functions\":[{\"name\":\"f\",\"line\":-1}],\"slots\":[],\"macro_skipped\":[]}",
		  "malformed manifest: functions[0].line: expected an unsigned integer up to 2147483647, found -1", "-1}" },
		{ "\"files\":[],\"functions\":[],\"slots\":[],\"macro_skipped\":[]} x",
		  "invalid JSON: expected the end of the text, found 'x'", "x" },
		{ "\"files\":[],\"functions\":[],\"slots\":[],\"macro_skipped\":[\"\\ud800\"]}",
		  "invalid JSON: a high surrogate in \\u escapes without its low half", "\\ud800" },
		{ "\"files\":[],\"functions\":[],\"slots\":[],\"macro_skipped\":[{\"file\":\"a\\qb\"}]}",
		  "invalid JSON: an unknown escape in a string", "\\qb" },
		{ "\"files\":[],\"functions\":[],\"slots\":[],\"macro_skipped\":[],}",
		  "invalid JSON: expected a string (a member's name), found '}'", "}" },
		{ "\"files\":[],\"functions\":[],\"slots\":[],\"macro_skipped\":[]",
		  "invalid JSON: unexpected end of text, expected ',' or '}'", "" },
		{ "\"files\":[],\"functions\":[],\"slots\":[]}",
		  "malformed manifest: missing \"macro_skipped\"", NULL },
		{ "\"files\":[{\"path\":\"a.c\",\"hash\":\"0123456789abcdef\",\"lines\":3,\"instrumented\":true}],"
		  "\"functions\":[{\"name\":\"f\",\"edges\":[[1]]}],\"slots\":[],\"macro_skipped\":[]}",
		  "malformed manifest: functions[0].edges[0]: an edge is [FROM, TO]", "[1]]" },
	};
	const char *header = "{\n \"format\":\"loom-manifest\",\n \"version\":5,\n \"tool\":\"t\",\n"
	                     " \"id\":\"0000000000000000\",\n \"root\":\"/r\",\n \"hooks\":0,";

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *text = loom_xasprintf("%s%s", header, cases[i].body);
		size_t len = strlen(text), body = strlen(header) - 11; /* line 7 starts there */
		struct loom_error err;
		struct loom_manifest *m;
		const char *at;

		fix_id(text, len);
		m = load_text(text, len, &err);
		at = err.column && body + err.column - 1 <= len ? text + body + err.column - 1 : NULL;
		if (cases[i].at)
			check(!m && !strcmp(err.text, cases[i].want) && err.line == 7 && at
			      && !strncmp(at, cases[i].at, strlen(cases[i].at)),
			      "case %zu: got \"%s\" at %u:%u (\"%.12s\"), want \"%s\" at \"%s\"", i, err.text, err.line,
			      err.column, at ? at : "", cases[i].want, cases[i].at);
		else
			check(!m && !strcmp(err.text, cases[i].want) && !err.line, "case %zu: got \"%s\" at line %u, want \"%s\"",
			      i, err.text, err.line, cases[i].want);
		loom_manifest_free(m);
		free(text);
	}

	/* Fewer slots than "hooks" says: at the array. */
	{
		const char *body = "{\n \"format\":\"loom-manifest\",\n \"version\":5,\n \"tool\":\"t\",\n"
		                   " \"id\":\"0000000000000000\",\n \"root\":\"/r\",\n \"hooks\":2,\"files\":[],"
		                   "\"functions\":[],\"slots\":[ ],\"macro_skipped\":[]}";
		char *text = loom_xstrdup(body);
		struct loom_error err;
		struct loom_manifest *m;
		const char *line7;

		fix_id(text, strlen(text));
		m = load_text(text, strlen(text), &err);
		line7 = strrchr(text, '\n') + 1; /* the body is the last line */

		check(!m && !strcmp(err.text, "malformed manifest: slots: 0 slots, but \"hooks\" is 2") && err.line == 7
		      && err.column >= 1 && err.column <= strlen(line7) && !strncmp(line7 + err.column - 1, "[ ]", 3),
		      "fewer slots than hooks: \"%s\" at %u:%u", err.text, err.line, err.column);
		loom_manifest_free(m);
		free(text);
	}

	/* What is not a manifest of this version is said first, whatever the
	 * other members hold. */
	{
		static const struct {
			const char *text, *want;
		} first[] = {
			{ "{\"name\":\"pkg\",\"id\":42}", "not a Loom manifest (no \"format\": \"loom-manifest\")" },
			{ "{\"format\":\"loom-manifest\",\"version\":6,\"hooks\":{},\"tool\":[],\"files\":[]}",
			  "manifest version 6 is not supported (this loom reads version 5)" },
			{ "{\"format\":\"loom-manifest\",\"version\":\"5\",\"files\":[]}",
			  "manifest version \"5\" is not supported (this loom reads version 5)" },
			{ "{\"format\":\"loom-manifest\",\"version\":5,\"tool\":\"t\",\"id\":\"0123456789abcdef\","
			  "\"root\":\"/\",\"hooks\":-1,\"files\":[]}",
			  "malformed manifest: missing or invalid id, tool, root or hooks" },
			{ "{\"format\":\"loom-manifest\",\"version\":5,\"tool\":\"t\",\"id\":7,"
			  "\"root\":\"/\",\"hooks\":0,\"files\":[]}",
			  "malformed manifest: missing or invalid id, tool, root or hooks" },
		};

		for (size_t i = 0; i < sizeof first / sizeof first[0]; i++) {
			struct loom_error err;
			struct loom_manifest *m = load_text(first[i].text, strlen(first[i].text), &err);

			check(!m && !err.line && !strcmp(err.text, first[i].want), "header case %zu: got \"%s\", want \"%s\"",
			      i, err.text, first[i].want);
			loom_manifest_free(m);
		}
	}

	/* Another version, and not a manifest at all. */
	{
		struct loom_error err;
		const char *old = "{\"format\":\"loom-manifest\",\"version\":4,\"files\":[]}";
		struct loom_manifest *m = load_text(old, strlen(old), &err);

		check(!m && !strcmp(err.text, "manifest version 4 is not supported (this loom reads version 5)"),
		      "an older version: \"%s\"", err.text);
		m = load_text("[1, 2]", 6, &err);
		check(!m && !strcmp(err.text, "not a Loom manifest (no \"format\": \"loom-manifest\")"),
		      "an array: \"%s\"", err.text);
	}
}

/* The reader alone: nesting has a limit, and a number too large is a
 * type error that names it. */
static void reader(void)
{
	char deep[LOOM_JSON_MAX_DEPTH + 2];
	struct loom_error err = { 0 };
	struct loom_json j;
	unsigned long long v;

	memset(deep, '[', sizeof deep);
	loom_json_init(&j, deep, sizeof deep, "deep.json", &err);
	check(loom_json_skip(&j) < 0 && !strcmp(err.text, "invalid JSON: nested too deeply") && err.column == 65,
	      "nesting past the limit: \"%s\" at column %u", err.text, err.column);
	loom_json_fini(&j);

	memset(&err, 0, sizeof err);
	loom_json_init(&j, "[18446744073709551616]", 22, "big.json", &err);
	check(loom_json_array(&j) == 0 && loom_json_item(&j) == 1 && loom_json_uint(&j, ~0ull, &v) < 0
	      && !strcmp(err.text, "[0]: expected an unsigned integer up to 18446744073709551615, "
	                           "found 18446744073709551616"),
	      "2^64: \"%s\"", err.text);
	loom_json_fini(&j);

	memset(&err, 0, sizeof err);
	loom_json_init(&j, "[18446744073709551615]", 22, "max.json", &err);
	check(loom_json_array(&j) == 0 && loom_json_item(&j) == 1 && loom_json_uint(&j, ~0ull, &v) == 0
	      && v == ~0ull && loom_json_item(&j) == 0 && loom_json_end(&j) == 0, "2^64 - 1 reads (%s)", err.text);
	loom_json_fini(&j);
}

int main(void)
{
	size_t len;
	char *text;

	if (!mkdtemp(dir))
		return perror("mkdtemp"), 1;
	snprintf(path, sizeof path, "%s/loom-manifest.json", dir);
	text = round_trip(&len);
	any_order(text, len);
	damaged(text, len);
	errors();
	reader();
	free(text);
	unlink(path);
	rmdir(dir);
	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
