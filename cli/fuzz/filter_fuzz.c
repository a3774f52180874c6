/* libFuzzer target: the filter language, from text to the runtime
 * (cli/filter.c, docs/fuzzing.md).
 *
 * An input is the text of a filter file (one with a NUL byte is not: loom
 * refuses those before parsing, and so does this target).  It goes through
 * what `loom push` does with it: loom_filter_parse; when that succeeds,
 * loom_filter_compile against a fixed manifest (the whole corpus/ rewritten
 * as one tree, loaded once); when that succeeds, loom_image_memfd, and the
 * image to the runtime's own validation (rt_check.c: rt/loom.h built for
 * that same manifest).
 *
 * Invariants, each an abort (a crash for libFuzzer):
 *   - every error is located in the filter: its file, a line of the text and
 *     a column at most one past the end of that line, and says something;
 *   - a parsed filter keeps the text and has at least one constraint; each
 *     constraint has the regions or events its kind needs, every name and
 *     number in range, every location inside the text;
 *   - a compiled filter's ops name existing hooks, its own locks and regions
 *     and known kinds, every function with an op runs its slow copy, its
 *     dangerous hooks exist and are sorted and unique, and a warning about
 *     the filter is located in it as errors are;
 *   - the runtime accepts the image: what loom can compile, a process can
 *     install (a crowd of more than LOOM_OPS_PER_HOOK_MAX ops at one hook
 *     is the one refusal allowed, and only when there is one). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filter.h"
#include "rt_check.h"

#define NAME "fuzz.loom" /* the filter's name in errors */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct loom_manifest *manifest;

static void __attribute__((format(printf, 1, 2), noreturn)) broken(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("filter_fuzz: invariant broken: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

#define CHECK(cond, ...) do { if (!(cond)) broken(__VA_ARGS__); } while (0)

/* Whether LINE:COLUMN is in TEXT: a line of it (the one after a final
 * newline included) and a column at most one past that line's end, where
 * the parser stands at the end of the text. */
static bool inside(const char *text, unsigned line, unsigned column)
{
	const char *p = text;

	if (!line || !column)
		return false;
	for (unsigned l = 1; l < line; l++) {
		p = strchr(p, '\n');
		if (!p)
			return false;
		p++;
	}
	return column <= strcspn(p, "\n") + 1;
}

static void check_loc(const char *text, struct loom_loc loc, const char *what)
{
	CHECK(inside(text, loc.line, loc.column), "%s at %u:%u, outside the text", what, loc.line, loc.column);
}

static void check_error(const char *text, const struct loom_error *err, const char *stage)
{
	CHECK(err->set, "%s failed without an error", stage);
	CHECK(!strcmp(err->file, NAME), "%s error in file '%s', not the filter's", stage, err->file);
	CHECK(inside(text, err->line, err->column), "%s error at %u:%u, outside the text: %s", stage, err->line,
	      err->column, err->text);
	CHECK(err->text[0], "%s error at %u:%u says nothing", stage, err->line, err->column);
}

static bool identifier(const char *s)
{
	if (!s || !(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return false;
	return s[strspn(s, "_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")] == 0;
}

static void check_event(const char *text, const struct loom_event *e)
{
	check_loc(text, e->loc, "an event");
	CHECK(e->count >= 1 && e->count <= LOOM_IMAGE_MAX_COUNT, "an event counted %u", e->count);
	if (e->kind == LOOM_EV_LINE)
		CHECK(e->file && e->file[0] && e->line >= 1 && e->line <= 10000000 && !e->function,
		      "a line event '%s:%u'", e->file ? e->file : "(null)", e->line);
	else
		CHECK((e->kind == LOOM_EV_ENTRY || e->kind == LOOM_EV_EXIT) && identifier(e->function) && !e->file
		      && e->count == 1, "a function event of kind %d", (int)e->kind);
}

static void check_region(const char *text, const struct loom_region *r)
{
	check_loc(text, r->loc, "a region");
	switch (r->kind) {
	case LOOM_REGION_FUNCTION:
		CHECK(identifier(r->function), "a function region '%s'", r->function ? r->function : "(null)");
		break;
	case LOOM_REGION_LINES:
		CHECK(r->file && r->file[0] && r->first >= 1 && r->first <= 10000000 && r->last >= 1
		      && r->last <= 10000000, "a line region '%s:%u-%u'", r->file ? r->file : "(null)", r->first,
		      r->last);
		check_loc(text, r->last_loc, "a region's last line");
		break;
	case LOOM_REGION_EVENTS:
		check_event(text, &r->from);
		check_event(text, &r->to);
		break;
	default:
		broken("a region of kind %d", (int)r->kind);
	}
}

static void check_parsed(const char *text, const struct loom_filter *f)
{
	CHECK(!strcmp(f->text, text) && !strcmp(f->name, NAME), "the filter lost its text or name");
	CHECK(f->nconstraints >= 1, "a filter of no constraint");
	for (size_t i = 0; i < f->nconstraints; i++) {
		const struct loom_constraint *c = &f->constraints[i];

		check_loc(text, c->loc, "a constraint");
		if (c->kind == LOOM_ORDER)
			CHECK(c->nevents >= 2 && !c->nregions, "an order of %zu events, %zu regions", c->nevents,
			      c->nregions);
		else if (c->kind == LOOM_UNILATERAL)
			CHECK(c->nregions == 1 && !c->nevents, "'<> *' of %zu regions", c->nregions);
		else
			CHECK(c->kind == LOOM_MUTEX && c->nregions >= 1 && !c->nevents, "a constraint of kind %d, "
			      "%zu regions, %zu events", (int)c->kind, c->nregions, c->nevents);
		for (size_t j = 0; j < c->nregions; j++)
			check_region(text, &c->regions[j]);
		for (size_t j = 0; j < c->nevents; j++)
			check_event(text, &c->events[j]);
	}
}

/* The checks of rt/loom.h's loom__validate_image on one op, from the CLI's
 * side, and what `loom check` prints for it. */
static void check_op(const struct loom_compiled *c, size_t i)
{
	const struct loom_image_op *op = &c->ops[i];
	unsigned kind = op->kind & ~LOOM_OP_SOLO;
	unsigned fn;

	CHECK(op->hook >= 1 && op->hook <= manifest->nslots, "op %zu at hook %u of %zu", i, op->hook,
	      manifest->nslots);
	CHECK(op->lock < c->nlocks, "op %zu uses lock %u of %u", i, op->lock, c->nlocks);
	CHECK(kind >= LOOM_OP_ENTER && kind <= LOOM_OP_POST_MARKED
	      && (!(op->kind & LOOM_OP_SOLO) || kind <= LOOM_OP_LEAVE_RANGE), "op %zu of kind %#x", i, op->kind);
	CHECK(strcmp(loom_op_name(op->kind), "?"), "op %zu of kind %#x has no name", i, op->kind);
	if (kind == LOOM_OP_ENTER_RANGE || kind == LOOM_OP_LEAVE_RANGE)
		CHECK(op->region < c->nregions, "op %zu in region %u of %u", i, op->region, c->nregions);
	else if (kind == LOOM_OP_WAIT)
		CHECK(op->region >= 1 && op->region <= LOOM_IMAGE_MAX_COUNT, "op %zu waits for %u", i, op->region);
	else
		CHECK(op->region == 0, "op %zu of kind %#x with region %u", i, op->kind, op->region);
	fn = manifest->slots[op->hook - 1].function;
	size_t k = 0;
	while (k < c->nfns && (c->fns[k] & ~LOOM_FN_WRAP) != fn)
		k++;
	CHECK(k < c->nfns, "op %zu at hook %u in '%s', which does not run its slow copy", i, op->hook,
	      manifest->functions[fn].name);
	if (c->fns[k] & LOOM_FN_WRAP) {
		const struct loom_function *func = &manifest->functions[fn];
		bool at_exit = false;

		for (size_t e = 0; e < func->nexits; e++)
			at_exit |= func->exits[e] == op->hook;
		CHECK(func->entry_switch && (op->hook == func->entry || at_exit),
		      "op %zu at hook %u in '%s', which runs wrapped", i, op->hook, func->name);
	}
}

static void check_compiled(const struct loom_filter *f, const struct loom_compiled *c)
{
	unsigned *per_hook = calloc(manifest->nslots + 1, sizeof *per_hook);
	bool crowded = false;

	CHECK(per_hook, "out of memory");
	CHECK(c->nops >= 1 && c->nlocks >= f->nconstraints, "%zu ops, %u locks for %zu constraints", c->nops,
	      c->nlocks, f->nconstraints);
	for (size_t i = 0; i < c->nops; i++) {
		check_op(c, i);
		crowded |= ++per_hook[c->ops[i].hook] > LOOM_OPS_PER_HOOK_MAX;
	}
	for (size_t i = 0; i < c->ndanger; i++)
		CHECK(c->danger[i] >= 1 && c->danger[i] <= manifest->nslots && (!i || c->danger[i - 1] < c->danger[i]),
		      "dangerous hook %zu: %u", i, c->danger[i]);
	for (size_t i = 0; i < c->nfns; i++)
		CHECK((c->fns[i] & ~LOOM_FN_WRAP) < manifest->nfunctions
		      && (!i || (c->fns[i - 1] & ~LOOM_FN_WRAP) < (c->fns[i] & ~LOOM_FN_WRAP)),
		      "slow function %zu: %#x", i, c->fns[i]);
	free(per_hook);
	/* A warning about the program names the filter only ("NAME: warning:
	 * FILE:LINE: ..."); one about the filter, where in it. */
	for (size_t i = 0; i < c->nwarnings; i++) {
		const char *w = c->warnings[i];
		unsigned line = 0, column = 0;
		int n = 0;

		if (!strncmp(w, NAME ": warning: ", strlen(NAME ": warning: ")))
			n = (int)strlen(NAME ": warning: ");
		else if (sscanf(w, NAME ":%u:%u: warning: %n", &line, &column, &n) != 2 || !inside(f->text, line, column))
			n = 0;
		CHECK(n > 0 && w[n], "warning %zu: '%s'", i, w);
	}

	/* The image, as loom push sends it, and what the runtime makes of it. */
	{
		int fd = loom_image_memfd(f, manifest, c, 1000);
		struct stat st;
		void *image;
		char why[600];
		int status;

		CHECK(fd >= 0 && fstat(fd, &st) == 0, "no image: %m");
		image = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		CHECK(image != MAP_FAILED, "cannot map the image: %m");
		close(fd);
		status = rt_check_image(image, (size_t)st.st_size, why, sizeof why);
		munmap(image, (size_t)st.st_size);
		CHECK(status == (crowded ? LOOM_E_LIMIT : LOOM_OK), "the runtime answers %d (%s) to an image %s "
		      "more than %u ops at a hook", status, why, crowded ? "with" : "without", LOOM_OPS_PER_HOOK_MAX);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct loom_error err = { 0 };
	struct loom_filter *f;
	struct loom_compiled c;
	char *text;

	if (memchr(data, 0, size))
		return -1; /* not a filter file: keep it out of the corpus */
	text = malloc(size + 1);
	CHECK(text, "out of memory");
	memcpy(text, data, size);
	text[size] = 0;

	f = loom_filter_parse(NAME, text, &err);
	if (!f) {
		check_error(text, &err, "parse");
		free(text);
		return 0;
	}
	CHECK(!err.set, "a parsed filter with an error: %s", err.text);
	check_parsed(text, f);

	if (loom_filter_compile(f, manifest, &c, &err) < 0) {
		check_error(text, &err, "compile");
	} else {
		CHECK(!err.set, "a compiled filter with an error: %s", err.text);
		check_compiled(f, &c);
		loom_compiled_free(&c);
	}
	loom_filter_free(f);
	free(text);
	return 0;
}

/* Whether loom compiles TEXT against the manifest. */
static bool compiles(const char *text)
{
	struct loom_error err = { 0 };
	struct loom_filter *f = loom_filter_parse(NAME, text, &err);
	struct loom_compiled c;
	bool ok = f && loom_filter_compile(f, manifest, &c, &err) == 0;

	if (ok)
		loom_compiled_free(&c);
	loom_filter_free(f);
	return ok;
}

/* A line region "FILE:LINE" and the function it is in. */
struct candidate {
	char region[512];
	unsigned function;
};

/* qsort: shorter regions first. */
static int shorter(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;
	size_t la = strlen(x->region), lb = strlen(y->region);

	return la < lb ? -1 : la > lb;
}

/* The shortest line region of the manifest that compiles alone,
 * "FILE:LINE" with FILE the shortest suffix that names its file, in REGION
 * (CAP bytes), and a function that compiles alone in *FN. */
static void pick_region(char *region, size_t cap, const char **fn)
{
	struct candidate *cand = calloc(manifest->nslots + 1, sizeof *cand);
	size_t n = 0;
	char text[600];

	CHECK(cand, "out of memory");
	for (size_t i = 0; i < manifest->nslots; i++) {
		const struct loom_slot *s = &manifest->slots[i];
		const char *path = manifest->files[s->file].path;

		for (const char *suffix = path + strlen(path); suffix >= path && loom_kind_is_statement(s->kind);
		     suffix--) {
			struct loom_error err = { 0 };
			unsigned file;

			if ((suffix > path && suffix[-1] != '/')
			    || loom_manifest_find_file(manifest, suffix, &file, &err, NULL, 0, 0) < 0)
				continue;
			snprintf(cand[n].region, sizeof cand[n].region, "%s:%u", suffix, s->line);
			cand[n++].function = s->function;
			break;
		}
	}
	qsort(cand, n, sizeof *cand, shorter);
	for (size_t i = 0; i < n; i++) {
		snprintf(text, sizeof text, "%s <> self", cand[i].region);
		if (!compiles(text))
			continue;
		*fn = manifest->functions[cand[i].function].name;
		snprintf(text, sizeof text, "%s <> self", *fn);
		if (compiles(text)) {
			snprintf(region, cap, "%s", cand[i].region);
			free(cand);
			return;
		}
	}
	broken("no line region of the manifest compiles");
}

/* Filters past the runtime's limits (rt/loom.h), longer than the inputs
 * libFuzzer makes here (-max_len 4096 by default), through the same checks
 * once at start.  Each would compile but for the limit, and loom must
 * refuse it itself: it once made images of them that the runtime refused
 * as malformed.  Returns with every check passed. */
static void check_limits(void)
{
	size_t cap = 2 * LOOM_IMAGE_MAX_TEXT, n = 0;
	char *text = malloc(cap), region[512];
	const char *fn;
	struct loom_error err = { 0 };
	struct loom_filter *f;
	struct loom_compiled c;

	CHECK(text, "out of memory");
	pick_region(region, sizeof region, &fn);

	/* A text the runtime would not keep. */
	n = (size_t)snprintf(text, cap, "%s <> self\n#", fn);
	memset(text + n, 'x', LOOM_IMAGE_MAX_TEXT + 1 - n);
	text[LOOM_IMAGE_MAX_TEXT + 1] = 0;
	LLVMFuzzerTestOneInput((const uint8_t *)text, strlen(text));
	CHECK(!loom_filter_parse(NAME, text, &err), "a filter of %zu bytes parses", strlen(text));

	/* One lock too many, then one region too many. */
	for (int regions = 0; regions < 2; regions++) {
		unsigned count = regions ? LOOM_IMAGE_MAX_REGIONS + 1 : LOOM_IMAGE_MAX_LOCKS + 1;

		n = 0;
		for (unsigned i = 0; i < count; i++) {
			n += (size_t)snprintf(text + n, cap - n, regions ? "%s%s" : "%s <> self\n",
			                      regions ? region : fn, regions && i + 1 < count ? "<>" : "");
			CHECK(n < LOOM_IMAGE_MAX_TEXT, "the test filter is too long");
		}
		LLVMFuzzerTestOneInput((const uint8_t *)text, n);
		memset(&err, 0, sizeof err);
		f = loom_filter_parse(NAME, text, &err);
		CHECK(f, "the filter of %u %s does not parse: %s", count, regions ? "regions" : "locks", err.text);
		CHECK(loom_filter_compile(f, manifest, &c, &err) < 0, "a filter of %u %s compiles", count,
		      regions ? "regions" : "locks");
		loom_filter_free(f);
	}
	free(text);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct loom_error err = { 0 };

	manifest = loom_manifest_load(rt_check_manifest_path(), &err);
	if (!manifest) {
		loom_error_print(&err, "filter_fuzz");
		exit(1);
	}
	if (strcmp(manifest->id, rt_check_manifest_id())) {
		fprintf(stderr, "filter_fuzz: %s is manifest %s, the runtime was built for %s: rebuild\n",
		        rt_check_manifest_path(), manifest->id, rt_check_manifest_id());
		exit(1);
	}
	check_limits();
	return 0;
}
