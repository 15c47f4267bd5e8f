"""Code size per crate of unstripped binaries, from their symbol table (`nm -S -C`): each
function's size is counted for the first path segment of its demangled name (`<Type as Trait>`
impls for Type's crate, or the trait's when Type is generic), aws-lc's C functions together.
Generic code instantiated for another crate's types counts for the generic's crate. Only .text
(t/T symbols); rodata and relocations are not in it.

Usage: size_breakdown.py BINARY...
"""

import re
import subprocess
import sys
from collections import Counter

TOP = 14


def crate_of(name: str) -> str:
    name = name.strip()
    if name.startswith("aws_lc_") or name.startswith("AWS_LC_"):
        return "aws-lc (C, via aws-lc-rs)"
    impl = re.match(r"<(.+?) as ([A-Za-z_][A-Za-z0-9_]*)::", name)
    if impl:
        # "<aws_sdk_ssm::X as core::fmt::Debug>::fmt": the type's crate; "<&T as …>": the trait's
        self_type = impl.group(1).lstrip("&*").replace("mut ", "").replace("const ", "")
        own = re.match(r"([A-Za-z_][A-Za-z0-9_]*)::", self_type)
        return own.group(1) if own else impl.group(2)
    match = re.match(r"<?([A-Za-z_][A-Za-z0-9_]*)::", name)
    if match:
        return match.group(1)
    return "[C, asm, unnamed]"


def breakdown(binary: str) -> tuple[Counter, int]:
    out = subprocess.run(["nm", "-S", "--size-sort", "-C", binary], check=True,
                         capture_output=True, text=True).stdout
    sizes: Counter = Counter()
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if len(parts) != 4 or parts[2] not in ("t", "T"):
            continue
        sizes[crate_of(parts[3])] += int(parts[1], 16)
    return sizes, sum(sizes.values())


for binary in sys.argv[1:]:
    sizes, total = breakdown(binary)
    print(f"\n{binary}: .text in symbols {total / 1e6:.2f} MB")
    print("| crate | KB | share |")
    print("| --- | --- | --- |")
    for crate, size in sizes.most_common(TOP):
        print(f"| {crate} | {size / 1e3:.0f} | {100 * size / total:.1f} % |")
    rest = total - sum(size for _, size in sizes.most_common(TOP))
    print(f"| (rest) | {rest / 1e3:.0f} | {100 * rest / total:.1f} % |")
