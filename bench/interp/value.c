/* Values: a tagged union with inline text, as in SQLite's Mem. */
#include "interp.h"

#include <string.h>

void value_set_null(value *v)
{
	v->type = V_NULL;
	v->len = 0;
}

void value_set_text(value *v, const char *z, int len)
{
	if (len > TEXT_MAX - 1)
		len = TEXT_MAX - 1;
	memcpy(v->z, z, (size_t)len);
	v->z[len] = '\0';
	v->len = len;
	v->type = V_TEXT;
}

void value_copy(value *dst, const value *src)
{
	dst->type = src->type;
	switch (src->type) {
	case V_INT: dst->i = src->i; break;
	case V_REAL: dst->r = src->r; break;
	case V_TEXT: value_set_text(dst, src->z, src->len); break;
	default: dst->len = 0; break;
	}
}

static int64_t text_to_int(const char *z)
{
	int64_t n = 0;
	int neg = 0;

	if (*z == '-') {
		neg = 1;
		z++;
	}
	while (*z >= '0' && *z <= '9')
		n = n * 10 + (*z++ - '0');
	return neg ? -n : n;
}

int64_t value_to_int(const value *v)
{
	switch (v->type) {
	case V_INT: return v->i;
	case V_REAL: return (int64_t)v->r;
	case V_TEXT: return text_to_int(v->z);
	default: return 0;
	}
}

double value_to_real(const value *v)
{
	switch (v->type) {
	case V_INT: return (double)v->i;
	case V_REAL: return v->r;
	case V_TEXT: return (double)text_to_int(v->z);
	default: return 0.0;
	}
}

static int format_int(char *buf, int64_t i)
{
	char tmp[24];
	int n = 0, len = 0;
	uint64_t u = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (i < 0)
		buf[len++] = '-';
	while (n)
		buf[len++] = tmp[--n];
	buf[len] = '\0';
	return len;
}

/* Like sqlite3VdbeMemStringify: a number becomes its text. */
void value_stringify(value *v)
{
	char buf[32];
	int len;

	switch (v->type) {
	case V_INT:
		len = format_int(buf, v->i);
		value_set_text(v, buf, len);
		break;
	case V_REAL:
		len = format_int(buf, (int64_t)(v->r * 1000.0));
		value_set_text(v, buf, len);
		break;
	case V_TEXT:
		break;
	default:
		value_set_text(v, "", 0);
		break;
	}
}

void value_concat(value *dst, const value *a, const value *b)
{
	value ta, tb;
	char buf[2 * TEXT_MAX];

	value_copy(&ta, a);
	value_copy(&tb, b);
	value_stringify(&ta);
	value_stringify(&tb);
	memcpy(buf, ta.z, (size_t)ta.len);
	memcpy(buf + ta.len, tb.z, (size_t)tb.len);
	value_set_text(dst, buf, ta.len + tb.len);
}

static int compare_text(const char *a, int alen, const char *b, int blen)
{
	int n = alen < blen ? alen : blen;
	int c = memcmp(a, b, (size_t)n);

	/* Only memcmp's sign is defined: its magnitude depends on the
	 * addresses (glibc picks a code path by alignment). */
	if (c)
		return c < 0 ? -1 : 1;
	return (alen > blen) - (alen < blen);
}

/* SQLite's ordering: NULL < numbers < text. */
int value_compare(const value *a, const value *b)
{
	if (a->type == V_NULL || b->type == V_NULL)
		return (a->type != V_NULL) - (b->type != V_NULL);
	if (a->type == V_TEXT && b->type == V_TEXT)
		return compare_text(a->z, a->len, b->z, b->len);
	if (a->type == V_TEXT)
		return 1;
	if (b->type == V_TEXT)
		return -1;
	if (value_is_int(a) && value_is_int(b))
		return (a->i > b->i) - (a->i < b->i);
	double x = value_to_real(a), y = value_to_real(b);
	return (x > y) - (x < y);
}

uint64_t value_hash(const value *v)
{
	uint64_t h = 0xcbf29ce484222325ull;

	if (v->type == V_TEXT) {
		for (int i = 0; i < v->len; i++) {
			h ^= (unsigned char)v->z[i];
			h *= 0x100000001b3ull;
		}
	} else {
		int64_t i = value_to_int(v);
		h ^= (uint64_t)i;
		h *= 0x100000001b3ull;
	}
	return h ^ (h >> 29);
}

/* The general case of arithmetic, when an operand is not an integer. */
int value_arith(value *out, const value *a, const value *b, int op)
{
	double x = value_to_real(a), y = value_to_real(b), r;

	switch (op) {
	case OP_ADD: r = x + y; break;
	case OP_SUB: r = x - y; break;
	case OP_MUL: r = x * y; break;
	case OP_MOD:
		if ((int64_t)y == 0) {
			value_set_null(out);
			return 0;
		}
		value_set_int(out, (int64_t)x % (int64_t)y);
		return 0;
	default: return -1;
	}
	out->type = V_REAL;
	out->r = r;
	return 0;
}
