/* The cursor tree of one translation unit, read once.
 *
 * The walk visits a function body many times (its calls, its uses of
 * names, its loops, each statement's blocking calls, the whole unit's
 * taken addresses), and each clang_visitChildren costs a few hundred
 * instructions per cursor, more than the parse itself over all the visits.
 * rw_cursors_build visits the unit once and keeps every cursor with its
 * children; rw_visit_children then answers from that copy as
 * clang_visitChildren would (cursors.c says where libclang's answer
 * depends on more than the cursor visited, and how the copy follows it). */
#ifndef LOOM_REWRITER_CURSORS_H
#define LOOM_REWRITER_CURSORS_H

#include <clang-c/Index.h>
#include <stddef.h>

/* Visits the whole of TU once and keeps its cursor tree for the calling
 * thread's rw_visit_children, until rw_cursors_free.  One unit at a time
 * per thread (each thread walks its own units).  With the environment
 * variable RW_NO_CURSOR_TREE_ENV set it keeps nothing, and libclang
 * answers every visit: the test that the copy changes nothing compares. */
void rw_cursors_build(CXTranslationUnit tu);

#define RW_NO_CURSOR_TREE_ENV "LOOM_REWRITE_NO_CURSOR_TREE"

/* Drops the calling thread's cursor tree (nothing if none). */
void rw_cursors_free(void);

/* How many cursors the calling thread's tree holds (0: none, and libclang
 * answers every visit). */
size_t rw_cursors_count(void);

/* clang_visitChildren(PARENT, VISITOR, DATA): the same cursors in the same
 * order with the same parents, but for the declaration a statement's or
 * expression's cursor carries in data[0] (which depends on the course of
 * libclang's own visit; the walk reads it nowhere).  Read from the calling
 * thread's tree when PARENT is in it, else from libclang.  Returns what
 * clang_visitChildren would: non-zero when VISITOR broke the visit off. */
unsigned rw_visit_children(CXCursor parent, CXCursorVisitor visitor, CXClientData data);

/* clang_getCursorExtent(C), kept with C in the calling thread's tree: the
 * walk asks for a statement's extent several times, and libclang measures
 * the last token of it each time. */
CXSourceRange rw_cursor_extent(CXCursor c);

#endif
