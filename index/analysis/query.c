/*
 * query.c: query string -> tree of qnodes, for search.c to execute.
 *
 * Owns the query language (docs/QUERY.md is its user-facing description):
 *
 *   query  := and
 *   and    := or ( [AND] or )*           implicit AND binds loosest
 *   or     := unary ( OR unary )*
 *   unary  := ( '-' | NOT ) unary | atom
 *   atom   := '(' query ')' | word ( NEAR[/n] word )+
 *           | [ name ':' ] ( '"' words '"' | word | word '*' | word '~' [ '1' | '2' ] )
 *
 * With QUERY_ANY (xihu search --any) what the query joins without an
 * operator is an OR, at every level: and := or ( [AND] or )* is read as
 * alternatives, each a run of operands joined by an explicit AND, and the
 * negations and path filters among them restrict the whole: "a b AND c -d
 * ext:h" is (a OR (b AND c)) AND NOT d AND ext:h.
 *
 * Lexing: a word is a run of bytes up to ASCII white space, '(', ')' or
 * '"'.  AND, OR and NOT are keywords only when written in upper case as a
 * whole word; "or" is a word to search for.  '-' negates only when a word,
 * '(' or '"' follows it directly ("a - b" searches a and b).  Every word and
 * phrase goes through the analyzer (analyze.c), so the query folds exactly
 * like the indexed text: one token makes Q_TERM, several Q_PHRASE ("foo-bar",
 * "foo.bar"), none (a lone "+") makes nothing and the word is dropped.  A
 * trailing '*' makes a Q_PREFIX of the single folded word before it.
 *
 * Invariants of a returned tree:
 *  - Q_AND and Q_OR have at least two kids and no kid of their own kind
 *    (single kids collapse, nested same kinds flatten);
 *  - Q_NOT appears only as a kid of Q_AND, and every Q_AND has at least one
 *    kid that is not Q_NOT; double negation cancels out;
 *  - terms are folded, NUL-terminated, at most XIHU_MAX_TERM bytes, and
 *    their number over the whole tree is at most lim->max_terms;
 *  - column is the 1-based byte column where the node starts in the query
 *    (a group's '(' for a parenthesized AND/OR, the '-'/NOT of a negation).
 *
 * Bounds: the parser recurses once per level of parentheses only (negation
 * chains are a loop), and parentheses deeper than lim->max_depth (never more
 * than QUERY_MAX_DEPTH) are an error, so no query can exhaust the stack.
 *
 * Callers: search.c (xihu_index_search) and the unit tests.  The tree is owned by
 * the caller and released with query_free().
 */
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"

/* Hard cap on nesting whatever the configured limit: keeps recursion (here,
 * in query_free and in the search that walks the tree) far from the stack's
 * end even on small thread stacks. */
#define QUERY_MAX_DEPTH 256

enum lex_kind { L_END, L_WORD, L_PHRASE, L_LPAREN, L_RPAREN, L_MINUS, L_AND, L_OR, L_NOT, L_NEAR };

typedef struct lexeme {
	enum lex_kind kind;
	size_t off;         /* where it starts in the query */
	size_t text, tlen;  /* L_WORD, L_PHRASE: the text to analyze */
	bool prefix;        /* L_WORD ended in '*' */
	int fuzzy;          /* L_WORD ended in '~' (0: distance by length), '~1' or '~2'; -1 not */
	size_t fname, fnlen; /* a field scope "name:" before the word or phrase; fnlen 0: none */
	uint32_t near;       /* L_NEAR: the most words between (NEAR/n; NEAR alone: 10) */
	size_t whole, wlen;  /* the lexeme's whole text, scope included */
} lexeme;

typedef struct parser {
	const char *q;
	size_t len, off; /* off: where the next lexeme starts */
	lexeme cur;      /* the lookahead */
	bool saw_lexeme; /* the query is not all white space */
	uint32_t nterms, max_terms;
	uint32_t depth, max_depth;
	uint32_t nstopped; /* words dropped as the index's stopwords */
	bool any;          /* QUERY_ANY */
	analyzer *an;      /* with the index's analysis */
	xihu_err *err;
} parser;

static uint32_t col(size_t off)
{
	return (uint32_t)off + 1;
}

/* XIHU_EQUERY / XIHU_ELIMIT with "query column N: ..." and err->column. */
static int qerr(parser *p, int code, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int qerr(parser *p, int code, size_t off, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	xihu_err_set(p->err, code, "query column %u: %s", col(off), what);
	if (p->err)
		p->err->column = col(off);
	return code;
}

static int oom(parser *p)
{
	xihu_err_set(p->err, XIHU_ENOMEM, "out of memory parsing the query");
	return XIHU_ENOMEM;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool ends_word(char c)
{
	return is_space(c) || c == '(' || c == ')' || c == '"';
}

static const char *lex_name(enum lex_kind k)
{
	switch (k) {
	case L_AND: return "AND";
	case L_OR: return "OR";
	case L_NOT: return "NOT";
	case L_NEAR: return "NEAR";
	case L_MINUS: return "'-'";
	case L_LPAREN: return "'('";
	case L_RPAREN: return "')'";
	case L_END: return "the end";
	case L_WORD:
	case L_PHRASE: break;
	}
	return "a word";
}

/* Reads the next lexeme into p->cur. */
static int advance(parser *p)
{
	const char *q = p->q;
	size_t i = p->off;

	while (i < p->len && is_space(q[i]))
		i++;
	lexeme *l = &p->cur;
	memset(l, 0, sizeof *l);
	l->off = i;
	l->fuzzy = -1;
	if (i >= p->len) {
		l->kind = L_END;
		p->off = i;
		return XIHU_OK;
	}
	p->saw_lexeme = true;
	char c = q[i];
	if (c == '(' || c == ')') {
		l->kind = c == '(' ? L_LPAREN : L_RPAREN;
		p->off = i + 1;
		return XIHU_OK;
	}
	if (c == '"') {
		const char *close = memchr(q + i + 1, '"', p->len - i - 1);
		if (!close)
			return qerr(p, XIHU_EQUERY, i,
			            "unbalanced quote: no closing \" for the one opened here");
		l->kind = L_PHRASE;
		l->text = i + 1;
		l->tlen = (size_t)(close - (q + i + 1));
		p->off = (size_t)(close - q) + 1;
		return XIHU_OK;
	}
	if (c == '-' && i + 1 < p->len && !is_space(q[i + 1]) && q[i + 1] != ')') {
		l->kind = L_MINUS;
		p->off = i + 1;
		return XIHU_OK;
	}
	size_t e = i;
	while (e < p->len && !ends_word(q[e]))
		e++;
	p->off = e;
	size_t n = e - i;
	/* a field scope: name:word, name:"a phrase" (name a letter, then
	 * letters, digits or '_'; "a::b" and "name:" alone are not scopes) */
	size_t sc = i;
	if (sc < e && is_alpha(q[sc])) {
		while (sc < e && (is_alpha(q[sc]) || (q[sc] >= '0' && q[sc] <= '9') || q[sc] == '_'))
			sc++;
		if (sc < e && q[sc] == ':' && sc + 1 < e && q[sc + 1] != ':') {
			l->kind = L_WORD;
			l->fname = i;
			l->fnlen = sc - i;
			l->whole = i;
			l->wlen = n;
			i = sc + 1;
			n = e - i;
			goto word;
		}
		if (sc + 1 == e && q[sc] == ':' && e < p->len && q[e] == '"') {
			const char *close = memchr(q + e + 1, '"', p->len - e - 1);
			if (!close)
				return qerr(p, XIHU_EQUERY, e, "unbalanced quote: no closing \" for the one opened here");
			l->kind = L_PHRASE;
			l->fname = i;
			l->fnlen = sc - i;
			l->text = e + 1;
			l->tlen = (size_t)(close - (q + e + 1));
			l->whole = i;
			l->wlen = (size_t)(close - (q + i)) + 1;
			p->off = (size_t)(close - q) + 1;
			return XIHU_OK;
		}
	}
	if (n == 3 && memcmp(q + i, "AND", 3) == 0)
		l->kind = L_AND;
	else if (n == 2 && memcmp(q + i, "OR", 2) == 0)
		l->kind = L_OR;
	else if (n == 3 && memcmp(q + i, "NOT", 3) == 0)
		l->kind = L_NOT;
	else if (n >= 4 && memcmp(q + i, "NEAR", 4) == 0 && (n == 4 || q[i + 4] == '/')) {
		l->kind = L_NEAR;
		l->near = 10;
		if (n > 4) {
			uint32_t v = 0;
			size_t k = i + 5;
			while (k < i + n && q[k] >= '0' && q[k] <= '9' && v <= 1000)
				v = v * 10 + (uint32_t)(q[k++] - '0');
			if (k == i + 5 || k != i + n || v > 1000)
				return qerr(p, XIHU_EQUERY, i, "NEAR/n takes a number of words from 0 to 1000");
			l->near = v;
		}
	}
	else {
		l->kind = L_WORD;
		l->whole = i;
		l->wlen = n;
	word:
		if (n >= 2 && q[i + n - 2] == '~' && (q[i + n - 1] == '1' || q[i + n - 1] == '2')) {
			l->fuzzy = q[i + n - 1] - '0';
			n -= 2;
		} else if (n >= 1 && q[i + n - 1] == '~') {
			l->fuzzy = 0;
			n--;
		}
		while (n > 0 && q[i + n - 1] == '*') {
			l->prefix = true;
			n--;
		}
		l->text = i;
		l->tlen = n;
	}
	return XIHU_OK;
}

/* ---- nodes ---------------------------------------------------------------- */

void query_free(qnode *n)
{
	if (!n)
		return;
	free(n->field);
	free(n->whole_def);
	free(n->exact_def);
	query_free(n->fallback);
	for (uint32_t i = 0; i < n->nterms; i++)
		free(n->terms[i]);
	free(n->terms);
	free(n->pos);
	for (uint32_t i = 0; i < n->nkids; i++)
		query_free(n->kids[i]);
	free(n->kids);
	free(n);
}

static qnode *node_new(enum qkind kind, size_t off)
{
	qnode *n = calloc(1, sizeof *n);
	if (n) {
		n->kind = kind;
		n->column = col(off);
	}
	return n;
}

/* Appends kid (never NULL) to n; the array doubles at each power of two. */
static bool kid_push(qnode *n, qnode *kid)
{
	uint32_t k = n->nkids;
	if ((k & (k - 1)) == 0) {
		qnode **kids = realloc(n->kids, (k ? 2 * (size_t)k : 1) * sizeof *kids);
		if (!kids)
			return false;
		n->kids = kids;
	}
	n->kids[n->nkids++] = kid;
	return true;
}

/* Adds kid to n, taking the kids of a kid of the same kind instead (flattening).
 * Takes ownership of kid even when it fails. */
static bool kid_add(qnode *n, qnode *kid)
{
	if (kid->kind != n->kind)
		return kid_push(n, kid) || (query_free(kid), false);
	bool ok = true;
	for (uint32_t i = 0; i < kid->nkids; i++) {
		if (ok && kid_push(n, kid->kids[i]))
			kid->kids[i] = NULL;
		else
			ok = false;
	}
	query_free(kid);
	return ok;
}

/* Returns the single kid of n instead of n, NULL for no kids, else n. */
static qnode *collapse(qnode *n)
{
	if (n->nkids > 1)
		return n;
	qnode *kid = n->nkids ? n->kids[0] : NULL;
	n->nkids = 0;
	query_free(n);
	return kid;
}

/*
 * Analyzes text[0..tlen) (a word at query offset `at`, or a phrase's inside)
 * into a Q_TERM, Q_PHRASE or Q_PREFIX node.  *out is NULL when the text has
 * no tokens.  A word typed as an identifier (not a quoted phrase) also
 * gets its def field term, whole_def.
 */
static int words_node(parser *p, size_t at, size_t text, size_t tlen, bool prefix, int fuzzy, bool phrase,
                      qnode **out)
{
	analyzer *a = p->an;
	token t;
	uint32_t ntok = 0, first = 0, nwholes = 0;
	char *terms[XIHU_MAX_TERM]; /* enough for any run checked below */
	uint32_t pos[XIHU_MAX_TERM]; /* each term's position from the first one's */
	bool gaps = false;
	char whole[XIHU_MAX_TERM + 1];
	uint32_t wstart = 0, wend = 0, tstart = UINT32_MAX, tend = 0;
	qnode *n = NULL;
	int rc = XIHU_OK;

	*out = NULL;
	/* a prefix or a fuzzy word is not a whole word: not stemmed, never a stopword */
	analyzer_reset(a, p->q + text, tlen, prefix || fuzzy >= 0 ? ANALYZE_PLAIN : 0);
	while (analyzer_next(a, &t)) {
		if (t.whole) { /* a camelCase word's whole form */
			if (nwholes++ == 0) {
				memcpy(whole, t.term, t.len + 1);
				wstart = t.start;
				wend = t.end;
			}
			continue;
		}
		if (ntok == 0)
			first = t.pos;
		if (t.pos - first >= XIHU_MAX_TERM) {
			rc = qerr(p, XIHU_ELIMIT, text + t.start, "a phrase spanning more than %d words",
			          XIHU_MAX_TERM);
			goto fail;
		}
		if (p->nterms >= p->max_terms) {
			rc = qerr(p, XIHU_ELIMIT, text + t.start, "more than %u terms in the query",
			          p->max_terms);
			goto fail;
		}
		if (!(terms[ntok] = strdup(t.term))) {
			rc = oom(p);
			goto fail;
		}
		pos[ntok] = t.pos - first;
		gaps |= pos[ntok] != ntok; /* a stopword between */
		tstart = t.start < tstart ? t.start : tstart;
		tend = t.end > tend ? t.end : tend;
		ntok++;
		p->nterms++;
	}
	if (a->nlong) {
		rc = qerr(p, XIHU_ELIMIT, at, "a word longer than %d bytes (the longest the index holds)",
		          XIHU_MAX_TERM);
		goto fail;
	}
	p->nstopped += a->nstop;
	if (!phrase && nwholes == 1 && (ntok == 0 || (tstart >= wstart && tend <= wend))) {
		/* one camelCase word typed alone: its whole form (phrases use the parts) */
		for (uint32_t i = 0; i < ntok; i++)
			free(terms[i]);
		p->nterms -= ntok;
		ntok = 0;
		gaps = false;
		if (p->nterms >= p->max_terms) {
			rc = qerr(p, XIHU_ELIMIT, text + wstart, "more than %u terms in the query", p->max_terms);
			goto fail;
		}
		if (!(terms[0] = strdup(whole))) {
			rc = oom(p);
			goto fail;
		}
		ntok = 1;
		p->nterms++;
	}
	if (ntok == 0) {
		if (phrase && !a->nstop)
			return qerr(p, XIHU_EQUERY, at, "empty phrase");
		return XIHU_OK; /* nothing to search (or only stopwords): dropped */
	}
	if (prefix && ntok > 1) {
		rc = qerr(p, XIHU_EQUERY, at,
		          "a prefix search (word*) takes one word, but \"%.*s\" is %u words; "
		          "quote the others as a phrase",
		          (int)tlen, p->q + text, ntok);
		goto fail;
	}
	if (fuzzy >= 0 && (prefix || ntok > 1)) {
		rc = qerr(p, XIHU_EQUERY, at,
		          prefix ? "a word is either a prefix (word*) or fuzzy (word~), not both"
		                 : "a fuzzy search (word~) takes one word, but \"%.*s\" is %u words",
		          (int)tlen, p->q + text, ntok);
		goto fail;
	}
	n = node_new(fuzzy >= 0 ? Q_FUZZY : prefix ? Q_PREFIX : ntok > 1 ? Q_PHRASE : Q_TERM, at);
	if (n)
		n->fuzzy = fuzzy > 0 ? (uint32_t)fuzzy : 0;
	if (!n || !(n->terms = malloc(ntok * sizeof *n->terms))) {
		free(n);
		rc = oom(p);
		goto fail;
	}
	memcpy(n->terms, terms, ntok * sizeof *terms);
	n->nterms = ntok;
	if (gaps && !(n->pos = malloc(ntok * sizeof *n->pos))) {
		query_free(n);
		return oom(p);
	}
	if (gaps)
		memcpy(n->pos, pos, ntok * sizeof *pos);
	if (!phrase && (n->kind == Q_TERM || n->kind == Q_PHRASE)) {
		char wd[XIHU_MAX_TERM];
		size_t wdlen = defs_whole_term(p->q + text, tlen, wd);
		if (wdlen && !(n->whole_def = strndup(wd, wdlen))) {
			query_free(n);
			return oom(p);
		}
		wdlen = wdlen ? defs_exact_term(p->q + text, tlen, wd) : 0;
		if (wdlen && !(n->exact_def = strndup(wd, wdlen))) {
			query_free(n);
			return oom(p);
		}
	}
	*out = n;
	return XIHU_OK;
fail:
	for (uint32_t i = 0; i < ntok; i++)
		free(terms[i]);
	return rc;
}

/*
 * name:word, name:"phrase", name:pre*, name:word~: the words scoped to one
 * field.  ext:c and path:GLOB (a path: value with *, ? or [) are filters on
 * the document's path, raw text, not analyzed.  Any other name is resolved
 * against the index's fields by the search; the node keeps, as fallback,
 * the whole lexeme analyzed as plain words, for an index without such a
 * field ("http://host" stays words).
 */
static int scoped_node(parser *p, const lexeme *l, qnode **out)
{
	const char *name = p->q + l->fname;
	size_t nlen = l->fnlen;
	char lname[32];
	if (nlen >= sizeof lname)
		nlen = sizeof lname - 1;
	for (size_t i = 0; i < nlen; i++)
		lname[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
	lname[nlen] = 0;
	/* filters take the value raw, as typed after the ':' (stars included) */
	const char *v = p->q + l->fname + l->fnlen + 1;
	size_t vlen = l->whole + l->wlen - (l->fname + l->fnlen + 1);
	bool glob = !strcmp(lname, "path") && l->kind == L_WORD &&
	            (memchr(v, '*', vlen) || memchr(v, '?', vlen) || memchr(v, '[', vlen));
	if ((!strcmp(lname, "ext") && l->kind == L_WORD) || glob) {
		if (!strcmp(lname, "ext") && vlen && v[0] == '.') {
			v++;
			vlen--;
		}
		if (!vlen || vlen > 255)
			return qerr(p, XIHU_EQUERY, l->off, "%s: needs a value of 1 to 255 bytes", lname);
		if (p->nterms >= p->max_terms)
			return qerr(p, XIHU_ELIMIT, l->off, "more than %u terms in the query", p->max_terms);
		qnode *n = node_new(glob ? Q_GLOB : Q_EXT, l->off);
		char **t = malloc(sizeof *t);
		char *val = malloc(vlen + 1);
		if (!n || !t || !val) {
			free(n);
			free(t);
			free(val);
			return oom(p);
		}
		for (size_t i = 0; i < vlen; i++) /* extensions compare without case */
			val[i] = (char)(!glob && v[i] >= 'A' && v[i] <= 'Z' ? v[i] + 32 : v[i]);
		val[vlen] = 0;
		t[0] = val;
		n->terms = t;
		n->nterms = 1;
		p->nterms++;
		*out = n;
		return XIHU_OK;
	}
	qnode *n = NULL, *fb = NULL;
	int rc = words_node(p, l->off, l->text, l->tlen, l->prefix, l->fuzzy, l->kind == L_PHRASE, &n);
	if (rc)
		return rc;
	if (!n)
		return XIHU_OK;
	if ((rc = words_node(p, l->off, l->whole, l->wlen, false, -1, l->kind == L_PHRASE, &fb))) {
		query_free(n);
		return rc;
	}
	if (!(n->field = strdup(lname))) {
		query_free(n);
		query_free(fb);
		return oom(p);
	}
	n->fallback = fb;
	*out = n;
	return XIHU_OK;
}

/* ---- the grammar ------------------------------------------------------------ */

static int parse_and(parser *p, qnode **out);

/* True when cur cannot start an operand. */
static bool no_operand(const parser *p)
{
	enum lex_kind k = p->cur.kind;
	return k == L_END || k == L_RPAREN || k == L_AND || k == L_OR || k == L_NEAR;
}

static int expected_after(parser *p, const char *what)
{
	return qerr(p, XIHU_EQUERY, p->cur.off, "expected a word or '(' after %s, found %s", what,
	            lex_name(p->cur.kind));
}

/* True for a node NEAR can join: one plain word of the default fields. */
static bool near_word(const qnode *n)
{
	return n && n->kind == Q_TERM && !n->field;
}

/*
 * word NEAR/n word [NEAR/m word]...: the words within n words of each
 * other (the smallest n of the chain), in any order, as one Q_NEAR node.
 * p->cur is the first NEAR; *out the word before it.
 */
static int parse_near(parser *p, qnode **out)
{
	qnode *n = *out;
	size_t at = p->cur.off;
	if (!near_word(n))
		return qerr(p, XIHU_EQUERY, at, "NEAR joins single words, not phrases, prefixes or groups");
	uint32_t near = UINT32_MAX;
	while (p->cur.kind == L_NEAR) {
		if (p->cur.near < near)
			near = p->cur.near;
		at = p->cur.off;
		int rc = advance(p);
		if (rc)
			return rc;
		lexeme l = p->cur;
		if (l.kind != L_WORD || l.fnlen || l.prefix || l.fuzzy >= 0)
			return qerr(p, XIHU_EQUERY, at, "NEAR joins single words, not phrases, prefixes or groups");
		qnode *w = NULL;
		if ((rc = words_node(p, l.off, l.text, l.tlen, false, -1, false, &w)))
			return rc;
		if (!near_word(w)) {
			query_free(w);
			return qerr(p, XIHU_EQUERY, l.off, "NEAR joins single words, not phrases, prefixes or groups");
		}
		if (n->nterms >= XIHU_MAX_TERM) {
			query_free(w);
			return qerr(p, XIHU_ELIMIT, l.off, "more than %d words in one NEAR", XIHU_MAX_TERM);
		}
		char **t = realloc(n->terms, (n->nterms + 1) * sizeof *t);
		if (!t) {
			query_free(w);
			return oom(p);
		}
		n->terms = t;
		n->terms[n->nterms++] = w->terms[0];
		w->nterms = 0;
		query_free(w);
		n->kind = Q_NEAR;
		n->near = near;
		if ((rc = advance(p)))
			return rc;
	}
	return XIHU_OK;
}

static int parse_atom(parser *p, qnode **out)
{
	lexeme l = p->cur;
	int rc;

	*out = NULL;
	switch (l.kind) {
	case L_WORD:
	case L_PHRASE:
		if (l.fnlen)
			rc = scoped_node(p, &l, out);
		else
			rc = words_node(p, l.off, l.text, l.tlen, l.prefix, l.fuzzy, l.kind == L_PHRASE, out);
		if (rc)
			return rc;
		if ((rc = advance(p)) || (p->cur.kind == L_NEAR && (rc = parse_near(p, out)))) {
			query_free(*out);
			*out = NULL;
		}
		return rc;
	case L_LPAREN:
		if (p->depth >= p->max_depth)
			return qerr(p, XIHU_ELIMIT, l.off, "parentheses nested deeper than %u",
			            p->max_depth);
		if ((rc = advance(p)))
			return rc;
		if (p->cur.kind == L_RPAREN)
			return qerr(p, XIHU_EQUERY, l.off, "empty parentheses");
		p->depth++;
		rc = parse_and(p, out);
		p->depth--;
		if (rc)
			return rc;
		if (p->cur.kind != L_RPAREN) {
			/* parse_and stops only at ')' or the end */
			query_free(*out);
			*out = NULL;
			return qerr(p, XIHU_EQUERY, l.off,
			            "unbalanced parenthesis: no closing ')' for the one opened here");
		}
		if (*out && ((*out)->kind == Q_AND || (*out)->kind == Q_OR))
			(*out)->column = col(l.off);
		if ((rc = advance(p))) {
			query_free(*out);
			*out = NULL;
		}
		return rc;
	case L_AND:
	case L_OR:
	case L_NEAR:
		return qerr(p, XIHU_EQUERY, l.off, "expected a word or '(' before %s", lex_name(l.kind));
	case L_RPAREN:
	case L_END:
	case L_MINUS:
	case L_NOT:
		break;
	}
	return qerr(p, XIHU_EQUERY, l.off, "expected a word or '(', found %s", lex_name(l.kind));
}

/* Negations are a loop, not recursion: "- - - - a" cannot grow the stack. */
static int parse_unary(parser *p, qnode **out)
{
	bool neg = false;
	size_t neg_off = 0;
	int rc;

	*out = NULL;
	while (p->cur.kind == L_MINUS || p->cur.kind == L_NOT) {
		enum lex_kind k = p->cur.kind;
		if (!neg)
			neg_off = p->cur.off;
		neg = !neg;
		if ((rc = advance(p)))
			return rc;
		if (k == L_NOT && (no_operand(p)))
			return expected_after(p, "NOT");
	}
	qnode *a;
	if ((rc = parse_atom(p, &a)))
		return rc;
	if (a && neg && a->kind == Q_NOT) { /* "-(-a)": the negations cancel */
		qnode *kid = a->kids[0];
		a->nkids = 0;
		query_free(a);
		a = kid;
	} else if (a && neg) {
		qnode *n = node_new(Q_NOT, neg_off);
		if (!n || !kid_push(n, a)) {
			free(n);
			query_free(a);
			return oom(p);
		}
		a = n;
	}
	*out = a;
	return XIHU_OK;
}

static int parse_or(parser *p, qnode **out)
{
	qnode *first, *n = NULL;
	int rc;

	*out = NULL;
	if ((rc = parse_unary(p, &first)))
		return rc;
	while (p->cur.kind == L_OR) {
		if ((rc = advance(p)))
			goto fail;
		if (no_operand(p)) {
			rc = expected_after(p, "OR");
			goto fail;
		}
		if (!n) {
			if (!(n = node_new(Q_OR, first ? first->column - 1 : p->cur.off))) {
				rc = oom(p);
				goto fail;
			}
			if (first && !kid_add(n, first)) {
				first = NULL;
				rc = oom(p);
				goto fail;
			}
			first = NULL;
		}
		qnode *k;
		if ((rc = parse_unary(p, &k)))
			goto fail;
		if (k && !kid_add(n, k)) {
			rc = oom(p);
			goto fail;
		}
	}
	*out = n ? collapse(n) : first;
	return XIHU_OK;
fail:
	query_free(first);
	query_free(n);
	return rc;
}

/* Adds k (may be NULL) to *n, a node of kind made at k's column when
 * there is none yet; takes k.  False (p's error set) when out of memory. */
static bool add_to(parser *p, qnode **n, enum qkind kind, qnode *k)
{
	if (!k)
		return true;
	if (!*n && !(*n = node_new(kind, k->column - 1))) {
		query_free(k);
		oom(p);
		return false;
	}
	if (!kid_add(*n, k)) {
		oom(p);
		return false;
	}
	return true;
}

/* Whether n restricts what matches rather than matching: a path filter
 * (ext:, path:GLOB), its negation, or an OR or AND of those alone. */
static bool only_filters(const qnode *n)
{
	if (n->kind == Q_EXT || n->kind == Q_GLOB)
		return true;
	if (n->kind != Q_OR && n->kind != Q_AND && n->kind != Q_NOT)
		return false;
	for (uint32_t i = 0; i < n->nkids; i++)
		if (!only_filters(n->kids[i]))
			return false;
	return true;
}

/* Ends an alternative of parse_any: a negation or a filter restricts the
 * whole (*only), anything else is one more alternative (*alts).  Takes
 * run (may be NULL); false when out of memory. */
static bool end_run(parser *p, qnode *run, qnode **alts, qnode **only)
{
	if (!run)
		return true;
	bool restricts = run->kind == Q_NOT || only_filters(run);
	return add_to(p, restricts ? only : alts, restricts ? Q_AND : Q_OR, run);
}

/*
 * The next operand of an AND level (parse_and, parse_any) into *k (NULL
 * when it analyzed to nothing), after an explicit AND if there is one
 * (*joined); *any: an operand was parsed before, and is now.
 */
static int next_operand(parser *p, bool *any, bool *joined, qnode **k)
{
	int rc;
	*k = NULL;
	*joined = p->cur.kind == L_AND;
	if (*joined) {
		if (!*any)
			return qerr(p, XIHU_EQUERY, p->cur.off, "expected a word or '(' before AND");
		if ((rc = advance(p)))
			return rc;
		if (no_operand(p))
			return expected_after(p, "AND");
	}
	if ((rc = parse_or(p, k)))
		return rc;
	*any = true;
	return XIHU_OK;
}

/*
 * parse_and under QUERY_ANY: the operands an explicit AND joins make one
 * alternative (run), the alternatives an OR (alts); an alternative that is
 * a negation or a path filter restricts the whole instead (only): "a b -c
 * ext:h" is (a OR b) AND NOT c AND ext:h.
 */
static int parse_any(parser *p, qnode **out)
{
	qnode *alts = NULL, *only = NULL, *run = NULL, *all = NULL;
	bool any = false; /* an operand was parsed, even one that analyzed to nothing */
	int rc = XIHU_ENOMEM;

	*out = NULL;
	while (p->cur.kind != L_END && p->cur.kind != L_RPAREN) {
		bool joined;
		qnode *k;
		if ((rc = next_operand(p, &any, &joined, &k)))
			goto fail;
		rc = XIHU_ENOMEM;
		if (!k)
			continue;
		if (joined && run) { /* one more operand of this alternative */
			if (run->kind != Q_AND) {
				qnode *first = run;
				run = NULL;
				if (!add_to(p, &run, Q_AND, first)) {
					query_free(k);
					goto fail;
				}
			}
			if (!add_to(p, &run, Q_AND, k))
				goto fail;
			continue;
		}
		qnode *done = run; /* a new alternative: the one before is done */
		run = k;
		if (!end_run(p, done, &alts, &only))
			goto fail;
	}
	qnode *done = run;
	run = NULL;
	if (!end_run(p, done, &alts, &only))
		goto fail;
	alts = alts ? collapse(alts) : NULL;
	if (!only) {
		*out = alts;
		return XIHU_OK;
	}
	/* the restrictions apply to every alternative: AND(alternatives, ...) */
	qnode *a = alts, *o = only;
	alts = only = NULL;
	if (!add_to(p, &all, Q_AND, a)) {
		query_free(o);
		goto fail;
	}
	if (!add_to(p, &all, Q_AND, o))
		goto fail;
	*out = collapse(all);
	return XIHU_OK;
fail:
	query_free(run);
	query_free(alts);
	query_free(only);
	query_free(all);
	return rc;
}

/* Stops at ')' or the end, which the caller checks. */
static int parse_and(parser *p, qnode **out)
{
	if (p->any)
		return parse_any(p, out);
	qnode *n = NULL;
	bool any = false; /* an operand was parsed, even one that analyzed to nothing */
	int rc;

	*out = NULL;
	while (p->cur.kind != L_END && p->cur.kind != L_RPAREN) {
		bool joined;
		qnode *k;
		if ((rc = next_operand(p, &any, &joined, &k)))
			goto fail;
		if (!add_to(p, &n, Q_AND, k)) {
			rc = XIHU_ENOMEM;
			goto fail;
		}
	}
	*out = n ? collapse(n) : NULL;
	return XIHU_OK;
fail:
	query_free(n);
	return rc;
}

/* Checks the placement of negations; depth is bounded by the parser's. */
static int check_negations(parser *p, const qnode *n, const qnode *parent)
{
	if (n->kind == Q_NOT && parent && parent->kind == Q_OR)
		return qerr(p, XIHU_EQUERY, n->column - 1,
		            "OR cannot take a negated term (write \"a -b\" for a but not b)");
	if (n->kind == Q_NOT && !parent)
		goto only_negative;
	if (n->kind == Q_AND) {
		uint32_t pos = 0;
		for (uint32_t i = 0; i < n->nkids; i++)
			pos += n->kids[i]->kind != Q_NOT;
		if (pos == 0) {
			if (!parent)
				goto only_negative;
			return qerr(p, XIHU_EQUERY, n->column - 1,
			            "this group has only negative terms (add a word to search for)");
		}
	}
	for (uint32_t i = 0; i < n->nkids; i++) {
		int rc = check_negations(p, n->kids[i], n);
		if (rc)
			return rc;
	}
	return XIHU_OK;
only_negative:
	xihu_err_set(p->err, XIHU_EQUERY, "query has only negative terms (add a word to search for)");
	if (p->err)
		p->err->column = 1;
	return XIHU_EQUERY;
}

static int parse_query(analyzer *an, const char *q, size_t len, const xihu_limits *lim, unsigned flags,
                       qnode **out, xihu_err *err)
{
	xihu_limits def;
	parser p;
	qnode *root = NULL;
	int rc;

	*out = NULL;
	xihu_limits_default(&def);
	if (!lim)
		lim = &def;
	memset(&p, 0, sizeof p);
	p.q = q;
	p.len = len;
	p.an = an;
	p.err = err;
	p.any = flags & QUERY_ANY;
	p.max_terms = lim->max_terms ? lim->max_terms : def.max_terms;
	p.max_depth = lim->max_depth ? lim->max_depth : def.max_depth;
	if (p.max_depth > QUERY_MAX_DEPTH)
		p.max_depth = QUERY_MAX_DEPTH;
	uint32_t max_bytes = lim->max_query_bytes ? lim->max_query_bytes : def.max_query_bytes;
	if (err)
		err->column = 0;
	if (len > max_bytes)
		return qerr(&p, XIHU_ELIMIT, max_bytes, "query longer than %u bytes", max_bytes);

	if ((rc = advance(&p)) || (rc = parse_and(&p, &root)))
		return rc;
	if (p.cur.kind == L_RPAREN) {
		query_free(root);
		return qerr(&p, XIHU_EQUERY, p.cur.off,
		            "unbalanced parenthesis: ')' without a matching '('");
	}
	if (!root) {
		xihu_err_set(err, XIHU_EQUERY,
		             p.nstopped     ? "query has only stopwords (this index does not index them)"
		             : p.saw_lexeme ? "query has no searchable words"
		                            : "empty query");
		if (err)
			err->column = 1;
		return XIHU_EQUERY;
	}
	if ((rc = check_negations(&p, root, NULL))) {
		query_free(root);
		return rc;
	}
	*out = root;
	return XIHU_OK;
}

int query_parse_flags(const analysis *an, const char *q, size_t len, const xihu_limits *lim, unsigned flags,
                      qnode **out, xihu_err *err)
{
	analyzer a;
	*out = NULL;
	int rc = analyzer_open(&a, an, err);
	if (!rc)
		rc = parse_query(&a, q, len, lim, flags, out, err);
	analyzer_close(&a);
	return rc;
}

int query_parse_with(const analysis *an, const char *q, size_t len, const xihu_limits *lim, qnode **out,
                     xihu_err *err)
{
	return query_parse_flags(an, q, len, lim, 0, out, err);
}

int query_parse(const char *q, size_t len, const xihu_limits *lim, qnode **out, xihu_err *err)
{
	return query_parse_with(NULL, q, len, lim, out, err);
}
