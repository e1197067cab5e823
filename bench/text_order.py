#!/usr/bin/env python3
"""Which functions of the steward binary a running daemon has touched, for the linker's
symbol ordering file (crates/cli/text-order.txt; bench/analysis.md, "Resident code").

    python3 bench/text_order.py record BIN -- CMD...   run CMD (which starts BIN as a daemon
                                                       and exercises it) with BIN evicted from
                                                       the page cache and readahead off, then
                                                       print the functions on present pages
    python3 bench/text_order.py resident PID BIN       the same for a daemon already running:
                                                       resident KiB of BIN's code, and the
                                                       functions on its present pages

Why it works: the kernel maps up to 64 KiB around each fault in a file mapping, but only
pages already in the page cache. With the binary evicted and the block device's readahead
at 0, every present page of the text mapping is one the daemon executed (or one that
shares a page with code it executed). `record` restores the readahead setting on exit.

Needs root (readahead and pagemap of another process). The daemon's pid is read from
STEWARD_PIDFILE once CMD reports ready by exiting 0; CMD must leave the daemon running.
"""
import os
import re
import struct
import subprocess
import sys

PAGE = os.sysconf("SC_PAGE_SIZE")


def load_segments(binary):
    """PT_LOAD segments as (file offset, vaddr, file size) from readelf."""
    out = subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True, check=True).stdout
    segs = []
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] == "LOAD":
            segs.append((int(parts[1], 16), int(parts[2], 16), int(parts[4], 16)))
    return segs


def functions(binary):
    """(vaddr, size, mangled name) of every sized function symbol, by address."""
    out = subprocess.run(["nm", "--defined-only", "-S", "-n", binary], capture_output=True, text=True, check=True).stdout
    funcs = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tTwW":
            funcs.append((int(parts[0], 16), int(parts[1], 16), parts[3]))
    return funcs


def present_text_pages(pid, binary):
    """Virtual addresses (in the binary's own address space) of present pages of its code."""
    real = os.path.realpath(binary)
    segs = load_segments(binary)
    present = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for line in maps:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) \S+ \S+\s*(.*)", line)
            if not m or "x" not in m.group(3):
                continue
            path = m.group(5).replace(" (deleted)", "")
            if os.path.realpath(path) != real and os.path.basename(path) != os.path.basename(real):
                continue
            start, end, off = int(m.group(1), 16), int(m.group(2), 16), int(m.group(4), 16)
            pagemap.seek(start // PAGE * 8)
            entries = pagemap.read((end - start) // PAGE * 8)
            for i in range(len(entries) // 8):
                (e,) = struct.unpack_from("<Q", entries, i * 8)
                if not e >> 63 & 1:
                    continue
                file_off = off + i * PAGE
                for seg_off, seg_vaddr, seg_size in segs:
                    if seg_off <= file_off < seg_off + seg_size:
                        present.append(seg_vaddr + file_off - seg_off)
                        break
    return present


def touched(pid, binary):
    pages = sorted(present_text_pages(pid, binary))
    funcs = functions(binary)
    names, seen = [], set()
    j = 0
    for page in pages:
        # Functions are sorted by address: walk them once alongside the pages.
        while j < len(funcs) and funcs[j][0] + max(funcs[j][1], 1) <= page:
            j += 1
        k = j
        while k < len(funcs) and funcs[k][0] < page + PAGE:
            name = funcs[k][2]
            if name not in seen:
                seen.add(name)
                names.append(name)
            k += 1
    return pages, names


def main():
    args = sys.argv[1:]
    if len(args) == 3 and args[0] == "resident":
        pages, names = touched(int(args[1]), args[2])
        print(f"resident code: {len(pages) * PAGE // 1024} KiB on {len(pages)} pages, {len(names)} functions", file=sys.stderr)
        print("\n".join(names))
        return
    if len(args) >= 4 and args[0] == "record" and args[2] == "--":
        binary, cmd = args[1], args[3:]
        dev = subprocess.run(["findmnt", "-no", "SOURCE", "--target", binary], capture_output=True, text=True, check=True).stdout.strip()
        knob = f"/sys/block/{os.path.basename(dev)}/queue/read_ahead_kb"
        old = open(knob).read().strip()
        os.sync()
        fd = os.open(binary, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
        try:
            with open(knob, "w") as f:
                f.write("0")
            subprocess.run(cmd, check=True)
        finally:
            with open(knob, "w") as f:
                f.write(old)
        pid = int(open(os.environ["STEWARD_PIDFILE"]).read().split()[0])
        pages, names = touched(pid, binary)
        print(f"resident code: {len(pages) * PAGE // 1024} KiB on {len(pages)} pages, {len(names)} functions", file=sys.stderr)
        print("\n".join(names))
        return
    print(__doc__, file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    main()
