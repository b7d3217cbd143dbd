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
;; - `xihu-xref-mode' adds an xref backend, so that M-? (references), M-.
;;   (definitions: the same search, as xihu knows words, not definitions)
;;   and C-M-. (apropos, the pattern being a xihu query) search through xihu.
;;   Turn it on where you want it, e.g.
;;     (add-hook 'prog-mode-hook #'xihu-xref-mode)
;;
;; xihu runs in `default-directory', and prints the paths of files under it
;; relative to it.  The query language is described in xihu's docs/QUERY.md:
;; words ANDed, OR, -word, "phrase", pre*, path:GLOB, ext:c.

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

(defconst xihu--line-regexp
  "^\\(.+?\\):\\([0-9]+\\):\\([0-9]+\\):\\(.*\\)"
  "A line of `xihu search --vimgrep': path, line, byte column, text.")

(defun xihu--args (format query)
  "The arguments of `xihu search' printing FORMAT for QUERY.
QUERY is one word after `--': xihu joins its words with spaces, and
no word after `--' is an option."
  (append (list "search" format "-n" (number-to-string xihu-max-results))
          (and xihu-socket (list "--socket" (expand-file-name xihu-socket)))
          (list "--" query)))

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
  "Major mode for the *xihu* buffer of `xihu-search'.
It is `grep-mode', but reads xihu's path:line:column: lines: grep-mode
takes no column from them.  Columns count characters, not screen
columns, so that a tab before a match counts as one."
  (setq-local compilation-error-regexp-alist
              `((,xihu--line-regexp 1 2 xihu--compilation-column)))
  (setq-local compilation-error-screen-columns nil)
  ;; grep-mode counts from 0 (grep-first-column); xihu counts from 1
  (setq-local compilation-first-column 1))

(defun xihu--default-query ()
  "The symbol at point, or nil."
  (thing-at-point 'symbol t))

;;;###autoload
(defun xihu-search (query)
  "Search for QUERY with xihu and list the matching lines in *xihu*.
Interactively, prompt for QUERY, defaulting to the symbol at point.
The buffer is in `xihu-mode', a `grep-mode': RET or \\[next-error]
visits a match at its line and column.  Returns the buffer."
  (interactive
   (let ((default (xihu--default-query)))
     (list (read-string (if default
                            (format "xihu search (default %s): " default)
                          "xihu search: ")
                        nil 'xihu-history default))))
  (when (string-match-p "\\`[ \t\n]*\\'" query)
    (user-error "xihu: empty query"))
  (let ((coding-system-for-read 'utf-8))
    (compilation-start
     (mapconcat #'shell-quote-argument
                (cons xihu-program (xihu--args "--vimgrep" query)) " ")
     #'xihu-mode
     (lambda (_mode) "*xihu*"))))

;;; The xref backend

(defun xihu--run (format query)
  "Run `xihu search' printing FORMAT for QUERY; return its output lines.
Runs in `default-directory' and waits.  nil when nothing matched;
a `user-error' with xihu's one-line message when it failed."
  (let ((errfile (make-temp-file "xihu-stderr"))
        (coding-system-for-read 'utf-8))
    (unwind-protect
        (with-temp-buffer
          (let ((status
                 (condition-case e
                     (apply #'process-file xihu-program nil (list t errfile) nil
                            (xihu--args format query))
                   (file-error
                    (user-error "xihu: %s: %s" xihu-program
                                (error-message-string e))))))
            (cond
             ((eql status 0) (split-string (buffer-string) "\n" t))
             ((eql status 1) nil)
             (t (user-error "%s" (xihu--error-line errfile query status))))))
      (delete-file errfile))))

(defun xihu--error-line (errfile query status)
  "The first line xihu wrote to ERRFILE, or a line naming QUERY and STATUS."
  (let ((lines (with-temp-buffer
                 (insert-file-contents errfile)
                 (split-string (buffer-string) "\n" t))))
    (or (car lines) (format "xihu: %s: exited with status %s" query status))))

(defun xihu--xrefs (query)
  "The matching lines of QUERY as xref items, best document first."
  (let ((dir default-directory))
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
