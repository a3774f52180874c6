/* tokens_and_comments.c: string and character literals holding braces,
 * semicolons and comment markers; comments between a condition and its
 * unbraced body and between statements on one line; digraphs for braces;
 * several statements on one line; a body that ends in a line comment. */
#include <stdio.h>
#include <string.h>

static int count(const char *s, char ch)
{
    int n = 0;
    for (; *s; s++) if (*s == ch) n++; /* } ; { */
    return n;
}

static int digraphs(int x)
<%
    int a<:3:> = <% 1, 2, 3 %>;
    if (x > 1) <% x = a<:2:>; %> else <% x = a<:0:>; %>
    return x;
%>

int main(void)
{
    const char *s = "if (x) { y; } else { z; } /* not a comment */ // nor this";
    char open = '{', close = '}', semi = ';';
    int n = 0, m = 0;
    if (s[0] == 'i') /* comment before the body */ n += 1;
    else /* another one */ n -= 1;
    if (n) // line comment before the body
        m = 5; // and after it
    n++; m++; n += m; /* three statements */ m = n - 1;
    if (m > 0) n *= 2; /* trailing */ else n = 0;
    int braces = count(s, open) + count(s, close), semis = count(s, semi);
    printf("n=%d m=%d braces=%d semis=%d len=%zu\n", n, m, braces, semis,
           strlen(s));
    printf("digraphs=%d %d\n", digraphs(5), digraphs(0));
    printf("literal: %s %c%c\n", "};{ // /* */", '\'', '"');
    if (n != 16 || m != 7 || braces != 4 || semis != 2 || digraphs(5) != 3
        || digraphs(0) != 1) {
        printf("FAIL\n");
        return 1;
    }
    printf("ok\n");
    return 2;
}
