;;; emacs_test.el --- drives xihu.el in Emacs batch mode  -*- lexical-binding: t; -*-

;; Run by tests/editors/editors.sh in the tree it built, with xihu loaded;
;; writes what it got into $XIHU_TEST_OUT/*.txt for editors.sh to compare.
;; Locations are written path:line:column:text, the column counted in
;; characters from 0 as Emacs does.  Every wait is bounded (5 s).

(require 'xihu)

(setq xihu-program (getenv "XIHU_BIN"))

(defvar xt-tree default-directory)

(defun xt-out (name lines)
  "Write LINES (strings) to the file NAME in $XIHU_TEST_OUT."
  (with-temp-file (expand-file-name name (getenv "XIHU_TEST_OUT"))
    (dolist (l lines)
      (insert l "\n"))))

(defun xt-wait (buf)
  "Wait for the search in the compilation buffer BUF to end; return BUF."
  (let ((n 0))
    (while (and (get-buffer-process buf) (< n 500))
      (accept-process-output (get-buffer-process buf) 0.01)
      (setq n (1+ n)))
    buf))

(defun xt-search (query)
  "Run `xihu-search' for QUERY and wait for it; return the *xihu* buffer."
  (xt-wait (xihu-search query)))

(defun xt-last-message ()
  "The last line of *Messages*, without the count of a repeated one."
  (with-current-buffer (messages-buffer)
    (replace-regexp-in-string " \\[[0-9]+ times\\]\\'" ""
                              (car (last (split-string (buffer-string) "\n" t))))))

(defun xt-listed (buf)
  "The matches listed in the compilation buffer BUF, path:line:column:text,
the path from the tree's top, the column xihu's."
  (with-current-buffer buf
    (save-excursion
      (goto-char (point-min))
      (let ((lines nil))
        (while (re-search-forward xihu--line-regexp nil t)
          (push (format "%s:%s:%s:%s"
                        (file-relative-name (expand-file-name (match-string 1)) xt-tree)
                        (match-string 2) (match-string 3) (match-string 4))
                lines))
        (nreverse lines)))))

(defun xt-here ()
  "Where the selected window's point is: path:line:column."
  (with-current-buffer (window-buffer)
    (save-excursion
      (goto-char (window-point))
      (format "%s:%d:%d" (file-relative-name buffer-file-name xt-tree)
              (line-number-at-pos) (- (point) (line-beginning-position))))))

;; M-x xihu-search, then next-error through every match
(let ((buf (xt-search "kangaroo"))
      (visited nil))
  (with-current-buffer buf
    (goto-char (point-min)))
  (condition-case nil
      (progn
        (next-error 1 t)
        (push (xt-here) visited)
        (dotimes (_ 20)
          (next-error 1)
          (push (xt-here) visited)))
    (user-error nil))
  (xt-out "visited.txt" (nreverse visited)))

;; a failed search shows xihu's line, and how it exited
(with-current-buffer (xt-search "\"unclosed")
  (goto-char (point-min))
  (xt-out "search_error.txt"
          (list (if (re-search-forward "^xihu: .*" nil t) (match-string 0) "no xihu: line")
                (if (re-search-forward "exited abnormally with code [0-9]+" nil t)
                    (match-string 0)
                  "no exit line"))))

;; the xref backend
(defun xt-xrefs (items)
  (mapcar (lambda (x)
            (let ((l (xref-item-location x)))
              (format "%s:%d:%d:%s"
                      (file-relative-name (xref-file-location-file l) xt-tree)
                      (xref-file-location-line l) (xref-file-location-column l)
                      (xref-item-summary x))))
          items))

(xt-out "references.txt" (xt-xrefs (xref-backend-references 'xihu "kangaroo")))
(xt-out "definitions.txt" (xt-xrefs (xref-backend-definitions 'xihu "kangaroo_count")))
(xt-out "apropos.txt" (xt-xrefs (xref-backend-apropos 'xihu "wombat OR marsupial")))
(xt-out "nomatch.txt" (list (format "%S" (xref-backend-references 'xihu "nothingness"))))
(xt-out "error_msg.txt"
        (list (condition-case e
                  (progn (xref-backend-apropos 'xihu "\"unclosed") "no error")
                (user-error (error-message-string e)))))

;; xihu-xref-mode makes xihu the buffer's backend; the identifier is the
;; symbol at point
(with-current-buffer (find-file-noselect (expand-file-name "src/main.c" xt-tree))
  (xihu-xref-mode 1)
  (goto-char (point-min))
  (forward-line 2)
  (forward-char 10)
  (xt-out "identifier.txt"
          (list (format "%s %s" (xref-find-backend)
                        (xref-backend-identifier-at-point (xref-find-backend))))))

;; xihu-grep in a subdirectory of a project (proj/, with its .git): every
;; match under the project's root, none outside; next-error visits them
(let ((default-directory (expand-file-name "proj/drivers/" xt-tree)))
  (let ((buf (xt-wait (xihu-grep "spin_lock"))))
    (xt-out "grep.txt" (xt-listed buf))
    (xt-out "grep_dir.txt" (list (file-relative-name (buffer-local-value 'default-directory buf)
                                                     xt-tree)))
    (with-current-buffer buf
      (goto-char (point-min)))
    (next-error 1 t)
    (xt-out "grep_visit.txt" (list (xt-here))))
  ;; options before the pattern
  (xt-out "grep_flags.txt" (xt-listed (xt-wait (xihu-grep "-i -g *.h lock"))))
  ;; xihu's error: its line is the message
  (xt-wait (xihu-grep "(unclosed"))
  (xt-out "grep_error_msg.txt" (list (xt-last-message)))
  (xt-out "grep_usage.txt"
          (list (condition-case e (progn (xihu-grep "-l spin") "no error")
                  (user-error (error-message-string e)))))
  ;; the word search and the xref backend keep to the project too: koala
  ;; is also in other/
  (xt-out "koala.txt" (xt-listed (xt-search "koala")))
  (xt-out "koala_xref.txt" (xt-xrefs (xref-backend-references 'xihu "koala")))
  ;; more files than xihu-max-results (100): 100 listed, and a message
  (let ((listed (xt-listed (xt-search "spin_lock"))))
    (xt-out "more.txt" (list (format "%d %s" (xihu--files listed) (xt-last-message)))))
  (let ((xrefs (xref-backend-references 'xihu "spin_lock")))
    (xt-out "more_xref.txt"
            (list (format "%d %s" (length (delete-dups
                                           (mapcar (lambda (x)
                                                     (xref-file-location-file (xref-item-location x)))
                                                   xrefs)))
                          (xt-last-message))))))
