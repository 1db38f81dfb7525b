#!/usr/bin/env python3
"""Move the schema steps written as C strings into .sql files.

    scripts/migrations-to-sql.py [NAME ...]

A branch may add a schema step as a C string at the end of migrations[] in
src/libport25/registry/registry.c (before its NULL); it runs after the
compiled-in .sql files, as the next version.  This moves every such entry,
in order, into src/libport25/storage/schema/sqlite/NNNN-NAME.sql (numbered
after the last file; NAME from the arguments, one per entry, else
"migration"), its leading /* comment */ kept as "--" lines, and leaves
migrations[] as {NULL}.  The schema versions do not change: entry k was
version files+k and its file is numbered files+k.
"""
import glob
import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REGISTRY = os.path.join(TOP, "src/libport25/registry/registry.c")
SCHEMA = os.path.join(TOP, "src/libport25/storage/schema/sqlite")

ARRAY = re.compile(r"(static const char \*const migrations\[\] = \{)(.*?)(\};)", re.S)
TOKEN = re.compile(r'/\*.*?\*/|"(?:[^"\\]|\\.)*"|,|NULL', re.S)


def unescape(lit):
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), lit)


def entries(body):
    """(comment lines, SQL text) per entry, up to NULL."""
    out, comment, parts = [], [], []
    for tok in TOKEN.findall(body):
        if tok == "NULL":
            break
        if tok.startswith("/*"):
            if not parts:
                lines = [l.strip().lstrip("*").strip() for l in tok[2:-2].splitlines()]
                comment += [l for l in lines if l]
        elif tok == ",":
            if parts:
                out.append((comment, "".join(parts)))
            comment, parts = [], []
        else:
            parts.append(unescape(tok[1:-1]))
    if parts:
        out.append((comment, "".join(parts)))
    return out


def main():
    src = open(REGISTRY).read()
    m = ARRAY.search(src)
    if not m:
        sys.exit("migrations-to-sql: no migrations[] array in " + REGISTRY)
    found = entries(m.group(2))
    if not found:
        print("migrations-to-sql: migrations[] holds no step; nothing to do")
        return
    names = sys.argv[1:]
    have = len(glob.glob(os.path.join(SCHEMA, "[0-9][0-9][0-9][0-9]-*.sql")))
    for k, (comment, sql) in enumerate(found):
        name = re.sub(r"[^a-z0-9-]+", "-", (names[k] if k < len(names) else "migration").lower())
        path = os.path.join(SCHEMA, "%04d-%s.sql" % (have + k + 1, name))
        # One statement a line: the C strings were written without newlines.
        text = re.sub(r";\s*(?=\S)", ";\n", sql.strip())
        with open(path, "w") as f:
            for line in comment:
                f.write("-- " + re.sub(r"^\d+: ", "", line) + "\n")
            f.write(text + ("\n" if not text.endswith("\n") else ""))
        print("wrote " + os.path.relpath(path, TOP))
    src = src[: m.start(2)] + "NULL" + src[m.end(2):]
    open(REGISTRY, "w").write(src)
    print("migrations[] is {NULL} again; run make, and the tests of migration")


if __name__ == "__main__":
    main()
