"""Summarise a py-spy raw (folded) profile: the functions with the most samples, inclusive and self.

py-spy record -r 200 -f raw -o prof.raw -- python -m runner apply m.yaml --yes
python benchmarks/profile_top.py prof.raw [--top 25] [--match runner/]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::\d+)?\)$")


def frames(stack: str) -> list[str]:
    """`func (file:line)` frames of one folded stack, as `file:func` (the line dropped, threads kept apart)."""
    out = []
    for frame in stack.split(";"):
        found = _FRAME.match(frame.strip())
        if found:
            path = found["file"]
            short = "/".join(path.split("/")[-2:])
            out.append(f"{short}:{found['func']}")
        else:
            out.append(frame.strip())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("raw")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", default="", help="only frames whose file:func contains this")
    args = parser.parse_args()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in Path(args.raw).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        seen = frames(stack)
        for name in set(seen):
            if args.match in name:
                inclusive[name] += n
        if seen and args.match in seen[-1]:
            own[seen[-1]] += n
    print(f"{total} samples")
    print("inclusive:")
    for name, n in inclusive.most_common(args.top):
        print(f"  {100 * n / total:5.1f}%  {name}")
    print("self:")
    for name, n in own.most_common(args.top):
        print(f"  {100 * n / total:5.1f}%  {name}")


if __name__ == "__main__":
    main()
