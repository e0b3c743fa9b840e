#!/usr/bin/env python3
"""The code's shape, checked by `make test`: no import circle between the
modules of a crate, no source file over 600 lines, no function over 60 lines
outside tests. Run from anywhere: `python3 infra/scripts/structure.py`."""

import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
CRATES = [
    "shared/rules", "shared/adapters", "functions/webhook", "functions/contacts",
    "functions/send", "functions/settings", "functions/report", "infra/local",
    "infra/admin", "tests",
]
MAX_FILE_LINES = 600
MAX_FN_LINES = 60


def sources(crate):
    """(path, text) of every Rust file of a crate (src/ and tests/)."""
    for sub in ("src", "tests"):
        base = os.path.join(ROOT, crate, sub)
        for dirpath, _, files in os.walk(base):
            for f in sorted(files):
                if f.endswith(".rs"):
                    path = os.path.join(dirpath, f)
                    with open(path, encoding="utf-8") as fh:
                        yield path, fh.read()


def module_of(src, path):
    """The module path of a file under `src/` (`main.rs` apart from `lib.rs`)."""
    parts = os.path.relpath(path, src)[:-3].split(os.sep)
    if parts == ["main"]:
        return ("<main>",)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return tuple(parts)


def expand_use(tree):
    """`a::{b, c::{d}}` → [`a::b`, `a::c::d`]."""
    i = tree.find("{")
    if i < 0:
        return [tree]
    depth, j = 0, i
    for j in range(i, len(tree)):
        depth += {"{": 1, "}": -1}.get(tree[j], 0)
        if depth == 0:
            break
    prefix, inner = tree[:i], tree[i + 1:j]
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        cur += ch
    parts.append(cur)
    return [prefix + e for p in parts if p.strip() for e in expand_use(p.strip())]


def production(text):
    """The text before the test module, without line comments."""
    text = re.split(r"#\[cfg\(test\)\]", text)[0]
    return "\n".join(line.split("//")[0] for line in text.split("\n"))


def module_edges(crate):
    """Which module of the crate names which other, by `use` and by path."""
    src = os.path.join(ROOT, crate, "src")
    files = [(p, t) for p, t in sources(crate) if p.startswith(src + os.sep)
             and not p.endswith("tests.rs")]
    mods = {module_of(src, p): (p, t) for p, t in files}
    edges = {m: set() for m in mods}
    for m, (path, text) in mods.items():
        text = production(text)
        is_dir = path.endswith(("mod.rs", "lib.rs"))
        paths = [e for u in re.findall(r"\buse\s+([^;]+);", text)
                 for e in expand_use(re.sub(r"\s+", "", u))]
        paths += re.findall(r"\b((?:crate|super)(?:::\w+)+)", text)
        for p in paths:
            parts = [x for x in re.sub(r"\bas\b.*", "", p).split("::") if x]
            if not parts:
                continue
            if parts[0] == "crate":
                base, parts = (), parts[1:]
            elif parts[0] == "super":
                base = m
                while parts and parts[0] == "super":
                    base, parts = base[:-1], parts[1:]
            elif parts[0] == "self":
                base, parts = m, parts[1:]
            elif m + (parts[0],) in mods:
                base = m
            else:
                continue
            target = base
            for x in parts:
                if target + (x,) not in mods:
                    break
                target += (x,)
            if target != m and target in mods:
                edges[m].add(target)
        if is_dir:
            for child in mods:
                if (len(child) == len(m) + 1 and child[:len(m)] == m
                        and re.search(r"(?<![\w:])" + re.escape(child[-1]) + r"::", text)):
                    edges[m].add(child)
    return edges


def circles(edges):
    """The strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10_000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(group)

    for v in edges:
        if v not in index:
            visit(v)
    return out


def long_functions(path, text):
    """(name, lines) of each function over the limit, tests left out."""
    lines = production(text).split("\n")
    found, i = [], 0
    while i < len(lines):
        m = re.match(r"^(\s*)(pub(\([^)]*\))?\s+)?(async\s+)?(const\s+)?fn\s+(\w+)", lines[i])
        if m and not lines[i].rstrip().endswith(";"):
            indent, j = m.group(1), i + 1
            while j < len(lines) and lines[j].rstrip() != indent + "}":
                j += 1
            if j - i + 1 > MAX_FN_LINES:
                found.append((m.group(6), j - i + 1))
            i = j
        i += 1
    return found


def main():
    problems = []
    for crate in CRATES:
        if not os.path.isdir(os.path.join(ROOT, crate, "src")):
            continue
        for group in circles(module_edges(crate)):
            names = sorted("::".join(x) or "lib" for x in group)
            problems.append(f"{crate}: import circle between {', '.join(names)}")
        for path, text in sources(crate):
            rel = os.path.relpath(path, ROOT)
            count = text.count("\n")
            if count > MAX_FILE_LINES:
                problems.append(f"{rel}: {count} lines (at most {MAX_FILE_LINES})")
            in_tests = "/tests/" in rel or rel.endswith("tests.rs")
            if not in_tests:
                for name, n in long_functions(path, text):
                    problems.append(f"{rel}: fn {name} has {n} lines (at most {MAX_FN_LINES})")
    for p in problems:
        print(p)
    print(f"structure: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
