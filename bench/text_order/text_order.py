#!/usr/bin/env python3
"""Which functions of the steward binary a running daemon executes, to lay them out
together (crates/cli/text-order.txt, the linker's symbol ordering file; see
crates/cli/build.rs and bench/analysis.md, "Resident code"). bench/text_order/regenerate.sh
runs the whole procedure; the subcommands are its steps:

    resident PID BIN          functions on the present pages of BIN's code in daemon PID
                              (page-precise only when BIN was evicted from the page cache
                              and readahead was 0 while it ran: workload.sh --evict)
    coverage PID BIN OUT      functions that ran in PID, a daemon built with function-level
                              SanitizerCoverage counters (regenerate.sh builds it), read
                              from its memory; names without their hash, one per line; also
                              OUT.instrumented: every function that has a counter
    compose BASE COVDIR PAGEDIR  the order for BASE (a normal release build): phase A (start,
                              status, idle) then phase B (everyday operations, the API and
                              the dashboard). A function is in a phase when coverage saw it
                              run, or when it has no counter (std's precompiled code,
                              assembly) and sat on a page present in the page recording.
                              Prints the file; NA=<count of phase A> on stderr
    extend ORDER NA TOUCHED   ORDER with every function of TOUCHED (a page-precise
                              recording of a binary linked with ORDER) that is not yet in
                              phase A moved to its end: the stray pages the first pass missed

Why pages are not enough: the kernel maps up to 64 KiB around each fault in a file mapping,
so one executed function far from the others costs 16 pages; and one page holds ~10
functions, so a page recording alone lists many that never ran.
"""
import bisect
import os
import re
import struct
import subprocess
import sys

PAGE = os.sysconf("SC_PAGE_SIZE")
HASH = re.compile(r"17h[0-9a-f]{16}E$")


def unhashed(name):
    """A legacy-mangled name without its hash: the same function across two builds whose
    flags differ (the hash covers the crate's metadata)."""
    return HASH.sub("", name)


def load_segments(binary):
    """PT_LOAD segments as (file offset, vaddr, file size) from readelf."""
    out = subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True, check=True).stdout
    segs = []
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] == "LOAD":
            segs.append((int(parts[1], 16), int(parts[2], 16), int(parts[4], 16)))
    return segs


def sections(binary):
    """name -> (vaddr, file offset, size)."""
    out = subprocess.run(["readelf", "-SW", binary], capture_output=True, text=True, check=True).stdout
    secs = {}
    for line in out.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
        if m:
            secs[m.group(1)] = (int(m.group(2), 16), int(m.group(3), 16), int(m.group(4), 16))
    return secs


def functions(binary):
    """(vaddr, size, mangled name) of every function symbol, by address."""
    out = subprocess.run(["nm", "--defined-only", "-S", "-n", binary], capture_output=True, text=True, check=True).stdout
    funcs = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tTwW":
            funcs.append((int(parts[0], 16), int(parts[1], 16), parts[3]))
    return funcs


def mapping_of(pid, binary, want_exec):
    """(start, end, file offset) of PID's mappings of BINARY."""
    base = os.path.basename(os.path.realpath(binary))
    for line in open(f"/proc/{pid}/maps"):
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) \S+ \S+\s*(.*)", line)
        if not m or os.path.basename(m.group(5).replace(" (deleted)", "")) != base:
            continue
        if want_exec is None or ("x" in m.group(3)) == want_exec:
            yield int(m.group(1), 16), int(m.group(2), 16), int(m.group(4), 16)


def present_text_pages(pid, binary):
    """Link-time addresses of the present pages of BINARY's code in PID."""
    segs = load_segments(binary)
    present = []
    with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for start, end, off in mapping_of(pid, binary, True):
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
    return sorted(present)


def on_pages(pages, funcs):
    """Names of the functions that overlap any of the pages, by address."""
    names, seen, j = [], set(), 0
    for page in pages:
        while j < len(funcs) and funcs[j][0] + max(funcs[j][1], 1) <= page:
            j += 1
        k = j
        while k < len(funcs) and funcs[k][0] < page + PAGE:
            if funcs[k][2] not in seen:
                seen.add(funcs[k][2])
                names.append(funcs[k][2])
            k += 1
    return names


def cmd_resident(pid, binary):
    pages = present_text_pages(int(pid), binary)
    names = on_pages(pages, functions(binary))
    print(f"resident code: {len(pages) * PAGE // 1024} KiB on {len(pages)} pages, {len(names)} functions", file=sys.stderr)
    print("\n".join(names))


def cmd_coverage(pid, binary, out):
    """Reads the 8-bit counters of `-sanitizer-coverage-inline-8bit-counters` from PID's
    memory; `-sanitizer-coverage-pc-table` gives each counter's address in the binary."""
    secs = sections(binary)
    cntr_vaddr, _, cntr_size = secs["__sancov_cntrs"]
    _, pcs_off, pcs_size = secs["__sancov_pcs"]
    base = next(s - o for s, e, o in mapping_of(int(pid), binary, None) if o == 0)
    with open(f"/proc/{pid}/mem", "rb") as mem:
        mem.seek(base + cntr_vaddr)
        counters = mem.read(cntr_size)
    with open(binary, "rb") as f:
        f.seek(pcs_off)
        pcs = f.read(pcs_size)
    assert len(pcs) == 16 * len(counters), "one (pc, flags) pair per counter"
    pc = lambda i: struct.unpack_from("<Q", pcs, 16 * i)[0]
    funcs = functions(binary)
    starts = [a for a, _, _ in funcs]

    def owners(indices):
        # A counter of an inlined function sits inside its caller: name the caller.
        out = set()
        for i in indices:
            k = bisect.bisect_right(starts, pc(i)) - 1
            if k >= 0:
                out.add(unhashed(funcs[k][2]))
        return out

    ran = owners(i for i in range(len(counters)) if counters[i])
    every = owners(range(len(counters)))
    with open(out, "w") as f:
        f.write("\n".join(sorted(ran)) + "\n")
    with open(out + ".instrumented", "w") as f:
        f.write("\n".join(sorted(every)) + "\n")
    print(f"{sum(1 for c in counters if c)} of {len(counters)} counters hit; {len(ran)} functions ran", file=sys.stderr)


def read_set(path):
    return {line.strip() for line in open(path) if line.strip()}


def cmd_compose(base, covdir, pagedir):
    funcs = functions(base)
    size = {n: s for _, s, n in funcs}
    instrumented = read_set(os.path.join(covdir, "a.txt.instrumented"))

    def phase(cov, pages):
        return [n for _, _, n in funcs if unhashed(n) in cov or (unhashed(n) not in instrumented and n in pages)]

    a = phase(read_set(os.path.join(covdir, "a.txt")), read_set(os.path.join(pagedir, "a.txt")))
    ab = phase(read_set(os.path.join(covdir, "ab.txt")), read_set(os.path.join(pagedir, "ab.txt")))
    in_a = set(a)
    b = [n for n in ab if n not in in_a]
    kib = lambda ns: sum(size[n] for n in ns) // 1024
    print(f"phase A {len(a)} functions ({kib(a)} KiB), phase B {len(b)} ({kib(b)} KiB)", file=sys.stderr)
    print(f"NA={len(a)}", file=sys.stderr)
    print("\n".join(a + b))


def cmd_extend(order_path, na, touched_path):
    order = [line.strip() for line in open(order_path) if line.strip()]
    na = int(na)
    a, b = order[:na], order[na:]
    in_a = set(a)
    extra = [n for n in (line.strip() for line in open(touched_path)) if n and n not in in_a]
    a += extra
    in_a.update(extra)
    b = [n for n in b if n not in in_a]
    print(f"{len(extra)} functions of stray pages moved into phase A", file=sys.stderr)
    print(f"NA={len(a)}", file=sys.stderr)
    print("\n".join(a + b))


def main():
    args = sys.argv[1:]
    commands = {
        "resident": (cmd_resident, 2),
        "coverage": (cmd_coverage, 3),
        "compose": (cmd_compose, 3),
        "extend": (cmd_extend, 3),
    }
    if not args or args[0] not in commands or len(args) - 1 != commands[args[0]][1]:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    fn, _ = commands[args[0]]
    fn(*args[1:])


if __name__ == "__main__":
    main()
