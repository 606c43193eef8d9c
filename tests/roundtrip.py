#!/usr/bin/env python3
"""Round-trip check of the text format over every .dlc file in the repository.

For every .dlc file under examples/ and tests/ that is meant to be valid IR, asserts that
`dlc verify` accepts it and that printing is a fixed point:
`dlc print f | dlc print -` == `dlc print f`. Files that split with `// -----` are
checked chunk by chunk. Skipped: files that expect diagnostics (`expected-error`,
`expected-note`, `expected-warning`), whose RUN lines expect dlc to fail (`not`), or that
say `roundtrip: skip` in a comment (inputs that are invalid on purpose).

Usage: roundtrip.py --dlc build/tools/dlc --root .
Run by tests/lit/roundtrip.test.
"""
import argparse
import os
import re
import subprocess
import sys

SEARCH_DIRS = ["examples", "tests"]
EXPECTS_DIAGNOSTICS = re.compile(r"expected-(error|note|warning)")
EXPECTS_FAILURE = re.compile(r"RUN:.*\bnot\b|roundtrip: skip")
SEPARATOR = re.compile(r"^// -----[ \t\r]*$")


def dlc_files(root):
    for top in SEARCH_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "build")))
            for name in sorted(filenames):
                if name.endswith(".dlc"):
                    yield os.path.join(dirpath, name)


def split_chunks(text):
    """Splits at `// -----` lines like --split-input-file: each chunk is padded with blank
    lines so that diagnostics give the line numbers of the whole file."""
    chunks, current, lines_before = [], [], 0
    for line in text.splitlines(keepends=True):
        if SEPARATOR.match(line):
            chunks.append("".join(current))
            lines_before = len(current) + 1
            current = ["\n"] * lines_before
        else:
            current.append(line)
    chunks.append("".join(current))
    return chunks


def run(dlc, args, text):
    return subprocess.run([dlc] + args, input=text, capture_output=True, timeout=120)


def check_chunk(dlc, text):
    """Returns a list of problems with one chunk of IR text (bytes)."""
    verified = run(dlc, ["verify", "-"], text)
    if verified.returncode != 0:
        return ["`dlc verify` failed:\n" + verified.stderr.decode(errors="replace")]
    first = run(dlc, ["print", "-"], text)
    if first.returncode != 0:
        return ["`dlc print` failed:\n" + first.stderr.decode(errors="replace")]
    second = run(dlc, ["print", "-"], first.stdout)
    if second.returncode != 0:
        return ["printed text does not parse:\n" + second.stderr.decode(errors="replace")]
    if second.stdout != first.stdout:
        return ["printing is not a fixed point:\n--- first\n%s--- second\n%s"
                % (first.stdout.decode(errors="replace"), second.stdout.decode(errors="replace"))]
    return []


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dlc", required=True, help="path of the dlc binary")
    parser.add_argument("--root", required=True, help="repository root")
    args = parser.parse_args()

    checked, skipped, failures = 0, 0, []
    for path in dlc_files(args.root):
        with open(path, "rb") as f:
            data = f.read()
        text = data.decode(errors="replace")
        if EXPECTS_DIAGNOSTICS.search(text) or EXPECTS_FAILURE.search(text):
            skipped += 1
            continue
        for chunk in split_chunks(text):
            for problem in check_chunk(args.dlc, chunk.encode()):
                failures.append("%s: %s" % (os.path.relpath(path, args.root), problem))
        checked += 1

    for failure in failures:
        print("FAIL: " + failure, file=sys.stderr)
    print("round trip: %d files checked, %d skipped (they expect errors), %d failures"
          % (checked, skipped, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
