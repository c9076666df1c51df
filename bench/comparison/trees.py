"""Source trees for the comparison: many small files, a few large ones, and a change set."""

from __future__ import annotations

import hashlib
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

SETTLE_S = 3.0  # lz-ingest waits for files changed within --settle-seconds (2): let every tree settle first
CHUNK = 1 << 20


@dataclass
class Tree:
    """A source tree and when it was last written (both tools must see settled files)."""

    root: Path
    files: int
    written_at: float

    def settle(self) -> None:
        wait = self.written_at + SETTLE_S - time.time()
        if wait > 0:
            time.sleep(wait)

    def paths(self) -> list[Path]:
        return sorted(Path(d) / n for d, _, names in os.walk(self.root) for n in names)


def small_file_path(root: Path, index: int, per_dir: int) -> Path:
    directory = index // per_dir
    return root / f"g{directory // 20:03}" / f"d{directory:05}" / f"f{index % per_dir:04}.dat"


def build_small(root: Path, files: int, per_dir: int = 100, seed: int = 1) -> Tree:
    """`files` files of 200-599 bytes, `per_dir` per directory, 20 directories per parent."""
    rng = random.Random(seed)
    blob = rng.randbytes(4096)
    for i in range(files):
        path = small_file_path(root, i, per_dir)
        if i % per_dir == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
        size = 200 + (i * 37) % 400
        start = (i * 131) % (len(blob) - size)
        path.write_bytes(f"{i:08}".encode() + blob[start : start + size - 8])
    return Tree(root, files, time.time())


def build_large(root: Path, count: int, mib: int, seed: int = 2) -> Tree:
    """`count` files of `mib` MiB each, distinct contents (a random block with a per-file header)."""
    root.mkdir(parents=True, exist_ok=True)
    block = random.Random(seed).randbytes(CHUNK)
    for i in range(count):
        with open(root / f"large{i:03}.bin", "wb") as out:
            for chunk in range(mib):
                out.write(f"{i:06}:{chunk:06}".encode() + block[13:])
    return Tree(root, count, time.time())


def mutate(tree: Tree, modify: float, delete: float, seed: int = 3) -> tuple[list[Path], list[Path]]:
    """Append to a `modify` share of the files (their size changes) and delete a `delete` share."""
    paths = tree.paths()
    rng = random.Random(seed)
    rng.shuffle(paths)
    n_mod, n_del = round(len(paths) * modify), round(len(paths) * delete)
    modified, deleted = paths[:n_mod], paths[n_mod : n_mod + n_del]
    for path in modified:
        with open(path, "ab") as out:
            out.write(b"changed\n")
    for path in deleted:
        path.unlink()
    tree.files -= n_del
    tree.written_at = time.time()
    return modified, deleted


def sha256_file(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def tree_bytes(tree: Tree) -> int:
    return sum(p.stat().st_size for p in tree.paths())
