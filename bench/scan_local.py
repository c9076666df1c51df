"""Micro-benchmark: files/s of the local source's iter_tree against a raw os.walk + lstat of the same tree.

    .venv/bin/python bench/scan_local.py                      # builds 200 dirs x 100 files in a temp dir
    .venv/bin/python bench/scan_local.py --root /some/tree    # measures an existing tree (read only)

Prints both rates and their ratio; asserts nothing. Each side runs --repeat times and keeps its best,
alternating, so the page cache is warm for both.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lz_ingest.sources.filters import ScanOptions  # noqa: E402
from lz_ingest.sources.local import iter_tree  # noqa: E402


def build_tree(root: str, directories: int, files_per_directory: int) -> None:
    for d in range(directories):
        directory = os.path.join(root, f"d{d // 20:03}", f"d{d:05}")
        os.makedirs(directory)
        for f in range(files_per_directory):
            with open(os.path.join(directory, f"f{f:05}.dat"), "wb") as stream:
                stream.write(b"x" * (f % 64))


def raw_walk(root: str) -> int:
    count = 0
    for directory, _, names in os.walk(root):
        for name in names:
            os.lstat(os.path.join(directory, name))
            count += 1
    return count


def lz_walk(root: str) -> int:
    options = ScanOptions()
    return sum(len(listing.entries) for listing in iter_tree(root, options))


def best_rate(walker: Callable[[str], int], root: str) -> tuple[float, int]:
    start = time.perf_counter()
    files = walker(root)
    return files / (time.perf_counter() - start), files


def measure(root: str, repeat: int) -> None:
    raw_best = lz_best = 0.0
    files = 0
    for _ in range(repeat):
        raw_rate, files = best_rate(raw_walk, root)
        lz_rate, lz_files = best_rate(lz_walk, root)
        if lz_files != files:
            print(f"warning: iter_tree saw {lz_files} files, os.walk {files}", file=sys.stderr)
        raw_best, lz_best = max(raw_best, raw_rate), max(lz_best, lz_rate)
    print(f"tree: {root} ({files} files)")
    print(f"os.walk + lstat : {raw_best:12,.0f} files/s")
    print(f"iter_tree       : {lz_best:12,.0f} files/s")
    print(f"ratio iter_tree / raw: {lz_best / raw_best:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", help="an existing tree to measure (default: build one in a temp dir)")
    parser.add_argument("--directories", type=int, default=200)
    parser.add_argument("--files-per-directory", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if args.root:
        measure(args.root, args.repeat)
        return
    root = tempfile.mkdtemp(prefix="lz-bench-scan-")
    try:
        build_tree(root, args.directories, args.files_per_directory)
        measure(root, args.repeat)
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
