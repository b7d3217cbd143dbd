/*
 * test_defs.c: the names a source file defines (index/analysis/defs.c), per
 * language: definitions found, declarations, calls and keywords not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analysis/analysis.h"

/* The names defs_find gives for text as file path, space-separated. */
static char *defs_of(const char *path, const char *text)
{
	xbuf o;
	xbuf_init(&o);
	uint32_t n = defs_find(path, strlen(path), text, strlen(text), &o);
	char *s = malloc(o.len + 1);
	assert_non_null(s);
	if (o.len) /* o.p is NULL while nothing was put */
		memcpy(s, o.p, o.len);
	s[o.len] = '\0';
	uint32_t lines = 0;
	for (size_t i = 0; i < o.len; i++)
		if (s[i] == '\n') {
			s[i] = ' ';
			lines++;
		}
	assert_int_equal(lines, n);
	if (o.len)
		s[o.len - 1] = '\0';
	xbuf_free(&o);
	return s;
}

#define EXPECT(path, text, want)                                                                   \
	do {                                                                                       \
		char *got_ = defs_of((path), (text));                                              \
		assert_string_equal(got_, (want));                                                 \
		free(got_);                                                                        \
	} while (0)

static void test_c(void **state)
{
	(void)state;
	/* a definition, a prototype, a call at top level, a macro and a struct */
	EXPECT("a.c",
	       "#include <x.h>\n"
	       "#define MAX_LEN 10\n"
	       "static int helper(int a);\n"
	       "static int __init helper(int a,\n"
	       "\t\tint b)\n"
	       "{\n"
	       "\tif (a) {\n"
	       "\t\tcall(a);\n"
	       "\t}\n"
	       "\treturn b;\n"
	       "}\n"
	       "EXPORT_SYMBOL(helper);\n"
	       "struct point {\n\tint x;\n};\n"
	       "struct point *make_point(void) { return 0; }\n"
	       "int x = compute(3) ? f(1) : 2;\n",
	       "MAX_LEN helper point make_point");
	/* GNU style: the return type on its own line, the name at column 0 */
	EXPECT("b.c", "static int\nfoo (int x)\n{\n  return x;\n}\n", "foo");
	/* a comment and an attribute between the parameters and the body */
	EXPECT("c.c", "void bar(void) /* no args */ __attribute__((cold))\n{\n}\n", "bar");
	/* typedefs, on one line and closing a struct */
	EXPECT("t.h", "typedef unsigned long ulong_t;\ntypedef struct {\n\tint a;\n} pair_t;\n", "ulong_t pair_t");
	/* C++: a method defined outside its class, a class */
	EXPECT("k.cc", "class Widget {\n};\nint Widget::draw(int w) const\n{\n}\n", "Widget draw");
	/* words before a type's name: attributes, export macros, "enum class"; not a function returning a struct */
	EXPECT("g.cc", "class GTY(()) temp_slot {\n};\nstruct __packed msg {\n};\nclass Q_CORE_EXPORT QString final : Base {\n};\n"
	               "enum class Color : int {\n};\nstruct foo __attribute__((packed)) {\n};\nstruct foo bar(int x) {\n}\n"
	               "struct foo baz;\n",
	       "temp_slot msg QString Color foo bar");
	/* GNU style for a long name: its parameters on the next line; not a call continued there */
	EXPECT("n.cc", "cgraph_node *\ncgraph_node::function_or_virtual_thunk_symbol\n\t\t(enum availability *a)\n{\n}\n"
	               "DEFINE_THING\n(x);\n",
	       "function_or_virtual_thunk_symbol");
	/* Linux's syscall definitions give the syscall's name */
	EXPECT("s.c", "SYSCALL_DEFINE3(read, unsigned int, fd, char __user *, buf, size_t, count)\n{\n}\n", "read");
	/* a function-like macro loop inside a body is not at column 0 */
	EXPECT("l.c", "void f(void)\n{\n\tlist_for_each(p, h) {\n\t}\n}\n", "f");
}

static void test_scripting(void **state)
{
	(void)state;
	EXPECT("m.py", "import os\n\nclass Parser:\n    def parse(self):\n        pass\n\nasync def main():\n    x = f()\n",
	       "Parser parse main");
	EXPECT("m.go", "package x\n\nfunc Open(name string) error {\n}\n\nfunc (f *File) Close() error {\n}\n"
	               "type Reader interface {\n}\nvar ErrX = errors.New(\"x\")\n",
	       "Open Close Reader ErrX");
	EXPECT("m.rs", "pub(crate) fn parse_args() {}\npub struct Config {}\nimpl Config {\n    pub async fn load() {}\n}\n"
	               "macro_rules! my_macro {}\nconst LIMIT: usize = 3;\npub unsafe auto trait Send {}\n",
	       "parse_args Config load my_macro LIMIT Send");
	EXPECT("m.ts", "export function render() {}\nexport default class View {\n  update(x) {\n    if (x) {\n    }\n  }\n}\n"
	               "const handler = () => 1;\ninterface Props {}\n",
	       "render View update handler Props");
	/* assigned functions and object literals' methods (not "module.exports =" nor plain values) */
	EXPECT("p.js", "Volume.prototype.readFileSync = function (file) {\n};\nexports.parse = (s) => s;\n"
	               "module.exports = function () {};\nFoo.prototype = {};\nthis.cache = null;\n"
	               "var rt = {\n  abrupt: function (type, arg) {\n  },\n  next: async function () {},\n"
	               "  value: 3,\n  *entries() {\n  },\n};\n",
	       "readFileSync parse rt abrupt next entries");
	/* methods: parameters over lines, a return type, a body on the line; calls and callbacks are not */
	EXPECT("c.ts", "class Q {\n  dispose(v, k) {}\n  attach() { } // no-op\n  async load(\n    url: string,\n"
	               "  ): Promise<void> {\n  }\n  run() {\n    each(list, function (x) {\n    });\n"
	               "    wait(a,\n      b)\n    if (a) {\n    }\n  }\n}\n",
	       "Q dispose attach load run");
	/* TypeScript's declarations: types are defined there, functions and classes in the .js */
	EXPECT("index.d.ts", "export declare function parse(s: string): Node;\ndeclare class Scope {\n"
	                     "  walk(n: Node): void;\n}\nexport interface Node {}\ntype Kind = string;\n",
	       "Node Kind");
	EXPECT("m.ts", "declare function hook(): void;\nexport function run() {}\n", "run");
	EXPECT("m.sh", "#!/bin/sh\nusage() {\n  echo\n}\nfunction cleanup {\n}\n", "usage cleanup");
	/* a script without an extension, by its #! line */
	EXPECT("bin/tool", "#!/usr/bin/env bash\nmain() {\n}\n", "main");
	EXPECT("m.rb", "module Util\n  class Runner\n    def self.start!\n    end\n  end\nend\n", "Util Runner start!");
}

static void test_java(void **state)
{
	(void)state;
	EXPECT("A.java",
	       "package p;\n"
	       "@Deprecated\n"
	       "public final class Cache<K, V> extends Base {\n"
	       "    private final Map<K, V> map = new HashMap<>();\n"
	       "    public Cache(int size) {\n"
	       "        super(size);\n"
	       "    }\n"
	       "    public <T> List<T> lookup(K key)\n"
	       "            throws IOException {\n"
	       "        return compute(key);\n"
	       "    }\n"
	       "    abstract void evict(K key);\n"
	       "}\n",
	       "Cache Cache lookup");
	EXPECT("K.kt", "fun main() {}\nclass Box<T>(val v: T)\nfun String.shout(): String = this\n", "main Box shout");
}

static void test_markdown(void **state)
{
	(void)state;
	EXPECT("README.md", "# Getting started ##\ntext\n```\n# not a heading\n```\nInstall\n=======\n#nospace\n",
	       "Getting started Install");
}

static void test_other(void **state)
{
	(void)state;
	/* no known language: nothing, whatever the text */
	EXPECT("notes.txt", "def f():\n", "");
	EXPECT("Makefile", "all: f\n", "");
	/* a declaration running on past the look-ahead is not a definition */
	size_t n = 5000;
	char *big = malloc(n + 64);
	assert_non_null(big);
	strcpy(big, "int f(");
	memset(big + 6, 'x', n);
	strcpy(big + 6 + n, ")\n{\n}\n");
	EXPECT("big.c", big, "");
	free(big);
	/* truncated input ends cleanly */
	EXPECT("cut.c", "int f(int a", "");
	EXPECT("cut.py", "def", "");
}

/* The def field's two terms for a name: whole and lowercased always, as
 * written too when its case is mixed (a query typed so prefers it). */
static void test_terms(void **state)
{
	(void)state;
	char t[XIHU_MAX_TERM];
	size_t n = defs_whole_term("WhileStatement", 14, t);
	assert_int_equal(n, 15);
	assert_memory_equal(t, "~whilestatement", 15);
	n = defs_exact_term("WhileStatement", 14, t);
	assert_int_equal(n, 15);
	assert_memory_equal(t, "^WhileStatement", 15);
	assert_int_equal(defs_exact_term("whileStatement", 14, t), 15);
	assert_memory_equal(t, "^whileStatement", 15);
	assert_int_equal(defs_exact_term("Poll", 4, t), 5);
	/* one case only: the whole term says it all */
	assert_int_equal(defs_exact_term("spin_lock", 9, t), 0);
	assert_int_equal(defs_exact_term("MAX_ORDER", 9, t), 0);
	assert_int_equal(defs_exact_term("x86_64", 6, t), 0);
	/* not an identifier: neither term */
	assert_int_equal(defs_exact_term("Foo-Bar", 7, t), 0);
	assert_int_equal(defs_exact_term("9Lives", 6, t), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_c),        cmocka_unit_test(test_scripting), cmocka_unit_test(test_java),
		cmocka_unit_test(test_markdown), cmocka_unit_test(test_other),   cmocka_unit_test(test_terms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
