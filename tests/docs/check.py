#!/usr/bin/python3
"""check.py: the man pages and shell completions against the programs.

  check.py render PAGE          groff reads PAGE with every warning on and
                                says nothing
  check.py man PAGE PROGRAM     PAGE's OPTIONS against PROGRAM's --help:
                                every option of the help is an option of
                                the page, and every option of the page is
                                accepted by the program
  check.py complete SHELL FILE  the completion (bash, fish: a file; zsh: the
                                directory holding _xihu) offers the commands
                                and every option of the three programs'
                                --help, and the values of a few options

PROGRAM is xihu, xihu-index or xihud; the binaries come from the
environment (XIHU_BIN, XIHU_INDEX_BIN, XIHUD_BIN, as for tests/e2e), and
the option lists from running them, so neither side can drift silently.
Prints what it checked; exits 1 on the first kind of mismatch it finds.
"""
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BIN_ENV = {'xihu': 'XIHU_BIN', 'xihu-index': 'XIHU_INDEX_BIN', 'xihud': 'XIHUD_BIN'}
NOWHERE = '/nonexistent/xihu-docs-test'
# a value each placeholder of a man page's OPTIONS stands for, valid for
# the option that takes it (the probe below must pass)
VALUES = {'N': '3', 'K': '0', 'WHEN': 'auto', 'ORDER': 'path', 'PATH': NOWHERE, 'DIR': NOWHERE,
          'FILE': NOWHERE, 'BYTES': '4096', 'SECS': '5', 'MS': '100', 'US': '10',
          'LEVEL': 'info', 'LANG': 'english', 'X': '1.2', 'Y': '0.75', 'PATTERN': 'foo',
          'GLOB': '*.c'}


def die(msg):
    print('FAIL: ' + msg)
    sys.exit(1)


def binary(prog):
    path = os.environ.get(BIN_ENV[prog])
    if not path or not os.access(path, os.X_OK):
        die('%s: not executable; set %s to the built %s' % (path, BIN_ENV[prog], prog))
    return path


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, **kw)


# ---- the programs' help --------------------------------------------------

def help_text(prog, cmd=None):
    argv = [binary(prog)] + ([cmd] if cmd else []) + ['--help']
    r = run(argv)
    if r.returncode != 0 or not r.stdout.startswith('usage:'):
        die('%s: exit %d, not a usage text' % (' '.join(argv[1:]), r.returncode))
    return r.stdout


def help_options(text):
    """The options a help text names: those of the usage line ([--opt ...])
    and those of the option table (lines indented and starting with '-';
    a short option only as the first word there)."""
    opts = set()
    for line in text.splitlines():
        if line.startswith('usage:'):
            opts |= set(re.findall(r'\[(--?[A-Za-z][A-Za-z0-9-]*)', line))
        elif re.match(r' +-', line):
            m = re.match(r' +(-[A-Za-z0-9])(?=[, ]|$)', line)
            if m:
                opts.add(m.group(1))
            opts |= set(re.findall(r'(?<![\w-])(--[a-z][a-z0-9-]*)', line))
    return opts


def commands():
    """xihu's commands: the table after "Commands:" in xihu --help."""
    text = help_text('xihu')
    block = text.split('\nCommands:\n', 1)
    if len(block) < 2:
        die('xihu --help: no "Commands:" table')
    cmds = re.findall(r'^  ([a-z]+)\b', block[1].split('\n\n', 1)[0], re.M)
    if not cmds:
        die('xihu --help: no command in its "Commands:" table')
    return cmds


def program_options(prog):
    """{where: options}: where is None for the program's own --help, else
    the xihu command whose help it is."""
    helps = {None: help_options(help_text(prog))}
    if prog == 'xihu':
        for c in commands():
            helps[c] = help_options(help_text(prog, c))
    for where, opts in helps.items():
        if not opts:
            die('%s%s --help: no option found in it (has its layout changed?)' %
                (prog, ' ' + where if where else ''))
    return helps


# ---- man pages -----------------------------------------------------------

ALTERNATING = {'BR', 'RB', 'BI', 'IB', 'IR', 'RI'}


def roff_args(s):
    """A macro's arguments: words split at spaces, "quoted" ones whole."""
    return [m.group(2) if m.group(1) is None else m.group(1).replace('""', '"')
            for m in re.finditer(r'"((?:[^"]|"")*)"?|(\S+)', s)]


def roff_text(line):
    """The text of one roff line: a font macro's arguments (alternating
    ones joined without spaces), escapes resolved."""
    if line.startswith('.'):
        name, _, args = line[1:].partition(' ')
        line = ('' if name in ALTERNATING else ' ').join(roff_args(args))
    line = re.sub(r'\\f[BIRP]|\\f\(..|\\&', '', line)
    return (line.replace('\\-', '-').replace('\\(dq', '"').replace('\\(aq', "'")
            .replace('\\e', '\\'))


def page_sections(path):
    """{section name: [lines]} of a man page (roff source)."""
    sections, name = {}, None
    with open(path, encoding='utf-8') as f:
        for line in f.read().splitlines():
            if line.startswith('.SH'):
                name = roff_text('.B' + line[3:]).strip()
                sections[name] = []
            elif name:
                sections[name].append(line)
    return sections


def tags(lines):
    """(subsection, tag text) of each .TP/.TQ entry of a section."""
    out, sub, i = [], '', 0
    while i < len(lines):
        line = lines[i]
        if line.startswith('.SS'):
            sub = roff_text('.B' + line[3:]).strip()
        elif re.match(r'\.T[PQ]\b', line) and i + 1 < len(lines):
            i += 1
            out.append((sub, roff_text(lines[i]).strip()))
        i += 1
    return out


def tag_options(tag):
    """"-m, --max-count N" -> [('-m', 'N'), ('--max-count', 'N')]: the
    options of a tag, each with its value's placeholder (or None)."""
    items = []
    for alt in tag.split(', '):
        parts = alt.split()
        if not parts or not parts[0].startswith('-') or len(parts) > 2:
            return None
        items.append([parts[0], parts[1] if len(parts) == 2 else None])
    value = items[-1][1]
    for it in items:
        it[1] = it[1] or value
    return [tuple(it) for it in items]


def accepted(prog, where, opt, value):
    """Whether the program takes opt (with value): for xihu search, it is
    consumed as an option (what is left is an empty query); elsewhere,
    parsing goes on to the --help after it."""
    argv = [binary(prog)]
    args = [opt] + ([VALUES[value]] if value else [])
    if where == 'search':
        argv += ['search', '--no-autostart', '--socket', NOWHERE] + args
        r = run(argv)
        return 'no query given' in r.stderr or (r.returncode == 0 and r.stdout.startswith('usage:'))
    if where == 'grep':
        r = run(argv + ['grep', '--no-autostart', '--socket', NOWHERE] + args + ['--help'])
        return r.returncode == 0 and r.stdout.startswith('usage:')
    r = run(argv + args + ['--help'])
    return r.returncode == 0


def check_man(page, prog):
    sections = page_sections(page)
    for s in ('NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'EXIT STATUS', 'ENVIRONMENT', 'FILES',
              'EXAMPLES', 'SEE ALSO'):
        if s not in sections:
            die('%s: no %s section' % (page, s))
    entries = []  # (option, subsection, placeholder), as the page has them
    for sub, tag in tags(sections['OPTIONS']):
        opts = tag_options(tag)
        if opts is None:
            die('%s: OPTIONS: "%s" is not an option (write "-x, --long VALUE")' % (page, tag))
        for opt, value in opts:
            if value and value not in VALUES:
                die('%s: OPTIONS: %s %s: no test value for %s (add one to VALUES in %s)' %
                    (page, opt, value, value, __file__))
            entries.append((opt, sub, value))
    documented = {opt for opt, _, _ in entries}
    if not documented:
        die('%s: OPTIONS lists no option' % page)

    # help -> page
    helps = program_options(prog)
    all_help = {o for opts in helps.values() for o in opts}
    missing = sorted(all_help - documented)
    if missing:
        die('%s: OPTIONS lacks %s, which %s --help lists' % (page, ' '.join(missing), prog))
    print('ok: %s documents the %d options of %s --help%s' %
          (page, len(all_help), prog,
           ' and of each command\'s' if prog == 'xihu' else ''))

    # xihu's commands -> COMMANDS
    if prog == 'xihu':
        if 'COMMANDS' not in sections:
            die('%s: no COMMANDS section' % page)
        have = {t.split()[0] for _, t in tags(sections['COMMANDS']) if t}
        missing = [c for c in commands() if c not in have]
        if missing:
            die('%s: COMMANDS lacks %s' % (page, ' '.join(missing)))
        print('ok: %s describes the commands %s' % (page, ' '.join(commands())))

    # page -> program: the probe must be able to say no
    def where_of(sub):
        for cmd in ('search', 'grep'):
            if prog == 'xihu' and cmd in sub.lower():
                return cmd
        return None
    for where in {where_of(sub) for _, sub, _ in entries}:
        if accepted(prog, where, '--no-such-option', None):
            die('%s%s takes --no-such-option: this check cannot tell' %
                (prog, ' ' + where if where else ''))
    # getopt_long takes "--fore" for --foreground: the page must not
    abbreviated = [o for o in documented if o not in all_help and o.startswith('--') and
                   any(h.startswith(o) for h in all_help)]
    if abbreviated:
        die('%s: OPTIONS documents %s, abbreviations of what %s --help lists' %
            (page, ' '.join(sorted(abbreviated)), prog))
    rejected = ['%s%s%s' % (where_of(sub) + ' ' if where_of(sub) else '', opt, ' ' + VALUES[v] if v else '')
                for opt, sub, v in entries if not accepted(prog, where_of(sub), opt, v)]
    if rejected:
        die('%s: OPTIONS documents %s, which %s does not accept' % (page, ', '.join(rejected), prog))
    print('ok: %s accepts the %d options %s documents, where it documents them' %
          (prog, len(entries), page))


def check_render(page):
    r = run(['groff', '-man', '-ww', '-z', page])
    if r.returncode != 0 or r.stdout or r.stderr:
        die('groff -man -ww -z %s (exit %d):\n%s%s' % (page, r.returncode, r.stdout, r.stderr))
    env = dict(os.environ, MANWIDTH='80')
    r = run(['man', '--warnings', '-E', 'UTF-8', '-l', page], env=env)
    if r.returncode != 0 or r.stderr or len(r.stdout) < 500:
        die('man --warnings -l %s (exit %d, %d bytes):\n%s' %
            (page, r.returncode, len(r.stdout), r.stderr))
    print('ok: %s renders without a warning (%d bytes of text)' % (page, len(r.stdout)))


# ---- completions ---------------------------------------------------------

def completion_cases():
    """[(command line, words it must offer)]: the values of a few options,
    then every command and option of the --help texts."""
    cases = [('xihu sea', ['search']),
             ('xihu search --col', ['--color', '--colour']),
             ('xihu search --color ', ['always', 'auto', 'never']),
             ('xihu search --sort ', ['score', 'path']),
             ('xihu --socket /tmp/s st', ['status', 'stop']),
             ('xihud --log-level ', ['error', 'warning', 'info', 'debug']),
             ('xihu-index --', ['--index']),
             ('xihu-index --stem ', ['english', 'french', 'porter']),
             ('xihu ', commands())]
    for prog in ('xihu', 'xihu-index', 'xihud'):
        for where, opts in program_options(prog).items():
            line = prog + (' ' + where if where else '') + ' -'
            cases.append((line, sorted(opts)))
    return cases


def offered_fish(path, line, home):
    files = [os.path.join(os.path.dirname(path), f)
             for f in ('xihu.fish', 'xihu-index.fish', 'xihud.fish')]
    script = 'for f in $argv[2..-1]; source $f; or exit 3; end; complete -C $argv[1]'
    env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=home, XDG_DATA_HOME=home)
    r = run(['fish', '--no-config', '-c', script, line] + files, env=env)
    if r.returncode != 0 or r.stderr:
        die('fish: %s: exit %d: %s' % (line, r.returncode, r.stderr.strip()))
    return {l.split('\t', 1)[0] for l in r.stdout.splitlines()}


def check_complete(shell, path):
    cases = completion_cases()
    if shell == 'fish':
        failed = False
        with tempfile.TemporaryDirectory() as home:
            for line, want in cases:
                got = offered_fish(path, line, home)
                missing = [w for w in want if w not in got]
                if missing:
                    print("FAIL: '%s<TAB>' does not offer: %s (it offers: %s)" %
                          (line, ' '.join(missing), ' '.join(sorted(got))))
                    failed = True
                else:
                    print("ok: '%s<TAB>' offers %s" % (line, ' '.join(want)))
        sys.exit(1 if failed else 0)
    stdin = ''.join('%s\t%s\n' % (line, ' '.join(want)) for line, want in cases)
    if shell == 'bash':
        argv = ['bash', '--norc', '--noprofile', os.path.join(HERE, 'bash_complete.sh'), path]
    elif shell == 'zsh':
        argv = ['zsh', '-f', os.path.join(HERE, 'zsh_complete.zsh'), path]
    else:
        die('%s: not a shell this checks (bash, fish, zsh)' % shell)
    r = subprocess.run(argv, input=stdin, text=True, timeout=120)
    sys.exit(1 if r.returncode else 0)


def main(argv):
    if len(argv) == 3 and argv[1] == 'render':
        check_render(argv[2])
    elif len(argv) == 4 and argv[1] == 'man' and argv[3] in BIN_ENV:
        check_man(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == 'complete':
        check_complete(argv[2], argv[3])
    else:
        die('usage: check.py render PAGE | man PAGE PROGRAM | complete SHELL FILE')


if __name__ == '__main__':
    main(sys.argv)
