/*
 * test_walk.c: the tree walker (index/walk.c) on real temporary trees:
 * order, VCS directories, .gitignore/.ignore rules (and WALK_NO_IGNORE),
 * symlinks, a single-file root, a missing root and an unreadable
 * subdirectory; and the glob matcher against fnmatch(3).
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "input/input.h"

typedef struct fixture {
	char dir[256]; /* realpath of the temporary root */
} fixture;

/* Creates dir/rel with the given contents, making parent directories. */
static void put(const char *dir, const char *rel, const char *text)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s", dir, rel);
	for (char *s = p + strlen(dir) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		if (mkdir(p, 0755) < 0)
			assert_int_equal(errno, EEXIST);
		*s = '/';
	}
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void mkdirs(const char *dir, const char *rel)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s/.x", dir, rel);
	put(dir, p + strlen(dir) + 1, "");
	unlink(p);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	char tmpl[] = "/tmp/xihu-walk-XXXXXX";
	char real[PATH_MAX];
	if (!f || !mkdtemp(tmpl) || !realpath(tmpl, real) || strlen(real) >= sizeof f->dir)
		return -1;
	strcpy(f->dir, real);
	chmod(f->dir, 0755);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	char cmd[PATH_MAX + 32];
	snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s'; rm -rf '%s'", f->dir, f->dir);
	int rc = system(cmd);
	free(f);
	return rc == 0 ? 0 : -1;
}

/* Collects the paths relative to the root, one per line. */
typedef struct seen {
	const char *root;
	char list[8192];
	int n, stop_at;
} seen;

static int collect(void *ctx, const char *path, const struct stat *st)
{
	seen *s = ctx;
	size_t rl = strlen(s->root);
	/* absolute and normalized: under the root, no "//", "/./" or trailing '/' */
	if (strncmp(path, s->root, rl) != 0 || path[rl] != '/' || strstr(path, "//") ||
	    strstr(path, "/./") || strstr(path, "/../") || path[strlen(path) - 1] == '/' ||
	    !S_ISREG(st->st_mode))
		return -1;
	size_t len = strlen(s->list);
	snprintf(s->list + len, sizeof s->list - len, "%s\n", path + rl + 1);
	s->n++;
	return s->n == s->stop_at ? 42 : 0;
}

static void walk_expect_flags(const char *root, const char *rootpath, unsigned flags, const char *want)
{
	seen s = {.root = rootpath};
	xihu_err err = {0};
	int rc = walk_tree(root, flags, collect, &s, NULL, NULL, &err);
	if (rc)
		fail_msg("walk_tree: %d %s", rc, err.msg);
	assert_string_equal(s.list, want);
}

static void walk_expect(const char *root, const char *rootpath, const char *want)
{
	walk_expect_flags(root, rootpath, 0, want);
}

static void full_tree_order_vcs_and_nested_ignores(void **state)
{
	fixture *f = *state;
	const char *d = f->dir;
	put(d, ".gitignore", "# build products\n\n*.o\nbuild/\n/top.txt\n!keep.o\ndoc/**/gen\n");
	put(d, ".git/config", "x");
	put(d, ".git/objects/ab", "x");
	put(d, ".hg/store", "x");
	put(d, "sub/.svn/entries", "x");
	put(d, "sub/.git", "gitdir: elsewhere\n"); /* a worktree's .git file */
	put(d, "a.c", "x");
	put(d, "a/x.c", "x");
	put(d, "b.o", "x");
	put(d, "keep.o", "x");
	put(d, "top.txt", "x");
	put(d, "readme.md", "x");
	put(d, "build/f.c", "x");
	put(d, "doc/gen", "x");
	put(d, "doc/x/y/gen", "x");
	put(d, "doc/genx", "x");
	put(d, "sub/.gitignore", "!b.o\n");
	put(d, "sub/.ignore", "*.md\n");
	put(d, "sub/b.o", "x");
	put(d, "sub/c.o", "x");
	put(d, "sub/build", "x"); /* a file: "build/" is for directories */
	put(d, "sub/top.txt", "x"); /* "/top.txt" is anchored to the root */
	put(d, "sub/readme.md", "x");
	put(d, "sub/deeper/more.md", "x");
	mkdirs(d, "empty/dir");
	walk_expect(d, d,
	            ".gitignore\n"
	            "a.c\n" /* before a/x.c: '.' < '/' */
	            "a/x.c\n"
	            "doc/genx\n"
	            "keep.o\n"
	            "readme.md\n" /* sub/.ignore applies only below sub */
	            "sub/.gitignore\n"
	            "sub/.ignore\n"
	            "sub/b.o\n" /* re-included by the nested !b.o */
	            "sub/build\n"
	            "sub/top.txt\n");
}

/* WALK_NO_IGNORE: every ignore file is left unread, VCS dirs still skipped
 * (the Debian linux-source tree's top .gitignore ignores all of it). */
static void no_ignore_flag(void **state)
{
	fixture *f = *state;
	const char *d = f->dir;
	put(d, ".gitignore", "/*\n!/debian/\n");
	put(d, "debian/rules", "x");
	put(d, "kernel/.ignore", "*\n");
	put(d, "kernel/sched.c", "x");
	put(d, ".git/HEAD", "x");
	walk_expect(d, d, "debian/rules\n"); /* "/ *" ignores the .gitignore too */
	walk_expect_flags(d, d, WALK_NO_IGNORE, ".gitignore\ndebian/rules\nkernel/.ignore\nkernel/sched.c\n");
}

/* A .gitignore counts only inside a git work tree, as ripgrep has it: in a
 * directory holding a .git (dir or file), below one, or below a root whose
 * parents hold one; .ignore counts everywhere.  An unpacked tarball (the
 * Debian linux-source tree: its top .gitignore is "/ *" and "!" lines) is
 * walked whole.  walk_stats counts what the rules left out. */
static void gitignore_only_in_a_work_tree(void **state)
{
	fixture *f = *state;
	const char *d = f->dir;
	put(d, "tarball/.gitignore", "/*\n");
	put(d, "tarball/.ignore", "*.tmp\n");
	put(d, "tarball/a.c", "x");
	put(d, "tarball/b.tmp", "x");
	put(d, "tarball/repo/.git", "gitdir: elsewhere\n"); /* a nested work tree */
	put(d, "tarball/repo/.gitignore", "*.o\n");
	put(d, "tarball/repo/m.c", "x");
	put(d, "tarball/repo/m.o", "x");
	put(d, "tarball/repo/sub/n.o", "x");
	put(d, "tarball/repo/sub/.gitignore", "n.o\n.gitignore\n");
	char root[PATH_MAX + 16];
	snprintf(root, sizeof root, "%s/tarball", d);
	walk_expect(root, root, ".gitignore\n.ignore\na.c\nrepo/.gitignore\nrepo/m.c\n");
	/* walked from inside the repository, the root's own .gitignore counts:
	 * the work tree's .git is found in a parent of the root (the ignore
	 * files of the parents themselves are not read) */
	char sub[PATH_MAX + 32];
	snprintf(sub, sizeof sub, "%s/tarball/repo/sub", d);
	walk_expect(sub, sub, "");
	walk_stats ws;
	seen s = {.root = sub};
	xihu_err err = {0};
	assert_int_equal(walk_tree(sub, 0, collect, &s, NULL, &ws, &err), 0);
	assert_int_equal(ws.files, 0);
	assert_int_equal(ws.ignored, 2);
	char want[PATH_MAX + 64];
	snprintf(want, sizeof want, "%s/tarball/repo/sub/.gitignore", d);
	assert_string_equal(ws.first_rules, want);
	/* the tarball made a work tree: everything is ignored, and said so */
	put(d, "tarball/.git/HEAD", "x");
	walk_expect(root, root, "");
	s = (seen){.root = root};
	assert_int_equal(walk_tree(root, 0, collect, &s, NULL, &ws, &err), 0);
	assert_int_equal(ws.files, 0);
	assert_int_equal(ws.ignored, 5); /* .gitignore .ignore a.c b.tmp repo/ */
	snprintf(want, sizeof want, "%s/tarball/.gitignore", d);
	assert_string_equal(ws.first_rules, want);
}

/* The byte glob matcher agrees with fnmatch(3) (flags 0, C locale) on random
 * patterns and names over a small alphabet that hits every construct. */
static void glob_matches_like_fnmatch(void **state)
{
	(void)state;
	static const char *const pparts[] = {"a", "b", "*", "?", "[ab]", "[!a]", "[a-c]", "[]a]", "[", "\\*",
	                                     "\\a", ".", "**", "[^b]", "-", "]"};
	static const char palpha[] = "ab.*?[]-\\c";
	unsigned seed = 12345;
	char pat[64], name[16];
	for (int iter = 0; iter < 200000; iter++) {
		size_t pl = 0;
		int np = (int)(rand_r(&seed) % 5);
		pat[0] = '\0';
		for (int i = 0; i < np; i++) {
			const char *part = pparts[rand_r(&seed) % (sizeof pparts / sizeof *pparts)];
			size_t l = strlen(part);
			memcpy(pat + pl, part, l + 1);
			pl += l;
		}
		int nn = (int)(rand_r(&seed) % 6);
		for (int i = 0; i < nn; i++)
			name[i] = palpha[rand_r(&seed) % (sizeof palpha - 1)];
		name[nn] = '\0';
		bool want = fnmatch(pat, name, 0) == 0, got = walk_glob_match(pat, name);
		if (want != got)
			fail_msg("pattern [%s] name [%s]: fnmatch %d, walk_glob_match %d", pat, name, want, got);
	}
}

static void pattern_syntax(void **state)
{
	fixture *f = *state;
	const char *d = f->dir;
	put(d, ".git/HEAD", "x"); /* a work tree: its .gitignore counts */
	put(d, ".gitignore",
	    "?.q\n"
	    "[ab]*.r\n"
	    "**/deep.s\n"
	    "out/**\n"
	    "!out/keep\n"
	    "*.log\n"
	    "!important.log\n"
	    "!x.tmp\n"
	    "*.tmp\n"
	    "d/e/f.t\n"
	    "\\#hash\n"
	    "space.u   \r\n"
	    "[!m]n.v\n");
	const char *files[] = {"a.q", "ab.q", "a1.r", "c1.r", "deep.s", "d/e/deep.s", "out/keep",
	                       "out/drop", "z.log", "important.log", "x.tmp", "d/e/f.t",
	                       "x/d/e/f.t", "#hash", "space.u", "mn.v", "zn.v"};
	for (size_t i = 0; i < sizeof files / sizeof *files; i++)
		put(d, files[i], "x");
	walk_expect(d, d,
	            ".gitignore\n"
	            "ab.q\n"          /* ? is one character */
	            "c1.r\n"          /* [ab] */
	            "important.log\n" /* later rule wins */
	            "mn.v\n"          /* [!m] */
	            "out/keep\n"      /* out/<anything> matches inside out, not out */
	            "x/d/e/f.t\n");   /* d/e/f.t is anchored */
}

static void symlinks_are_not_followed(void **state)
{
	fixture *f = *state;
	char outside[PATH_MAX], p[PATH_MAX + 16];
	snprintf(outside, sizeof outside, "%s-outside", f->dir);
	put(f->dir, "in/real.c", "x");
	mkdir(outside, 0755);
	snprintf(p, sizeof p, "%s/secret.c", outside);
	FILE *o = fopen(p, "w");
	assert_non_null(o);
	fclose(o);
	snprintf(p, sizeof p, "%s/in/dirlink", f->dir);
	assert_int_equal(symlink(outside, p), 0);
	snprintf(p, sizeof p, "%s/in/filelink.c", f->dir);
	assert_int_equal(symlink("real.c", p), 0);
	snprintf(p, sizeof p, "%s/in/loop", f->dir);
	assert_int_equal(symlink("..", p), 0);
	walk_expect(f->dir, f->dir, "in/real.c\n");

	/* the root itself may be a link: it is resolved once */
	snprintf(p, sizeof p, "%s/rootlink", outside);
	char in[PATH_MAX + 8];
	snprintf(in, sizeof in, "%s/in", f->dir);
	assert_int_equal(symlink(in, p), 0);
	walk_expect(p, in, "real.c\n");

	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", outside);
	assert_int_equal(system(cmd), 0);
}

static void single_file_root(void **state)
{
	fixture *f = *state;
	put(f->dir, "dir/one.c", "x");
	put(f->dir, "dir/two.c", "x");
	char root[PATH_MAX + 32];
	snprintf(root, sizeof root, "%s//dir/./one.c", f->dir);
	walk_expect(root, f->dir, "dir/one.c\n");
	/* a directory root given with ./ and // is normalized too */
	snprintf(root, sizeof root, "%s/./dir//", f->dir);
	walk_expect(root, f->dir, "dir/one.c\ndir/two.c\n");
}

static void missing_root_is_eio(void **state)
{
	fixture *f = *state;
	char root[PATH_MAX + 32], msg[PATH_MAX + 64];
	snprintf(root, sizeof root, "%s/nope", f->dir);
	seen s = {.root = f->dir};
	xihu_err err = {0};
	assert_int_equal(walk_tree(root, 0, collect, &s, NULL, NULL, &err), XIHU_EIO);
	assert_int_equal(err.code, XIHU_EIO);
	snprintf(msg, sizeof msg, "%s: No such file or directory", root);
	assert_string_equal(err.msg, msg);
	assert_int_equal(s.n, 0);
}

static void callback_stops_the_walk(void **state)
{
	fixture *f = *state;
	put(f->dir, "a", "x");
	put(f->dir, "b/c", "x");
	put(f->dir, "d", "x");
	seen s = {.root = f->dir, .stop_at = 2};
	xihu_err err = {0};
	assert_int_equal(walk_tree(f->dir, 0, collect, &s, NULL, NULL, &err), 42);
	assert_string_equal(s.list, "a\nb/c\n");
}

/* The walk of an unreadable subdirectory, run as an unprivileged user when we
 * are root (root reads everything).  Returns 0 when all was as expected. */
static int unreadable_check(const char *dir)
{
	char *warnbuf = NULL;
	size_t warnlen = 0;
	FILE *warn = open_memstream(&warnbuf, &warnlen);
	seen s = {.root = dir};
	xihu_err err = {0};
	int rc = walk_tree(dir, 0, collect, &s, warn, NULL, &err);
	fclose(warn);
	char want[PATH_MAX + 64];
	snprintf(want, sizeof want, "xihu-index: %s/locked: Permission denied (skipped)\n", dir);
	int ok = rc == 0 && strcmp(s.list, "a.c\nz.c\n") == 0 && strcmp(warnbuf, want) == 0;
	if (!ok)
		fprintf(stderr, "rc=%d list=[%s] warn=[%s]\n", rc, s.list, warnbuf);
	free(warnbuf);
	return ok ? 0 : 1;
}

static void unreadable_directory_warns_and_skips(void **state)
{
	fixture *f = *state;
	put(f->dir, "a.c", "x");
	put(f->dir, "locked/secret.c", "x");
	put(f->dir, "z.c", "x");
	char p[PATH_MAX + 16];
	snprintf(p, sizeof p, "%s/locked", f->dir);
	assert_int_equal(chmod(p, 0), 0);
	if (geteuid() != 0) {
		assert_int_equal(unreadable_check(f->dir), 0);
		return;
	}
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		_exit(unreadable_check(f->dir));
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(full_tree_order_vcs_and_nested_ignores, setup, teardown),
		cmocka_unit_test_setup_teardown(pattern_syntax, setup, teardown),
		cmocka_unit_test_setup_teardown(no_ignore_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(gitignore_only_in_a_work_tree, setup, teardown),
		cmocka_unit_test(glob_matches_like_fnmatch),
		cmocka_unit_test_setup_teardown(symlinks_are_not_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(single_file_root, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_root_is_eio, setup, teardown),
		cmocka_unit_test_setup_teardown(callback_stops_the_walk, setup, teardown),
		cmocka_unit_test_setup_teardown(unreadable_directory_warns_and_skips, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
