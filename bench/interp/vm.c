/* The interpreter loop: one switch over opcodes, with the work of the
 * bigger opcodes in out-of-line helpers (value.c, btree.c), as in SQLite's
 * sqlite3VdbeExec. */
#include "interp.h"

static const char *last_error = "";

const char *vm_error(void)
{
	return last_error;
}

static int fail(const char *msg)
{
	last_error = msg;
	return -1;
}

/* The integer fast path of a binary opcode, else the general one. */
static int arith(value *out, const value *a, const value *b, int op)
{
	if (value_is_int(a) && value_is_int(b)) {
		int64_t x = a->i, y = b->i;
		switch (op) {
		case OP_ADD: value_set_int(out, (int64_t)((uint64_t)x + (uint64_t)y)); return 0;
		case OP_SUB: value_set_int(out, (int64_t)((uint64_t)x - (uint64_t)y)); return 0;
		case OP_MUL: value_set_int(out, (int64_t)((uint64_t)x * (uint64_t)y)); return 0;
		case OP_MOD:
			if (y == 0)
				break;
			value_set_int(out, x % y);
			return 0;
		default: return -1;
		}
	}
	return value_arith(out, a, b, op);
}

static int less_than(const value *a, const value *b)
{
	if (value_is_int(a) && value_is_int(b))
		return a->i < b->i;
	return value_compare(a, b) < 0;
}

int vm_run(vm *m, int entry)
{
	struct frame {
		int pc, base;
	} frames[MAX_FRAMES];
	int depth = 0, pc = entry, base = 0;
	const instr *code = m->code;
	value *r = m->regs;

	for (;;) {
		const instr *op = &code[pc++];
		m->steps++;
		switch (op->op) {
		case OP_HALT:
			return 0;
		case OP_INT:
			value_set_int(&r[op->a], op->imm);
			break;
		case OP_STRING:
			value_set_text(&r[op->a], op->s, (int)__builtin_strlen(op->s));
			break;
		case OP_ARG:
			value_set_int(&r[op->a], m->args[op->imm & 3]);
			break;
		case OP_MOVE:
			r[op->a] = r[op->b];
			break;
		case OP_COPY:
			value_copy(&r[op->a], &r[op->b]);
			break;
		case OP_ADD:
		case OP_SUB:
		case OP_MUL:
		case OP_MOD:
			if (arith(&r[op->a], &r[op->b], &r[op->c], op->op) < 0)
				return fail("bad arithmetic");
			break;
		case OP_ADDI:
			value_set_int(&r[op->a], (int64_t)((uint64_t)value_to_int(&r[op->b]) + (uint64_t)op->imm));
			break;
		case OP_MULI:
			value_set_int(&r[op->a], (int64_t)((uint64_t)value_to_int(&r[op->b]) * (uint64_t)op->imm));
			break;
		case OP_MODI: {
			int64_t x = value_to_int(&r[op->b]);
			if (op->imm == 0)
				return fail("modulo by zero");
			x %= op->imm;
			value_set_int(&r[op->a], x < 0 ? x + op->imm : x);
			break;
		}
		case OP_ANDI:
			value_set_int(&r[op->a], value_to_int(&r[op->b]) & op->imm);
			break;
		case OP_JUMP:
			pc = op->c;
			break;
		case OP_JLT:
			if (less_than(&r[op->a], &r[op->b]))
				pc = op->c;
			break;
		case OP_JGE:
			if (!less_than(&r[op->a], &r[op->b]))
				pc = op->c;
			break;
		case OP_JGEI:
			if (value_to_int(&r[op->a]) >= op->imm)
				pc = op->c;
			break;
		case OP_JZ:
			if (value_to_int(&r[op->a]) == 0)
				pc = op->c;
			break;
		case OP_JNZ:
			if (value_to_int(&r[op->a]) != 0)
				pc = op->c;
			break;
		case OP_TOTEXT:
			value_copy(&r[op->a], &r[op->b]);
			value_stringify(&r[op->a]);
			break;
		case OP_CONCAT:
			value_concat(&r[op->a], &r[op->b], &r[op->c]);
			break;
		case OP_LENGTH:
			if (r[op->b].type == V_TEXT) {
				value_set_int(&r[op->a], r[op->b].len);
			} else {
				value tmp;
				value_copy(&tmp, &r[op->b]);
				value_stringify(&tmp);
				value_set_int(&r[op->a], tmp.len);
			}
			break;
		case OP_HASH:
			value_set_int(&r[op->a], (int64_t)(value_hash(&r[op->b]) & 0x7fffffffffffffffull));
			break;
		case OP_COMPARE:
			value_set_int(&r[op->a], value_compare(&r[op->b], &r[op->c]));
			break;
		case OP_FIND: {
			int64_t v;
			if (btree_find(m->tree, value_to_int(&r[op->b]), &v))
				value_set_int(&r[op->a], v);
			else
				pc = op->c;
			break;
		}
		case OP_INSERT:
			btree_insert(m->tree, value_to_int(&r[op->a]), value_to_int(&r[op->b]));
			break;
		case OP_SEEK:
			if (op->a < 0 || op->a >= NCURSORS)
				return fail("bad cursor");
			btree_seek(m->tree, value_to_int(&r[op->b]), &m->cursors[op->a]);
			break;
		case OP_COLUMN:
			if (!btree_cursor_valid(&m->cursors[op->b]))
				pc = op->c;
			else
				value_set_int(&r[op->a], btree_cursor_value(&m->cursors[op->b]));
			break;
		case OP_NEXT:
			btree_next(&m->cursors[op->a]);
			break;
		case OP_CALL:
			if (depth == MAX_FRAMES || base + op->b + 64 > NREGS)
				return fail("call stack overflow");
			frames[depth].pc = pc;
			frames[depth].base = base;
			depth++;
			base += op->b;
			r = m->regs + base;
			pc = op->c;
			break;
		case OP_RETURN:
			if (depth == 0)
				return fail("return outside a call");
			depth--;
			pc = frames[depth].pc;
			base = frames[depth].base;
			r = m->regs + base;
			break;
		case OP_RESULT:
			m->result = value_to_int(&r[op->a]);
			break;
		default:
			return fail("bad opcode");
		}
	}
}
