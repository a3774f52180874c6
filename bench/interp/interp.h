/* interp: a small register bytecode VM over a B+tree, SQLite-VDBE style. */
#ifndef INTERP_H
#define INTERP_H

#include <stddef.h>
#include <stdint.h>

/* ---- values (value.c), like SQLite's Mem ---- */

enum { V_NULL, V_INT, V_REAL, V_TEXT };

#define TEXT_MAX 40

typedef struct value {
	int type;
	int len;                /* V_TEXT: bytes in z */
	int64_t i;
	double r;
	char z[TEXT_MAX];
} value;

static inline int value_is_int(const value *v)
{
	return v->type == V_INT;
}

static inline void value_set_int(value *v, int64_t i)
{
	v->type = V_INT;
	v->i = i;
}

void value_set_null(value *v);
void value_set_text(value *v, const char *z, int len);
void value_copy(value *dst, const value *src);
int64_t value_to_int(const value *v);
double value_to_real(const value *v);
void value_stringify(value *v);
void value_concat(value *dst, const value *a, const value *b);
int value_compare(const value *a, const value *b);
uint64_t value_hash(const value *v);
int value_arith(value *out, const value *a, const value *b, int op);

/* ---- B+tree of int64 keys to int64 values (btree.c) ---- */

typedef struct btree btree;
typedef struct bt_cursor {
	const struct bt_node *leaf;
	int index;
} bt_cursor;

btree *btree_new(void);
void btree_free(btree *t);
int btree_find(const btree *t, int64_t key, int64_t *val);
void btree_insert(btree *t, int64_t key, int64_t val);
long btree_count(const btree *t);
void btree_seek(const btree *t, int64_t key, bt_cursor *c);
int btree_cursor_valid(const bt_cursor *c);
int64_t btree_cursor_key(const bt_cursor *c);
int64_t btree_cursor_value(const bt_cursor *c);
void btree_next(bt_cursor *c);
uint64_t btree_digest(const btree *t);

/* ---- the VM (vm.c) ---- */

enum opcode {
	OP_HALT, OP_INT, OP_STRING, OP_ARG, OP_MOVE, OP_COPY,
	OP_ADD, OP_SUB, OP_MUL, OP_MOD, OP_ADDI, OP_MULI, OP_MODI, OP_ANDI,
	OP_JUMP, OP_JLT, OP_JGE, OP_JGEI, OP_JZ, OP_JNZ,
	OP_TOTEXT, OP_CONCAT, OP_LENGTH, OP_HASH, OP_COMPARE,
	OP_FIND, OP_INSERT, OP_SEEK, OP_COLUMN, OP_NEXT,
	OP_CALL, OP_RETURN, OP_RESULT,
};

typedef struct instr {
	uint8_t op;
	int32_t a, b, c;        /* registers or jump targets */
	int64_t imm;
	const char *s;          /* OP_STRING */
} instr;

#define NREGS 4096
#define NCURSORS 64
#define MAX_FRAMES 64

typedef struct vm {
	const instr *code;
	value regs[NREGS];
	bt_cursor cursors[NCURSORS];
	btree *tree;
	int64_t args[4];
	int64_t result;
	long steps;             /* instructions executed */
} vm;

int vm_run(vm *m, int entry);
const char *vm_error(void);

#endif
