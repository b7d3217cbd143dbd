/*
 * defs.c: the names a source file defines, by per-language rules on its
 * lines: what the indexer stores as a document's "def" field, so a query
 * that names a symbol finds the file defining it before the files using
 * it (issue 16).
 *
 * The language comes from the file name's extension (a shell script may
 * also say so in its "#!" line).  Rules, a line at a time:
 *  - C and C++ (.c .h .cc .cpp .cxx .hh .hpp .hxx .inl): at column 0 (the
 *    style of nearly all C: a definition's name starts its line or follows
 *    its return type there, and code inside a body is indented), the
 *    identifier before the first '(' (or ending the line, the '(' first
 *    on the next) is a function when the declaration goes on, past its
 *    balanced parentheses, attributes and comments, to a '{' before any
 *    ';' ',' or '=' (a prototype or a call is not a definition;
 *    "Class::name" gives name); "#define NAME(" and the first
 *    MAX_CONSTANTS "#define NAME" of a file; "struct|union|enum|class
 *    NAME" followed by '{' or ':', NAME the last of its words ("enum
 *    class NAME", "class EXPORT_MACRO NAME final", "class GTY(()) NAME");
 *    a "typedef ... NAME;" on one line and "} NAME;" closing a typedef'd
 *    struct;
 *  - Python: def, async def and class at any indentation;
 *  - Go: func NAME, func (receiver) NAME, type NAME, and single-line
 *    top-level var and const;
 *  - Rust: fn, struct, enum, union, trait, type, mod, static, const and
 *    macro_rules!, after pub(...)/async/unsafe/auto/extern "..." and the
 *    like;
 *  - JavaScript and TypeScript: function, class, interface, enum, type
 *    NAME =, top-level const/let/var NAME =, methods "NAME(...) {"
 *    inside a class body (indented; the parameters may span lines, the
 *    '{' follows their ')' on its line, after any ": ReturnType"),
 *    "NAME: function" in an object literal and "a.b.NAME = function|
 *    class|(...) =>" (prototype and exports assignments, at any
 *    indentation); in a declaration (.d.ts, or after "declare") only
 *    interface, enum and type: its functions, classes and variables are
 *    defined in the .js it describes;
 *  - Java, C#, Kotlin, Scala: class, interface, enum, record, object,
 *    struct, fun/def; a method is an indented identifier before '(' that
 *    follows a type or modifier and whose declaration reaches '{' (the C
 *    rule above, with throws clauses skipped);
 *  - Shell: NAME() and function NAME; Ruby def/class/module; Perl sub;
 *    PHP function/class; Lisp (defun NAME and its kin; Lua function NAME;
 *  - Markdown: every heading's text (ATX "# Title" and setext "Title\n===").
 * Keywords are never names (if, for, while, return, sizeof, ...).
 *
 * Measured with bench/code-probe: these rules are what puts the defining
 * file first; universal-ctags finds more kinds, but spawning it per file
 * would cost more than the whole analysis of the file.
 *
 * Invariants: linear in the text: the forward look of a C or Java
 * declaration or of a JavaScript method's parameters reads at most
 * DECL_LOOK bytes, and all of a file's together at most LOOK_PER_BYTE
 * per byte of it plus LOOK_BASE (a file of lines that each open a
 * parenthesis and never close it read DECL_LOOK per line: 3 s for 5 MB of
 * C; past the budget a declaration must reach its body at once);
 * never reads past len; names are appended to out as "name\n".
 * Callers: pipeline.c (each file it indexes).
 */
#include <stdbool.h>
#include <string.h>

#include "analysis/analysis.h"

#define DECL_LOOK 2048 /* bytes a declaration may run on before its '{' */
/* the bytes all look-aheads of a file may read: LOOK_PER_BYTE per byte of
 * it, and LOOK_BASE (no real file comes near; a file of lines that each
 * open a parenthesis and never close it would read DECL_LOOK per line) */
#define LOOK_PER_BYTE 8
#define LOOK_BASE (1u << 20)

/* Where a look-ahead may read to: the text's end, within what is left of
 * the file's budget. */
typedef struct look {
	const char *end;
	size_t budget;
} look;

/* The end of a look-ahead from p: DECL_LOOK bytes, the text's end or the
 * budget left, whichever comes first. */
static const char *look_from(const look *lk, const char *p)
{
	size_t n = (size_t)(lk->end - p);
	if (n > DECL_LOOK)
		n = DECL_LOOK;
	if (n > lk->budget)
		n = lk->budget;
	return p + n;
}

/* A look-ahead from `from` read up to `to`: its bytes off the budget. */
static void look_spent(look *lk, const char *from, const char *to)
{
	size_t n = to > from ? (size_t)(to - from) : 0;
	lk->budget = n < lk->budget ? lk->budget - n : 0;
}
#define MAX_NAME 200
#define MAX_CONSTANTS 64 /* object-like #defines a C file has named (c_line) */

enum lang {
	L_NONE, L_C, L_PY, L_GO, L_RUST, L_JS, L_JS_DECL, L_JAVA, L_KOTLIN, L_SH, L_RUBY, L_PERL, L_PHP, L_LISP, L_LUA, L_MD
};

static const struct {
	const char *ext;
	enum lang lang;
} exts[] = {
	{"c", L_C},       {"h", L_C},     {"cc", L_C},     {"cpp", L_C},    {"cxx", L_C},   {"hh", L_C},
	{"hpp", L_C},     {"hxx", L_C},   {"inl", L_C},    {"C", L_C},      {"H", L_C},     {"m", L_C},
	{"py", L_PY},     {"pyi", L_PY},  {"go", L_GO},    {"rs", L_RUST},  {"js", L_JS},   {"mjs", L_JS},
	{"cjs", L_JS},    {"jsx", L_JS},  {"ts", L_JS},    {"tsx", L_JS},   {"mts", L_JS},  {"java", L_JAVA},
	{"cs", L_JAVA},   {"scala", L_JAVA}, {"kt", L_KOTLIN}, {"kts", L_KOTLIN}, {"sh", L_SH}, {"bash", L_SH},
	{"zsh", L_SH},    {"ksh", L_SH},  {"rb", L_RUBY},  {"pl", L_PERL},  {"pm", L_PERL}, {"php", L_PHP},
	{"el", L_LISP},   {"lisp", L_LISP}, {"scm", L_LISP}, {"clj", L_LISP}, {"lua", L_LUA}, {"md", L_MD},
	{"markdown", L_MD},
};

static bool is_id0(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool is_id(unsigned char c)
{
	return is_id0(c) || (c >= '0' && c <= '9') || c == '$';
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static bool word_is(const char *p, size_t n, const char *w)
{
	return strlen(w) == n && memcmp(p, w, n) == 0;
}

/* Words that are never a definition's name. */
static bool keyword(const char *p, size_t n)
{
#define K(w) {w, sizeof w - 1}
	static const struct {
		const char *w;
		size_t n;
	} kw[] = {
		K("if"), K("else"), K("for"), K("while"), K("do"), K("switch"), K("case"), K("return"),
		K("sizeof"), K("typeof"), K("alignof"), K("goto"), K("break"), K("continue"), K("default"),
		K("new"), K("delete"), K("throw"), K("catch"), K("try"), K("synchronized"), K("int"), K("char"),
		K("void"), K("long"), K("short"), K("unsigned"), K("signed"), K("float"), K("double"), K("bool"),
		K("const"), K("static"), K("struct"), K("union"), K("enum"), K("extern"), K("inline"),
		K("volatile"), K("register"), K("auto"), K("__attribute__"), K("__typeof__"), K("asm"),
		K("__asm__"), K("defined"), K("elif"), K("and"), K("or"), K("not"), K("in"), K("is"),
		K("lambda"), K("yield"), K("await"), K("assert"), K("with"), K("super"), K("this"), K("self"),
		K("function"), K("fn"), K("func"), K("def"), K("class"), K("let"), K("var"), K("foreach"),
		K("until"), K("unless"), K("then"), K("fi"), K("done"), K("end"), K("local"), K("export"),
		K("import"), K("package"), K("from"), K("as"), K("where"), K("match"), K("loop"), K("when"),
	};
#undef K
	for (size_t i = 0; i < sizeof kw / sizeof *kw; i++)
		if (kw[i].n == n && kw[i].w[0] == p[0] && !memcmp(kw[i].w, p, n))
			return true;
	return false;
}

static enum lang lang_of(const char *path, size_t plen, const char *text, size_t len)
{
	size_t i = plen;
	while (i > 0 && path[i - 1] != '.' && path[i - 1] != '/')
		i--;
	if (i > 0 && path[i - 1] == '.') {
		const char *e = path + i;
		size_t n = plen - i;
		for (size_t k = 0; k < sizeof exts / sizeof *exts; k++)
			if (word_is(e, n, exts[k].ext)) {
				/* "x.d.ts": TypeScript's declarations of x.js */
				if (n >= 2 && !memcmp(e + n - 2, "ts", 2) && i >= 3 && path[i - 2] == 'd' && path[i - 3] == '.')
					return L_JS_DECL;
				return exts[k].lang;
			}
		return L_NONE;
	}
	/* no extension: a script's "#!" line */
	if (len > 2 && text[0] == '#' && text[1] == '!') {
		size_t e = 2;
		while (e < len && e < 128 && text[e] != '\n')
			e++;
		const char *nl = memchr(text, '\n', e);
		size_t n = nl ? (size_t)(nl - text) : e;
		for (size_t k = 2; k + 2 <= n; k++)
			if (text[k] == 's' && text[k + 1] == 'h' && (k + 2 == n || is_space((unsigned char)text[k + 2])))
				return L_SH;
		for (size_t k = 2; k + 6 <= n; k++)
			if (!memcmp(text + k, "python", 6))
				return L_PY;
	}
	return L_NONE;
}

static void emit(xbuf *out, const char *p, size_t n, uint32_t *count)
{
	if (n == 0 || n > MAX_NAME)
		return;
	xbuf_put(out, p, n);
	xbuf_put_u8(out, '\n');
	(*count)++;
}

/* The identifier at p (p < e); its length (0: none). */
static size_t ident(const char *p, const char *e)
{
	if (p >= e || !is_id0((unsigned char)*p))
		return 0;
	const char *q = p + 1;
	while (q < e && is_id((unsigned char)*q))
		q++;
	return (size_t)(q - p);
}

static const char *skip_sp(const char *p, const char *e)
{
	while (p < e && is_space((unsigned char)*p))
		p++;
	return p;
}

/* p after a keyword (starts() saw it end: "classify" is not "class"): the
 * name that follows (spaces, then an identifier), emitted unless it is a
 * keyword; returns true if one was. */
static bool name_after(const char *p, const char *e, xbuf *out, uint32_t *count)
{
	const char *q = skip_sp(p, e);
	size_t n = ident(q, e);
	if (n && !keyword(q, n)) {
		emit(out, q, n, count);
		return true;
	}
	return false;
}

/* Whether the line at p starts with word w followed by a non-identifier
 * byte; *after: past the word. */
static bool starts(const char *p, const char *e, const char *w, const char **after)
{
	size_t n = strlen(w);
	if ((size_t)(e - p) < n || memcmp(p, w, n) || (p + n < e && is_id((unsigned char)p[n])))
		return false;
	*after = p + n;
	return true;
}

/* From p, just after a '(' (depth 1), to past its balanced ')' and what
 * may stand between a declaration's parameters and its body (attributes,
 * macros, throws clauses, comments, newlines): whether a '{' comes before
 * any ';' ',' '=' or the look-ahead's end.  Skips strings and comments. */
static bool reaches_body(const char *p, look *lk)
{
	const char *e = look_from(lk, p), *start = p;
	bool body = false;
	int depth = 1;
	while (p < e) {
		char c = *p;
		if (c == '/' && p + 1 < e && p[1] == '*') {
			const char *q = p + 2;
			while (q + 1 < e && !(q[0] == '*' && q[1] == '/'))
				q++;
			p = q + 2;
			continue;
		}
		if (c == '/' && p + 1 < e && p[1] == '/') {
			while (p < e && *p != '\n')
				p++;
			continue;
		}
		if (c == '"' || c == '\'') {
			p++;
			while (p < e && *p != c && *p != '\n')
				p += *p == '\\' ? 2 : 1;
			p++;
			continue;
		}
		if (c == '(') {
			depth++;
		} else if (c == ')') {
			if (depth > 0)
				depth--;
		} else if (depth == 0) {
			if (c == '{' || (c == ':' && p + 1 < e && p[1] != ':')) { /* ':' a constructor's initializers */
				body = true;
				break;
			}
			if (c == ';' || c == ',' || c == '=' || c == '}' || c == '#')
				break;
		} else if (c == ';' || c == '{' || c == '}') {
			break; /* not a parameter list */
		}
		p++;
	}
	look_spent(lk, start, p);
	return body;
}

/* The identifier just before the first '(' of [p, e), skipping spaces,
 * after a "::" the part after it; NULL if none.  *paren: the '('. */
static const char *name_before_paren(const char *p, const char *e, size_t *n, const char **paren)
{
	const char *q = memchr(p, '(', (size_t)(e - p));
	if (!q)
		return NULL;
	*paren = q;
	const char *r = q;
	while (r > p && is_space((unsigned char)r[-1]))
		r--;
	const char *s = r;
	while (s > p && is_id((unsigned char)s[-1]))
		s--;
	if (s == r || !is_id0((unsigned char)*s))
		return NULL;
	*n = (size_t)(r - s);
	return s;
}

/* C and C++, a line at column 0 (ls..le): see the top comment. */
static void c_line(const char *ls, const char *le, look *lk, uint32_t *consts, xbuf *out, uint32_t *count)
{
	const char *end = lk->end;
	const char *a;
	if (*ls == '#') {
		const char *p = skip_sp(ls + 1, le);
		if (!starts(p, le, "define", &a))
			return;
		const char *q = skip_sp(a, le);
		size_t n = ident(q, le);
		if (!n || keyword(q, n))
			return;
		/* a function-like macro always; constants only the first
		 * MAX_CONSTANTS of a file: past them it is a generated table
		 * (Linux has 4.9 million #defines, 3.5 million of them in AMD's
		 * register headers), whose names would cost the index more than
		 * every function of the tree */
		if ((q + n < le && q[n] == '(') || (*consts)++ < MAX_CONSTANTS)
			emit(out, q, n, count);
		return;
	}
	if (*ls == '}') { /* "} name;" closing a typedef */
		const char *p = skip_sp(ls + 1, le);
		size_t n = ident(p, le);
		const char *q = skip_sp(p + n, le);
		if (n && q < le && *q == ';' && !keyword(p, n))
			emit(out, p, n, count);
		return;
	}
	if (!is_id0((unsigned char)*ls))
		return;
	const char *p = ls;
	if (starts(p, le, "typedef", &a)) {
		const char *semi = memchr(a, ';', (size_t)(le - a));
		if (semi && !memchr(a, '(', (size_t)(semi - a))) {
			const char *s = semi;
			while (s > a && is_id((unsigned char)s[-1]))
				s--;
			size_t n = ident(s, semi);
			if (n && !keyword(s, n))
				emit(out, s, n, count);
		}
		return;
	}
	static const char *const agg[] = {"struct", "union", "enum", "class", "namespace"};
	for (size_t k = 0; k < sizeof agg / sizeof *agg; k++)
		if (starts(p, le, agg[k], &a)) {
			/* the name is the last of the words before the body, past
			 * any with arguments before it: "enum class Color", "class
			 * GTY(()) temp_slot", "class Q_CORE_EXPORT QString" */
			const char *q = NULL, *r = skip_sp(a, le);
			size_t n = 0;
			for (int w = 0; w < 4; w++) {
				size_t m = ident(r, le);
				if (!m || word_is(r, m, "final"))
					break;
				const char *t = skip_sp(r + m, le);
				if (t < le && *t == '(') {
					if (n && !word_is(r, m, "__attribute__") && !word_is(r, m, "alignas") &&
					    !word_is(r, m, "__declspec"))
						break; /* "struct foo bar(": a function, below */
					for (int depth = 0; t < le && (depth > 0 || *t == '('); t++)
						depth += *t == '(' ? 1 : *t == ')' ? -1 : 0;
					r = skip_sp(t, le);
					continue;
				}
				q = r;
				n = m;
				r = t;
			}
			if (!n || keyword(q, n))
				break;
			if (starts(r, le, "final", &a))
				r = skip_sp(a, le);
			/* "struct foo {", or alone on its line with '{' next */
			bool body = (r < le && (*r == '{' || *r == ':')) ||
			            (r == le && le + 1 < end && le[1] == '{');
			if (body) {
				emit(out, q, n, count);
				return;
			}
			break; /* "struct foo *bar(...)": a function, below */
		}
	size_t n;
	const char *paren;
	const char *name = name_before_paren(p, le, &n, &paren);
	if (!name && le < end && !memchr(p, '(', (size_t)(le - p))) {
		/* GNU style for a long name: "Class::name" over its "(args)" */
		const char *r = le, *t = skip_sp(le + 1, end);
		while (r > p && is_space((unsigned char)r[-1]))
			r--;
		const char *s = r;
		while (s > p && is_id((unsigned char)s[-1]))
			s--;
		if (s < r && is_id0((unsigned char)*s) && t < end && *t == '(') {
			name = s;
			n = (size_t)(r - s);
			paren = t;
		}
	}
	if (!name || keyword(name, n) || memchr(p, '=', (size_t)(name - p)))
		return; /* "x = f(...)" initializes */
	if (!reaches_body(paren + 1, lk))
		return;
	const char *a0 = skip_sp(paren + 1, le);
	size_t an = ident(a0, le);
	if (an && n >= 15 && (word_is(name, n - 1, "SYSCALL_DEFINE") || word_is(name, n - 1, "COMPAT_SYSCALL_DEFINE")))
		emit(out, a0, an, count); /* SYSCALL_DEFINE3(read, ...): the call's name */
	else
		emit(out, name, n, count);
}

/* Java, C#, Scala and the like: a line at any indentation. */
static void java_line(const char *ls, const char *le, look *lk, xbuf *out, uint32_t *count)
{
	const char *p = skip_sp(ls, le), *a;
	/* modifiers and annotations are skipped by the class scan: any word
	 * before class/interface/enum/record/struct/object/trait */
	for (const char *q = p; q < le;) {
		size_t n = ident(q, le);
		if (!n) {
			if (*q == '@' || *q == '<' || *q == '>' || *q == ',' || *q == '[' || *q == ']' || *q == '.' ||
			    is_space((unsigned char)*q)) {
				q++;
				continue;
			}
			break;
		}
		static const char *const kinds[] = {"class", "interface", "enum", "record", "struct", "object", "trait"};
		for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
			if (starts(q, le, kinds[k], &a) && name_after(a, le, out, count))
				return;
		if (starts(q, le, "def", &a) && name_after(a, le, out, count)) /* Scala */
			return;
		q += n;
	}
	size_t n;
	const char *paren;
	const char *name = name_before_paren(p, le, &n, &paren);
	if (!name || keyword(name, n) || name == p)
		return; /* a method has a type or a modifier before its name */
	const char *b = name;
	while (b > p && is_space((unsigned char)b[-1]))
		b--;
	if (b == name || !(is_id((unsigned char)b[-1]) || b[-1] == '>' || b[-1] == ']' || b[-1] == '?'))
		return;
	const char *w = b;
	while (w > p && is_id((unsigned char)w[-1]))
		w--;
	if (word_is(w, (size_t)(b - w), "return") || word_is(w, (size_t)(b - w), "new") ||
	    word_is(w, (size_t)(b - w), "else") || word_is(w, (size_t)(b - w), "throw"))
		return;
	for (const char *q = p; q < name; q++)
		if (*q == '=' || *q == '(' || *q == '.' || *q == ';')
			return; /* an assignment or a call chain */
	if (reaches_body(paren + 1, lk))
		emit(out, name, n, count);
}

/* Strips leading words of ws (each followed by space or '(...)'). */
static const char *skip_words(const char *p, const char *le, const char *const *ws, size_t nws)
{
	for (bool more = true; more;) {
		more = false;
		for (size_t k = 0; k < nws; k++) {
			const char *a;
			if (starts(p, le, ws[k], &a)) {
				if (a < le && *a == '(') { /* pub(crate) */
					const char *c = memchr(a, ')', (size_t)(le - a));
					a = c ? c + 1 : le;
				}
				if (a < le && *a == '"') { /* extern "C" */
					const char *c = memchr(a + 1, '"', (size_t)(le - a - 1));
					a = c ? c + 1 : le;
				}
				p = skip_sp(a, le);
				more = true;
			}
		}
	}
	return p;
}

/* The end of the shell function name at p: identifier bytes, '-', ':' and '.'. */
static const char *sh_name_end(const char *p, const char *le)
{
	while (p < le && (is_id((unsigned char)*p) || *p == '-' || *p == ':' || *p == '.'))
		p++;
	return p;
}

/* Whether [p, e) starts a function or a class: "function", "class",
 * "async function", "(args) =>" or "arg =>". */
static bool js_function_value(const char *p, const char *e)
{
	const char *a;
	if (starts(p, e, "async", &a))
		p = skip_sp(a, e);
	if (starts(p, e, "function", &a) || starts(p, e, "class", &a))
		return true;
	if (p < e && *p == '(') {
		const char *c = memchr(p, ')', (size_t)(e - p));
		p = c ? c + 1 : e;
	} else {
		p += ident(p, e);
	}
	p = skip_sp(p, e);
	return e - p >= 2 && p[0] == '=' && p[1] == '>';
}

/* From p, just after a '(' (depth 1): whether its ')', within DECL_LOOK
 * bytes, is followed on its line by '{' or by a return type and '{' (": T
 * {"): a method's parameters and body, not a call.  Skips strings. */
static bool js_method_body(const char *p, look *lk)
{
	const char *e = look_from(lk, p), *start = p;
	bool body = false;
	int depth = 1;
	for (; depth > 0 && p < e; p++) {
		if (*p == '"' || *p == '\'' || *p == '`') {
			const char *q = p + 1;
			while (q < e && *q != *p)
				q += *q == '\\' ? 2 : 1;
			p = q < e ? q : e - 1;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')') {
			depth--;
		}
	}
	if (depth == 0) {
		p = skip_sp(p, e);
		if (p < e && *p == ':')
			while (p < e && *p != '\n' && *p != ';' && *p != '{')
				p++;
		body = p < e && *p == '{';
	}
	look_spent(lk, start, p);
	return body;
}

/* JavaScript and TypeScript, a line (ls..le): see the top comment.  decl:
 * a declaration file (.d.ts), whose functions, classes and variables are
 * defined in the code it describes. */
static void js_line(const char *ls, const char *le, look *lk, bool top, bool decl, xbuf *out, uint32_t *count)
{
	const char *p = skip_sp(ls, le);
	if (p == le)
		return;
	static const char *const mods[] = {"export", "default", "async", "declare", "abstract", "static",
	                                   "public", "private", "protected", "readonly", "get", "set"};
	const char *q = skip_words(p, le, mods, sizeof mods / sizeof *mods), *a;
	for (const char *s = p; !decl && s < q; s++) /* "declare function f(): T;" declares */
		if ((s == p || !is_id((unsigned char)s[-1])) && starts(s, q, "declare", &a))
			decl = true;
	/* types: a declaration is the only definition they have */
	static const char *const types[] = {"interface", "enum", "type"};
	for (size_t k = 0; k < sizeof types / sizeof *types; k++)
		if (starts(q, le, types[k], &a)) {
			name_after(a, le, out, count);
			return;
		}
	if (decl)
		return;
	if (starts(q, le, "function", &a)) {
		const char *r = skip_sp(a, le);
		if (r < le && *r == '*')
			r++;
		name_after(r, le, out, count);
		return;
	}
	if (starts(q, le, "class", &a) || starts(q, le, "namespace", &a)) {
		name_after(a, le, out, count);
		return;
	}
	if (top && (starts(q, le, "const", &a) || starts(q, le, "let", &a) || starts(q, le, "var", &a))) {
		const char *r = skip_sp(a, le);
		size_t n = ident(r, le);
		const char *s = skip_sp(r + n, le);
		if (n && s < le && (*s == '=' || *s == ':'))
			emit(out, r, n, count);
		return;
	}
	/* "a.b.name = function (", "exports.name = (x) =>": the last name */
	const char *r = p, *last = NULL;
	size_t n = ident(r, le), ln = 0;
	while (n && r + n < le && r[n] == '.') {
		r += n + 1;
		n = ident(r, le);
		last = r;
		ln = n;
	}
	if (last && ln) {
		const char *s = skip_sp(last + ln, le);
		if (s + 1 < le && s[0] == '=' && s[1] != '=' && s[1] != '>' && js_function_value(skip_sp(s + 1, le), le) &&
		    !word_is(last, ln, "exports") && !word_is(last, ln, "prototype"))
			emit(out, last, ln, count);
		return;
	}
	if (q < le && *q == '*') /* a generator method */
		q = skip_sp(q + 1, le);
	n = ident(q, le);
	if (!n || keyword(q, n))
		return;
	const char *s = skip_sp(q + n, le);
	if (s < le && *s == ':') { /* "name: function (" in an object literal */
		s = skip_sp(s + 1, le);
		if (starts(s, le, "async", &a))
			s = skip_sp(a, le);
		if (starts(s, le, "function", &a))
			emit(out, q, n, count);
		return;
	}
	/* a method: "name(args) {", its parameters on one line or more */
	if (!top && s < le && *s == '(' && js_method_body(s + 1, lk))
		emit(out, q, n, count);
}

/* One line of a language other than C and Java-like: see the top comment. */
static void line_rules(enum lang lang, const char *ls, const char *le, bool top, xbuf *out, uint32_t *count)
{
	const char *p = skip_sp(ls, le), *a;
	if (p == le)
		return;
	switch (lang) {
	case L_PY: {
		if (starts(p, le, "async", &a))
			p = skip_sp(a, le);
		if (starts(p, le, "def", &a) || starts(p, le, "class", &a))
			name_after(a, le, out, count);
		return;
	}
	case L_GO: {
		if (!top)
			return;
		if (starts(p, le, "func", &a)) {
			const char *q = skip_sp(a, le);
			if (q < le && *q == '(') { /* a method: past the receiver */
				const char *c = memchr(q, ')', (size_t)(le - q));
				if (!c)
					return;
				q = c + 1;
			}
			name_after(q, le, out, count);
		} else if (starts(p, le, "type", &a) || starts(p, le, "var", &a) || starts(p, le, "const", &a)) {
			name_after(a, le, out, count);
		}
		return;
	}
	case L_RUST: {
		static const char *const mods[] = {"pub", "async", "unsafe", "const", "extern", "default", "auto"};
		const char *q = skip_words(p, le, mods, sizeof mods / sizeof *mods);
		if (starts(q, le, "macro_rules!", &a)) {
			name_after(a, le, out, count);
			return;
		}
		static const char *const kinds[] = {"fn", "struct", "enum", "union", "trait", "type", "mod", "static"};
		for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
			if (starts(q, le, kinds[k], &a)) {
				name_after(a, le, out, count);
				return;
			}
		if (q != p && starts(p, le, "const", &a)) /* "const NAME: T" (the modifier loop ate it) */
			name_after(a, le, out, count);
		return;
	}
	case L_KOTLIN: {
		for (const char *q = p; q < le;) {
			size_t n = ident(q, le);
			if (!n)
				break;
			static const char *const kinds[] = {"fun", "class", "interface", "object", "typealias"};
			for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
				if (starts(q, le, kinds[k], &a)) {
					const char *r = skip_sp(a, le);
					if (r < le && *r == '<') { /* fun <T> name */
						const char *c = memchr(r, '>', (size_t)(le - r));
						r = c ? c + 1 : le;
					}
					const char *dot = NULL; /* fun Type.name: the name */
					for (const char *s = skip_sp(r, le); s < le && (is_id((unsigned char)*s) || *s == '.'); s++)
						if (*s == '.')
							dot = s;
					name_after(dot ? dot + 1 : r, le, out, count);
					return;
				}
			q = skip_sp(q + n, le);
		}
		return;
	}
	case L_SH: {
		if (starts(p, le, "function", &a)) {
			const char *r = skip_sp(a, le);
			emit(out, r, (size_t)(sh_name_end(r, le) - r), count);
			return;
		}
		const char *s = sh_name_end(p, le);
		const char *r = skip_sp(s, le);
		if (s > p && r + 1 < le && r[0] == '(' && r[1] == ')' && !keyword(p, (size_t)(s - p)))
			emit(out, p, (size_t)(s - p), count);
		return;
	}
	case L_RUBY: {
		if (starts(p, le, "def", &a)) {
			const char *r = skip_sp(a, le);
			if (starts(r, le, "self", &a) && a < le && *a == '.')
				r = a + 1;
			size_t n = ident(r, le);
			while (n && r + n < le && (r[n] == '?' || r[n] == '!' || r[n] == '='))
				n++;
			emit(out, r, n, count);
		} else if (starts(p, le, "class", &a) || starts(p, le, "module", &a)) {
			name_after(a, le, out, count);
		}
		return;
	}
	case L_PERL:
		if (starts(p, le, "sub", &a) || starts(p, le, "package", &a)) {
			const char *r = skip_sp(a, le);
			const char *s = r;
			while (s < le && (is_id((unsigned char)*s) || *s == ':'))
				s++;
			const char *last = r; /* Foo::Bar::name: the name */
			for (const char *t = r; t + 1 < s; t++)
				if (t[0] == ':' && t[1] == ':')
					last = t + 2;
			emit(out, last, (size_t)(s - last), count);
		}
		return;
	case L_PHP: {
		static const char *const mods[] = {"public", "private", "protected", "static", "abstract", "final"};
		const char *q = skip_words(p, le, mods, sizeof mods / sizeof *mods);
		if (starts(q, le, "function", &a) || starts(q, le, "class", &a) || starts(q, le, "interface", &a) ||
		    starts(q, le, "trait", &a))
			name_after(a, le, out, count);
		return;
	}
	case L_LISP:
		if (*p == '(' && le - p > 4 && !memcmp(p + 1, "def", 3)) {
			const char *r = p + 4;
			while (r < le && !is_space((unsigned char)*r))
				r++; /* defun, defmacro, defvar, define, ... */
			r = skip_sp(r, le);
			if (r < le && *r == '(')
				r++; /* (define (name args) ...) */
			const char *s = r;
			while (s < le && !is_space((unsigned char)*s) && *s != ')' && *s != '(')
				s++;
			emit(out, r, (size_t)(s - r), count);
		}
		return;
	case L_LUA: {
		if (starts(p, le, "local", &a))
			p = skip_sp(a, le);
		if (starts(p, le, "function", &a)) {
			const char *r = skip_sp(a, le);
			const char *s = r, *last = r;
			while (s < le && (is_id((unsigned char)*s) || *s == '.' || *s == ':')) {
				if (*s == '.' || *s == ':')
					last = s + 1;
				s++;
			}
			emit(out, last, (size_t)(s - last), count);
		}
		return;
	}
	default:
		return;
	}
}

/* A Markdown heading's text, without its marks. */
static void md_heading(const char *p, const char *le, xbuf *out, uint32_t *count)
{
	p = skip_sp(p, le);
	while (le > p && (is_space((unsigned char)le[-1]) || le[-1] == '#'))
		le--;
	if (le > p)
		emit(out, p, (size_t)(le - p), count);
}

size_t defs_whole_term(const char *s, size_t n, char *out)
{
	if (n == 0 || n + 1 > XIHU_MAX_TERM || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	out[0] = XIHU_DEF_WHOLE;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
			return 0;
		out[1 + i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	return n + 1;
}

size_t defs_exact_term(const char *s, size_t n, char *out)
{
	bool upper = false, lower = false;
	for (size_t i = 0; i < n; i++) {
		upper |= s[i] >= 'A' && s[i] <= 'Z';
		lower |= s[i] >= 'a' && s[i] <= 'z';
	}
	if (!upper || !lower || !defs_whole_term(s, n, out))
		return 0;
	out[0] = XIHU_DEF_EXACT;
	memcpy(out + 1, s, n);
	return n + 1;
}

uint32_t defs_find(const char *path, size_t path_len, const char *text, size_t len, xbuf *out)
{
	enum lang lang = lang_of(path, path_len, text, len);
	if (lang == L_NONE || !text)
		return 0;
	uint32_t count = 0, consts = 0;
	const char *end = text + len;
	look lk = {end, len > (SIZE_MAX - LOOK_BASE) / LOOK_PER_BYTE ? SIZE_MAX : len * LOOK_PER_BYTE + LOOK_BASE};
	bool in_fence = false;
	for (const char *ls = text; ls < end;) {
		const char *nl = memchr(ls, '\n', (size_t)(end - ls));
		const char *le = nl ? nl : end;
		const char *next = nl ? nl + 1 : end;
		bool top = ls < le && !is_space((unsigned char)*ls);
		switch (lang) {
		case L_C:
			if (top)
				c_line(ls, le, &lk, &consts, out, &count);
			break;
		case L_JAVA:
			java_line(ls, le, &lk, out, &count);
			break;
		case L_JS:
		case L_JS_DECL:
			js_line(ls, le, &lk, top, lang == L_JS_DECL, out, &count);
			break;
		case L_MD: {
			const char *p = ls;
			if (le - p >= 3 && (!memcmp(p, "```", 3) || !memcmp(p, "~~~", 3)))
				in_fence = !in_fence;
			if (in_fence)
				break;
			if (p < le && *p == '#') {
				const char *q = p;
				while (q < le && *q == '#')
					q++;
				if (q - p <= 6 && (q == le || is_space((unsigned char)*q)))
					md_heading(q, le, out, &count);
			} else if (top && next < end && *next == '=') { /* setext: "Title" over "====" */
				const char *q = next;
				while (q < end && *q == '=')
					q++;
				if (q - next >= 3 && (q == end || *q == '\n' || is_space((unsigned char)*q)))
					md_heading(p, le, out, &count);
			}
			break;
		}
		default:
			line_rules(lang, ls, le, top, out, &count);
		}
		ls = next;
	}
	return count;
}
