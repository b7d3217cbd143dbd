;;; xihu.el --- Search with the xihu full-text search daemon  -*- lexical-binding: t; -*-

;; Copyright (C) the xihu authors
;; SPDX-License-Identifier: MIT

;; Author: the xihu authors
;; Version: 0.1.0
;; Package-Requires: ((emacs "27.1"))
;; Keywords: matching, tools

;; This file is not part of GNU Emacs.

;;; Commentary:

;; xihu answers keyword searches over local files from an index kept by
;; a daemon (xihud).  This package asks it through the `xihu' command:
;;
;; - M-x xihu-search prompts for a query (default: the symbol at point) and
;;   lists the matching lines in a *xihu* buffer, a `grep-mode' buffer where
;;   RET and `next-error' visit each match at its line and column.
;; - M-x xihu-grep is exact search (`xihu grep', ripgrep's patterns and
;;   options): every matching line, in a *xihu grep* buffer of the same kind.
;; - `xihu-xref-mode' adds an xref backend, so that M-? (references), M-.
;;   (definitions: the same search, as xihu knows words, not definitions)
;;   and C-M-. (apropos, the pattern being a xihu query) search through xihu.
;;   Turn it on where you want it, e.g.
;;     (add-hook 'prog-mode-hook #'xihu-xref-mode)
;;
;; Every search covers the project: the nearest directory holding .git from
;; `default-directory' up, else `default-directory' (`xihu-root').  xihu
;; runs there, so a grep searches that tree (xihu grep without a PATH
;; searches its current directory, as rg does) and prints the paths
;; relative to it; a word search, answered from the whole index, gets a
;; path: filter for the root's files.  The query language is described in
;; xihu's docs/QUERY.md: words ANDed, OR, -word, "phrase", pre*, path:GLOB,
;; ext:c.

;;; Code:

(require 'cl-lib)
(require 'compile)
(require 'grep)
(require 'xref)

(defgroup xihu nil
  "Search with the xihu full-text search daemon."
  :group 'tools
  :prefix "xihu-")

(defcustom xihu-program "xihu"
  "The xihu command-line client."
  :type 'string)

(defcustom xihu-max-results 100
  "How many documents (hits) a search lists at most, xihu's -n."
  :type 'natnum)

(defcustom xihu-socket nil
  "The daemon's socket, or nil for xihu's default (env XIHU_SOCKET)."
  :type '(choice (const :tag "xihu's default" nil) file))

(defvar xihu-history nil
  "Queries given to `xihu-search'.")

(defvar xihu-grep-history nil
  "Options and patterns given to `xihu-grep'.")

(defconst xihu--line-regexp
  "^\\(.+?\\):\\([0-9]+\\):\\([0-9]+\\):\\(.*\\)"
  "A line of `xihu search --vimgrep': path, line, byte column, text.")

(defun xihu-root ()
  "The project root the searches cover, a directory name (ending in /).
The nearest directory holding .git (a directory, or the file of a
worktree or submodule) from `default-directory' up, else
`default-directory'."
  (expand-file-name (or (locate-dominating-file default-directory ".git")
                        default-directory)))

(defun xihu--path-filter (root)
  "The query filter keeping the files under the directory ROOT, or nil.
path:ROOT/*, ROOT with its symbolic links resolved (the index holds real
paths) and the glob's special characters escaped; nil for / (every
file) and for a ROOT that a query word cannot hold (white space, a
parenthesis or a double quote)."
  (let ((dir (directory-file-name (file-truename root))))
    (unless (or (equal dir "/") (string-match-p "[[:space:]()\"]" dir))
      (concat "path:" (replace-regexp-in-string "[][\\*?]" "\\\\\\&" dir) "/*"))))

(defun xihu--socket-args ()
  "xihu's --socket option for `xihu-socket', or nil."
  (and xihu-socket (list "--socket" (expand-file-name xihu-socket))))

(defun xihu--args (format query root)
  "The arguments of `xihu search' printing FORMAT for QUERY under ROOT.
FORMAT is --vimgrep (at most `xihu-max-results' files) or --count.
QUERY is one word after `--': xihu joins its words with spaces, and
no word after `--' is an option.  The path: filter for ROOT goes last, so
the columns of xihu's syntax errors are the query's own (AND binds
loosest: \"a OR b path:X\" is \"(a OR b) AND path:X\")."
  (let ((filter (xihu--path-filter root)))
    (append (list "search" format)
            (and (not (equal format "--count"))
                 (list "-n" (number-to-string xihu-max-results)))
            (xihu--socket-args)
            (list "--" (if filter (concat query " " filter) query)))))

(defun xihu--more-note (query root files)
  "A note when QUERY under ROOT matches more files than the FILES listed.
A listing of `xihu-max-results' files may not be all: --vimgrep does not
say, so then `xihu search --count' (run in ROOT, waited for) tells.  The
note, \"xihu: showing 100 of 151 files (xihu-max-results)\", or nil."
  (when (>= files xihu-max-results)
    (let* ((default-directory root)
           (total (with-temp-buffer
                    (and (eql 0 (ignore-errors
                                  (apply #'process-file xihu-program nil (list t nil) nil
                                         (xihu--args "--count" query root))))
                         (string-to-number (buffer-string))))))
      (and total (> total files)
           (format "xihu: showing %d of %d files (xihu-max-results)" files total)))))

(defun xihu--files (lines)
  "How many files LINES of `xihu search --vimgrep' output name."
  (let ((seen (make-hash-table :test #'equal)))
    (dolist (l lines)
      (when (string-match xihu--line-regexp l)
        (puthash (match-string 1 l) t seen)))
    (hash-table-count seen)))

(defun xihu--quote (word)
  "WORD as a xihu query matching just it: a quoted phrase.
Quoting keeps a leading `-', a trailing `*' or an upper-case OR a
plain word; a double quote separates tokens as a space does."
  (concat "\"" (replace-regexp-in-string "\"" " " word) "\""))

(defun xihu--char-column (text byte-column)
  "The 0-based character column in TEXT of the 1-based BYTE-COLUMN.
xihu counts columns in bytes of UTF-8, Emacs in characters."
  (let* ((bytes (encode-coding-string text 'utf-8 t))
         (n (max 0 (min (1- byte-column) (length bytes)))))
    (length (decode-coding-string (substring bytes 0 n) 'utf-8 t))))

;;; M-x xihu-search: a grep-mode buffer

(defun xihu--compilation-column ()
  "The 1-based character column of the match `xihu--line-regexp' found.
For `compilation-error-regexp-alist'."
  (1+ (xihu--char-column (match-string-no-properties 4)
                         (string-to-number (match-string-no-properties 3)))))

(define-derived-mode xihu-mode grep-mode "Xihu"
  "Major mode for the buffers of `xihu-search' and `xihu-grep'.
It is `grep-mode', but reads xihu's path:line:column: lines: grep-mode
takes no column from them.  Columns count characters, not screen
columns, so that a tab before a match counts as one.  When xihu ends,
the line it wrote on stderr, if any, is also the echo area's message."
  (setq-local compilation-error-regexp-alist
              `((,xihu--line-regexp 1 2 xihu--compilation-column)))
  (setq-local compilation-error-screen-columns nil)
  ;; grep-mode counts from 0 (grep-first-column); xihu counts from 1
  (setq-local compilation-first-column 1)
  (add-hook 'compilation-finish-functions #'xihu--finish nil t))

(defvar-local xihu--query nil
  "The query of the `xihu-search' in this buffer, nil for `xihu-grep'.")
(put 'xihu--query 'permanent-local t) ; kept when \[recompile] runs the mode again

(defun xihu--finish (buffer how)
  "Say in one message what there is to say of xihu's answer in BUFFER.
Called when xihu ends; HOW is compilation's word on it (\"exited
abnormally with code 2\").  xihu's own lines start with \"xihu: \" (a
failure): the first is the message, saying the list is incomplete when
xihu failed (exit 2) after listing matches.  Else, for `xihu-search',
`xihu--more-note'."
  (with-current-buffer buffer
    (save-excursion
      (goto-char (point-min))
      (let ((line (and (re-search-forward "^xihu: .*" nil t)
                       (match-string-no-properties 0)))
            (listed nil))
        (goto-char (point-min))
        (while (re-search-forward xihu--line-regexp nil t)
          (push (match-string-no-properties 0) listed))
        (cond
         (line
          (message "%s" (if (and (string-match-p "code 2\\b" how) listed)
                            (format "%s (the list is incomplete: %d lines)" line (length listed))
                          line)))
         ((and xihu--query (string-match-p "\\`finished" how))
          (let ((note (xihu--more-note xihu--query default-directory (xihu--files listed))))
            (when note
              (message "%s" note)))))))))

(defun xihu--default-query ()
  "The symbol at point, or nil."
  (thing-at-point 'symbol t))

;;;###autoload
(defun xihu-search (query)
  "Search for QUERY with xihu and list the matching lines in *xihu*.
Interactively, prompt for QUERY, defaulting to the symbol at point.
The files are those under the project root (`xihu-root'), at most
`xihu-max-results' of them, the best first; when xihu found more it says
so.  The buffer is in `xihu-mode', a `grep-mode': RET or \\[next-error]
visits a match at its line and column.  Returns the buffer."
  (interactive
   (let ((default (xihu--default-query)))
     (list (read-string (if default
                            (format "xihu search (default %s): " default)
                          "xihu search: ")
                        nil 'xihu-history default))))
  (when (string-match-p "\\`[ \t\n]*\\'" query)
    (user-error "xihu: empty query"))
  (let* ((default-directory (xihu-root))
         (coding-system-for-read 'utf-8)
         (buf (compilation-start
               (mapconcat #'shell-quote-argument
                          (cons xihu-program (xihu--args "--vimgrep" query default-directory))
                          " ")
               #'xihu-mode
               (lambda (_mode) "*xihu*"))))
    (with-current-buffer buf
      (setq xihu--query query))
    buf))

;;; M-x xihu-grep: exact search

(defconst xihu--grep-value-short "emCABg"
  "xihu grep's short options taking a value (the rest of their word, or the next).")

(defconst xihu--grep-value-long
  '("--regexp" "--max-count" "--context" "--after-context" "--before-context"
    "--glob" "--color" "--socket" "--index")
  "xihu grep's long options taking a value (after =, or the next word).")

(defconst xihu--grep-not-lines-short "lcqh"
  "xihu grep's short options that print no lines to list.")

(defconst xihu--grep-not-lines-long
  '("--files-with-matches" "--count" "--quiet" "--json" "--vimgrep" "--help")
  "xihu grep's long options that print no lines to list.")

(defun xihu--grep-option (word)
  "What the option WORD of `xihu-grep' is: a plist.
:value t when the next word is its value, :pattern t when it gives a
pattern (-e), :error the option when it is refused."
  (if (string-prefix-p "--" word)
      (let ((name (car (split-string word "="))))
        (if (member name xihu--grep-not-lines-long)
            (list :error name)
          (list :value (and (equal name word) (member name xihu--grep-value-long) t)
                :pattern (equal name "--regexp"))))
    (let ((i 1) (result nil))
      (while (and (not result) (< i (length word)))
        (let ((c (aref word i)))
          (cond ((memq c (string-to-list xihu--grep-not-lines-short))
                 (setq result (list :error (string ?- c))))
                ((memq c (string-to-list xihu--grep-value-short))
                 (setq result (list :value (= i (1- (length word))) :pattern (eq c ?e))))))
        (setq i (1+ i)))
      result)))

(defun xihu--grep-args (args)
  "The arguments of xihu grep after --vimgrep for `xihu-grep' ARGS.
Leading words starting with - are options, a value being the rest of
the word or the next word, -- ending them; the rest of ARGS, spaces and
all, is the pattern, passed as -e REST (it may be empty when -e gave
one).  A `user-error' for a refused option or no pattern."
  (let ((rest (string-trim args))
        (opts nil)
        (patterns nil))
    (catch 'done
      (while (string-prefix-p "-" rest)
        (string-match "\\`\\(\\S-+\\)\\s-*" rest)
        (let ((word (match-string 1 rest)))
          (setq rest (substring rest (match-end 0)))
          (when (equal word "--")
            (throw 'done nil))
          (let ((o (xihu--grep-option word)))
            (when (plist-get o :error)
              (user-error "xihu: xihu-grep lists matching lines; %s is not for it"
                          (plist-get o :error)))
            (when (plist-get o :pattern)
              (setq patterns t))
            (push word opts)
            (when (plist-get o :value)
              (unless (string-match "\\`\\(\\S-+\\)\\s-*" rest)
                (user-error "xihu: %s needs a value" word))
              (push (match-string 1 rest) opts)
              (setq rest (substring rest (match-end 0))))))))
    (cond ((not (equal rest "")) (setq opts (append (list rest "-e") opts)))
          ((not patterns) (user-error "xihu: no pattern")))
    (nreverse opts)))

;;;###autoload
(defun xihu-grep (args)
  "Exact search with xihu grep: list every matching line in *xihu grep*.
ARGS is \"[OPTION]... PATTERN\": leading words starting with - are
xihu grep's options, those of ripgrep (-F fixed strings, -i, -S smart
case, -w, -e PATTERN, -m N, -C N, -g GLOB...), a value being the rest
of the word or the next word, and -- ends them; the rest of ARGS,
spaces and all, is the pattern (a regex unless -F).  Interactively,
prompt for ARGS, defaulting to the symbol at point.
The search covers the project root (`xihu-root'), every match with no
cap, in path order.  The buffer is in `xihu-mode', a `grep-mode': RET
or \\[next-error] visits a match at its line and column; when xihu fails,
its line is the echo area's message.  Returns the buffer."
  (interactive
   (let ((default (xihu--default-query)))
     (list (read-string (if default
                            (format "xihu grep (default %s): " default)
                          "xihu grep: ")
                        nil 'xihu-grep-history default))))
  (let* ((opts (xihu--grep-args args))
         (default-directory (xihu-root))
         (coding-system-for-read 'utf-8))
    (compilation-start
     (mapconcat #'shell-quote-argument
                (cons xihu-program (append '("grep" "--vimgrep") (xihu--socket-args) opts))
                " ")
     #'xihu-mode
     (lambda (_mode) "*xihu grep*"))))

;;; The xref backend

(defun xihu--run (format query)
  "Run `xihu search' printing FORMAT for QUERY; return its output lines.
Runs in `default-directory', which should be the project root, and
waits; searches the files under it.  nil when nothing matched; a
`user-error' with xihu's one-line message when it failed.  A line xihu
wrote beside its answer, or `xihu--more-note', becomes the echo area's
message."
  (let ((errfile (make-temp-file "xihu-stderr"))
        (coding-system-for-read 'utf-8))
    (unwind-protect
        (with-temp-buffer
          (let ((status
                 (condition-case e
                     (apply #'process-file xihu-program nil (list t errfile) nil
                            (xihu--args format query default-directory))
                   (file-error
                    (user-error "xihu: %s: %s" xihu-program
                                (error-message-string e))))))
            (cond
             ((eql status 0)
              (let* ((lines (split-string (buffer-string) "\n" t))
                     (note (or (xihu--error-line errfile nil nil)
                               (xihu--more-note query default-directory
                                                (xihu--files lines)))))
                (when note
                  (message "%s" note))
                lines))
             ((eql status 1) nil)
             (t (user-error "%s" (xihu--error-line errfile query status))))))
      (delete-file errfile))))

(defun xihu--error-line (errfile query status)
  "The first line xihu wrote to ERRFILE, or a line naming QUERY and STATUS.
nil when xihu wrote nothing and STATUS is nil."
  (let ((lines (with-temp-buffer
                 (insert-file-contents errfile)
                 (split-string (buffer-string) "\n" t))))
    (or (car lines)
        (and status (format "xihu: %s: exited with status %s" query status)))))

(defun xihu--xrefs (query)
  "The matching lines of QUERY as xref items, best document first.
The files are those under the project root (`xihu-root')."
  (let* ((dir (xihu-root))
         (default-directory dir))
    (delq nil
          (mapcar
           (lambda (line)
             (when (string-match xihu--line-regexp line)
               (let ((text (match-string 4 line)))
                 (xref-make
                  text
                  (xref-make-file-location
                   (expand-file-name (match-string 1 line) dir)
                   (string-to-number (match-string 2 line))
                   (xihu--char-column
                    text (string-to-number (match-string 3 line))))))))
           (xihu--run "--vimgrep" query)))))

;;;###autoload
(defun xihu-xref-backend ()
  "The xihu backend for `xref-backend-functions'."
  'xihu)

(cl-defmethod xref-backend-identifier-at-point ((_backend (eql xihu)))
  (xihu--default-query))

(cl-defmethod xref-backend-identifier-completion-table ((_backend (eql xihu)))
  nil)

(cl-defmethod xref-backend-references ((_backend (eql xihu)) identifier)
  (xihu--xrefs (xihu--quote identifier)))

(cl-defmethod xref-backend-definitions ((_backend (eql xihu)) identifier)
  "xihu knows words, not definitions: the lines where IDENTIFIER is."
  (xihu--xrefs (xihu--quote identifier)))

(cl-defmethod xref-backend-apropos ((_backend (eql xihu)) pattern)
  "PATTERN is a xihu query, passed as it is."
  (xihu--xrefs pattern))

;;;###autoload
(define-minor-mode xihu-xref-mode
  "Find references, definitions and apropos matches with xihu (xref)."
  :lighter nil
  (if xihu-xref-mode
      (add-hook 'xref-backend-functions #'xihu-xref-backend nil t)
    (remove-hook 'xref-backend-functions #'xihu-xref-backend t)))

(provide 'xihu)
;;; xihu.el ends here
