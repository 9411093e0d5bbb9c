"""How fast `commit` can turn an upper dir into a layer: pack_layer(dir, None, copy_to=...)
(hash the canonical tar and copy the directory in one pass) against the physical floor
`tar -C dir -cf - . | sha256sum`, measured on the same 100 MB of random data in the same run.

    .venv/bin/python bench/bench_layer_pack.py [--runs 7] [--megabytes 100] [--files 1]
                                               [--dir /var/tmp]

Prints both medians and the ratio (target: at most 1.2). With many files the copy is bound by
the file system's cost of creating files, which the tar floor does not pay, so a third line
gives `cp -a` of the same tree as the floor for that part.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from runtime.image.layer_pack import pack_layer


def make_upper(directory: str, megabytes: int, files: int) -> None:
    """Random data (so nothing compresses or dedups), split over `files` files."""
    per_file = megabytes * (1 << 20) // files
    os.makedirs(os.path.join(directory, "data"))
    for index in range(files):
        name = "data.bin" if files == 1 else f"data/{index:05d}.bin"
        with open(os.path.join(directory, name), "wb") as out:
            remaining = per_file
            while remaining:
                chunk = os.urandom(min(remaining, 1 << 20))
                out.write(chunk)
                remaining -= len(chunk)
    os.sync()


def time_pack(source: str, scratch: str) -> float:
    copy = tempfile.mkdtemp(dir=scratch, prefix="copy-")
    try:
        started = time.perf_counter()
        pack_layer(source, None, copy_to=copy)
        return time.perf_counter() - started
    finally:
        shutil.rmtree(copy)


def time_tar(source: str) -> float:
    started = time.perf_counter()
    subprocess.run(["sh", "-c", 'tar -C "$1" -cf - . | sha256sum >/dev/null', "sh", source],
                   check=True)
    return time.perf_counter() - started


def time_cp(source: str, scratch: str) -> float:
    copy = os.path.join(scratch, "cp-copy")
    try:
        started = time.perf_counter()
        subprocess.run(["cp", "-a", source, copy], check=True)
        return time.perf_counter() - started
    finally:
        shutil.rmtree(copy)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--files", type=int, default=1)
    parser.add_argument("--dir", default=None, help="where the temporary data goes")
    args = parser.parse_args()

    scratch = tempfile.mkdtemp(dir=args.dir, prefix="bench-layer-pack-")
    try:
        source = os.path.join(scratch, "upper")
        make_upper(source, args.megabytes, args.files)
        time_pack(source, scratch)      # warm the page cache and the code paths
        time_tar(source)
        packs, tars, copies = [], [], []
        for _ in range(args.runs):      # interleaved, so all see the same conditions
            packs.append(time_pack(source, scratch))
            tars.append(time_tar(source))
            copies.append(time_cp(source, scratch))
        pack_ms = statistics.median(packs) * 1000
        tar_ms = statistics.median(tars) * 1000
        cp_ms = statistics.median(copies) * 1000
        print(f"data: {args.megabytes} MB in {args.files} file(s), {args.runs} runs each")
        print(f"pack_layer(dir, None, copy_to=tmp)  median {pack_ms:7.1f} ms")
        print(f"tar -C dir -cf - . | sha256sum      median {tar_ms:7.1f} ms")
        print(f"cp -a dir copy (file creation floor) median {cp_ms:7.1f} ms")
        print(f"ratio to tar|sha256sum {pack_ms / tar_ms:.2f} (target <= 1.20), "
              f"to cp -a {pack_ms / cp_ms:.2f}")
    finally:
        shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
