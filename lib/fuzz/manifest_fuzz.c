/* libFuzzer target: the manifest reader (lib/json_reader.c, lib/manifest.c;
 * docs/fuzzing.md).
 *
 * An input is the text of a loom-manifest.json.  Its id is set first to the
 * one its content has, when it has an id line where loom-rewrite writes it:
 * otherwise every changed input would stop at the id check, and the reader
 * past it (the entries, their references) would never see a changed one.
 * Then loom_manifest_parse reads it from a buffer of exactly its size.
 *
 * Invariants, each an abort (a crash for libFuzzer):
 *   - a refused input has an error at the file, at a line of the text and a
 *     column at most one past that line's end, or at no line (the checks
 *     made after reading: references, the id);
 *   - an accepted one is a consistent model: ids in order, every file,
 *     function and hook it refers to exists, every function's edges are
 *     sorted and join hooks of that function;
 *   - and it reads back the same after loom_manifest_save (byte for byte:
 *     the writer is deterministic). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manifest.h"

#define NAME "fuzz.json" /* the manifest's name in errors */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/loom-manifest-fuzz-XXXXXX";
static char saved[sizeof dir + 32];

static void __attribute__((format(printf, 1, 2), noreturn)) broken(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("manifest_fuzz: invariant broken: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

#define CHECK(cond, ...) do { if (!(cond)) broken(__VA_ARGS__); } while (0)

static void remove_dir(void)
{
	unlink(saved);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!mkdtemp(dir))
		broken("cannot make a directory for saved manifests");
	snprintf(saved, sizeof saved, "%s/" LOOM_MANIFEST_NAME, dir);
	atexit(remove_dir);
	return 0;
}

/* The id TEXT's content has, written in place (see manifest.md: the FNV-1a
 * 64 of the text with the id's digits as zeros). */
static void set_id(char *text, size_t len)
{
	char *at = memmem(text, len, "\n \"id\":\"", 8), hex[17];

	if (!at || (size_t)(at - text) + 8 + 16 > len)
		return;
	at += 8;
	memset(at, '0', 16);
	snprintf(hex, sizeof hex, "%016llx", (unsigned long long)loom_fnv64(LOOM_FNV_SEED, text, len));
	memcpy(at, hex, 16);
}

/* Whether LINE:COLUMN is in TEXT (LEN bytes): a line of it and a column at
 * most one past that line's end. */
static int located_in(const char *text, size_t len, unsigned line, unsigned column)
{
	const char *p = text, *end = text + len, *eol;

	for (unsigned l = 1; l < line; l++) {
		p = memchr(p, '\n', (size_t)(end - p));
		if (!p)
			return 0;
		p++;
	}
	eol = memchr(p, '\n', (size_t)(end - p));
	return column >= 1 && column <= (size_t)((eol ? eol : end) - p) + 1;
}

static void check_model(const struct loom_manifest *m)
{
	size_t nf = m->nfunctions, nh = m->nslots;

	for (size_t i = 0; i < nh; i++) {
		const struct loom_slot *s = &m->slots[i];

		CHECK(s->id == i + 1 && s->file < m->nfiles && s->function < nf && s->kind < LOOM_KIND_COUNT
		      && s->copy < LOOM_COPY_COUNT, "slot %zu is inconsistent", i);
	}
	for (size_t i = 0; i < m->nskips; i++)
		CHECK(m->skips[i].file < m->nfiles && m->skips[i].function < nf, "skip %zu is inconsistent", i);
	for (size_t i = 0; i < nf; i++) {
		const struct loom_function *f = &m->functions[i];

		CHECK(f->name && f->file < m->nfiles && f->entry >= 1 && f->entry <= nh && f->brk >= 1 && f->brk <= nh,
		      "function %zu is inconsistent", i);
		for (size_t j = 0; j < f->nexits; j++)
			CHECK(f->exits[j] >= 1 && f->exits[j] <= nh, "function %zu: exit %zu", i, j);
		for (size_t j = 0; j < f->ncalls; j++)
			CHECK(f->calls[j].slot <= nh && !(f->calls[j].callee && (f->calls[j].type || f->calls[j].taken)),
			      "function %zu: call %zu", i, j);
		for (size_t j = 0; j < f->nloops; j++)
			CHECK(f->loops[j].brk <= nh && f->loops[j].twin_exit <= nh, "function %zu: loop %zu", i, j);
		for (size_t j = 0; j < f->nedges; j++) {
			const struct loom_edge *e = &f->edges[j];

			CHECK(e->from >= 1 && e->from <= nh && e->to >= 1 && e->to <= nh
			      && m->slots[e->from - 1].function == i && m->slots[e->to - 1].function == i
			      && (!j || e[-1].from < e->from || (e[-1].from == e->from && e[-1].to < e->to)),
			      "function %zu: edge %zu", i, j);
		}
	}
	for (size_t i = 0; i < m->nfiles; i++)
		CHECK(m->files[i].path && strlen(m->files[i].hash) == 16, "file %zu is inconsistent", i);
}

/* Saves M and reads it back: the text must read as the same text again. */
static void check_round_trip(struct loom_manifest *m)
{
	struct loom_error err = { 0 };
	struct loom_manifest *back;
	char *first, *second;
	size_t n1, n2;

	CHECK(loom_manifest_save(m, saved, &err) == 0, "cannot save an accepted manifest: %s", err.text);
	first = loom_read_file(saved, &n1);
	CHECK(first, "cannot read the saved manifest back");
	back = loom_manifest_parse(first, n1, saved, &err);
	CHECK(back, "the saved manifest is refused: %u:%u: %s", err.line, err.column, err.text);
	CHECK(loom_manifest_save(back, saved, &err) == 0, "cannot save it again: %s", err.text);
	second = loom_read_file(saved, &n2);
	CHECK(second && n1 == n2 && !memcmp(first, second, n1), "saved twice, the manifest differs");
	loom_manifest_free(back);
	free(first);
	free(second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	struct loom_error err = { 0 };
	struct loom_manifest *m;

	if (!text)
		return 0;
	memcpy(text, data, size);
	set_id(text, size);
	m = loom_manifest_parse(text, size, NAME, &err);
	if (!m) {
		CHECK(err.set && !strcmp(err.file, NAME) && err.text[0], "a refusal without an error at the file");
		CHECK(!err.line || located_in(text, size, err.line, err.column), "error at %u:%u, outside the text: %s",
		      err.line, err.column, err.text);
	} else {
		CHECK(!err.set, "accepted, with an error: %s", err.text);
		check_model(m);
		check_round_trip(m);
		loom_manifest_free(m);
	}
	free(text);
	return 0;
}
