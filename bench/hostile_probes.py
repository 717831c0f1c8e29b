#!/usr/bin/python3
"""Held-out hostile-input probes for issue 18's target list (not the test suite's inputs): each
probe runs one deepcomp command and must give exit 1 with a one-line error naming the file (and
tensor), in under 2 s and under 300 MB peak RSS, leaving nothing in the output folder; the race
must have exactly one winner; `run` on 100,000 initializers must take under 5 s. Prints a
Markdown table (time, peak RSS of the deepcomp process from wait4) and exits 1 if a probe fails.

Usage: /usr/bin/python3 bench/hostile_probes.py [WORKDIR]   (DEEPCOMP: the binary, default
build/deepcomp; runs as any user, the character-device probe only as root)

The bombs are re-framed by this script's own .dcz writer (docs/FORMAT.md: sections, CRC-32 via
zlib, the end section's chain CRC), from lenet-300-100 compressed with --prune 0.9; claims differ
from the test suite's (which uses a 256x784 layer)."""
import os
import stat
import subprocess
import sys
import time
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.abspath(os.environ.get("DEEPCOMP", os.path.join(ROOT, "build", "deepcomp")))
# A one-line error is the only stderr allowed; /usr/bin/time -q adds nothing on exit 1.
WORK = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "/tmp/deepcomp-probes")
os.makedirs(WORK, exist_ok=True)
rows = []
failures = 0


def run(args, out_dir=None):
    """Runs deepcomp ARGS under /usr/bin/time (so that the peak RSS is deepcomp's own, not this
    Python's forked image); returns (exit, stderr, wall s, cpu s, peak MB, files left in out_dir)."""
    before = set(os.listdir(out_dir)) if out_dir else set()
    err_path = os.path.join(WORK, "stderr.txt")
    time_path = os.path.join(WORK, "time.txt")
    start = time.monotonic()
    with open(err_path, "wb") as err, open(os.devnull, "wb") as devnull:
        code = subprocess.run(["/usr/bin/time", "-q", "-f", "%e %U %S %M", "-o", time_path, BIN] +
                              args, stdout=devnull, stderr=err).returncode
    secs = time.monotonic() - start
    with open(err_path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    with open(time_path) as f:
        _, user, sys_s, rss_kb = f.read().split()[-4:]
    left = sorted(set(os.listdir(out_dir)) - before) if out_dir else []
    return code, text, secs, float(user) + float(sys_s), int(rss_kb) / 1024.0, left


def probe(name, args, must_name, out_dir, target_s=2.0, target_mb=300.0, want_exit=1):
    """Runs a refusal probe and records a table row."""
    global failures
    code, err, secs, cpu, mb, left = run(args, out_dir)
    lines = [l for l in err.splitlines() if l.strip()]
    one_line = len(lines) == (1 if want_exit else 0)
    named = all(s in err for s in must_name)
    ok = (code == want_exit and one_line and named and not left and secs < target_s and
          mb < target_mb)
    failures += not ok
    shown = lines[0] if lines else ""
    if len(shown) > 110:
        shown = shown[:107] + "..."
    rows.append(f"| {name} | `{' '.join(a if len(a) < 30 else '...' + a[-24:] for a in args[:1])}` "
                f"| {code} | {secs:.2f} / {cpu:.2f} | {mb:.0f} | {'yes' if one_line else 'NO'} | "
                f"{'yes' if named else 'NO'} | {', '.join(left) or 'none'} | "
                f"{'pass' if ok else 'FAIL'} | {shown.replace('|', '/')} |")


# ---- .dcz re-framing (docs/FORMAT.md) ----
def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def get_varint(b, pos):
    v, shift = 0, 0
    while True:
        byte = b[pos]
        pos += 1
        v |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return v, pos


def sections(data):
    pos, out = 6, []
    while pos < len(data):
        kind = data[pos]
        length, p = get_varint(data, pos + 1)
        out.append((kind, data[p:p + length]))
        pos = p + length + 4
    return data[:6], out


def frame(preamble, secs):
    body = bytearray(preamble)
    crcs = b""
    for kind, payload in secs:
        if kind == ord("E"):
            continue
        head = bytes([kind]) + varint(len(payload))
        crc = zlib.crc32(head + payload).to_bytes(4, "little")
        body += head + payload + crc
        crcs += crc
    end = varint(len(secs) - 1) + varint(len(body)) + zlib.crc32(preamble + crcs).to_bytes(4, "little")
    head = b"E" + varint(len(end))
    return bytes(body + head + end + zlib.crc32(head + end).to_bytes(4, "little"))


def with_dims(payload, dims):
    """A tensor section payload with its shape replaced."""
    name_len, p = get_varint(payload, 0)
    p += name_len
    _, p = get_varint(payload, p)  # dtype
    p += 1  # role
    rank, p = get_varint(payload, p)
    start = p
    for _ in range(rank):
        _, p = get_varint(payload, p)
    return payload[:start - len(varint(rank))] + varint(len(dims)) + b"".join(
        varint(d) for d in dims) + payload[p:]


def patched_skeleton(payload, tensor, dims):
    """The skeleton blob with `tensor` declared as `dims` (stored, method 0)."""
    method = payload[0]
    raw_size, p = get_varint(payload, 1)
    if method == 0:
        raw = payload[p:p + raw_size]
    else:
        packed, p = get_varint(payload, p)
        raw = subprocess.run(["zstd", "-d", "-c"], input=payload[p:p + packed],
                             capture_output=True, check=True).stdout
    m = onnx.ModelProto()
    m.ParseFromString(raw)
    for t in m.graph.initializer:
        if t.name == tensor:
            del t.dims[:]
            t.dims.extend(dims)
    raw = m.SerializeToString()
    return b"\x00" + varint(len(raw)) + raw


def bomb(src, tensor, dims, patch_skeleton):
    with open(src, "rb") as f:
        preamble, secs = sections(f.read())
    out = []
    for kind, payload in secs:
        if kind == ord("T"):
            n, p = get_varint(payload, 0)
            if payload[p:p + n].decode() == tensor:
                payload = with_dims(payload, dims)
        if kind == ord("G") and patch_skeleton:
            payload = patched_skeleton(payload, tensor, dims)
        out.append((kind, payload))
    return frame(preamble, out)


def save(model, path):
    with open(path, "wb") as f:
        f.write(model.SerializeToString())


def main():
    lenet = os.path.join(ROOT, "models", "lenet-300-100.onnx")
    src = os.path.join(WORK, "lenet.dcz")
    if os.path.exists(src):
        os.remove(src)
    subprocess.run([BIN, "compress", lenet, "-o", src, "-q", "--prune", "0.9"], check=True)
    with open(src, "rb") as f:
        _, secs = sections(f.read())
    names = []
    for kind, payload in secs:
        if kind == ord("T"):
            n, p = get_varint(payload, 0)
            names.append(payload[p:p + n].decode())
    fc = next(n for n in names if "weight" in n)
    np.save(os.path.join(WORK, "x.npy"), np.zeros((1, 1, 28, 28), np.float32))
    # The file itself must be accepted: the framing is sound.
    same = os.path.join(WORK, "same.dcz")
    with open(same, "wb") as f:
        f.write(bomb(src, "", [], False))
    out = os.path.join(WORK, "out")
    os.makedirs(out, exist_ok=True)
    code, err, *_ = run(["inspect", same])
    assert code == 0, "the re-framed file is refused: " + err

    claims = {"[65536, 65536] (16 GiB)": [65536, 65536], "[2^30, 2^28] (2^58 elements)": [1 << 30, 1 << 28],
              "[2^58] (rank 1)": [1 << 58]}
    for label, dims in claims.items():
        for patch in (False, True):
            path = os.path.join(WORK, f"bomb_{len(dims)}_{dims[0]}_{int(patch)}.dcz")
            with open(path, "wb") as f:
                f.write(bomb(src, fc, dims, patch))
            what = f"1. bomb: {fc} claims {label}" + (", skeleton agrees" if patch else "")
            for cmd in (["inspect", path], ["decompress", path, "-o", os.path.join(out, "b.onnx")],
                        ["run", path, "--input", os.path.join(WORK, "x.npy"), "-o",
                         os.path.join(out, "y.npy")]):
                probe(f"{what}: {cmd[0]}", cmd, [os.path.basename(path), fc], out)

    # 2. Lookups: run on 100,000 one-element initializers and Add nodes, under 5 s.
    many = os.path.join(WORK, "many100000.onnx")
    if not os.path.exists(many):
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench", "make_many_initializers.py"),
                        many, "100000"], check=True)
    np.save(os.path.join(WORK, "x4.npy"), np.ones((1, 4), np.float32))
    y = os.path.join(out, "many.npy")
    probe("2. run on 100,000 initializers (< 5 s)", ["run", many, "--input",
          os.path.join(WORK, "x4.npy"), "-o", y], [], None, target_s=5.0, want_exit=0)
    os.remove(y)

    # 3. Special files as outputs, with --force.
    fifo = os.path.join(out, "fifo")
    os.mkfifo(fifo)
    for cmd in (["compress", lenet, "-o", fifo, "--force", "-q"],
                ["decompress", src, "-o", fifo, "--force"],
                ["run", src, "--input", os.path.join(WORK, "x.npy"), "-o", fifo, "--force"]):
        probe(f"3. FIFO output, --force: {cmd[0]}", cmd, ["fifo"], out)
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    link = os.path.join(out, "link_to_fifo")
    os.symlink(fifo, link)
    probe("3. symlink to a FIFO, --force: compress", ["compress", lenet, "-o", link, "--force", "-q"],
          ["link_to_fifo"], out)
    if os.geteuid() == 0:
        dev = os.path.join(out, "null_device")
        os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        probe("3. character device (1,3), --force: compress", ["compress", lenet, "-o", dev,
              "--force", "-q"], ["null_device"], out)
        assert stat.S_ISCHR(os.lstat(dev).st_mode)
        os.remove(dev)
    os.remove(link)
    os.remove(fifo)

    # 4. Race: two compress processes to one new output, 20 rounds; exactly one wins each time.
    global failures
    both, none, start = 0, 0, time.monotonic()
    for k in range(20):
        target = os.path.join(out, f"race{k}.dcz")
        ps = [subprocess.Popen([BIN, "compress", lenet, "-o", target, "-q"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
        codes = [p.wait() for p in ps]
        errs = [p.stderr.read().decode() for p in ps]
        wins = codes.count(0)
        both += wins == 2
        none += wins == 0
        loser = [e for c, e in zip(codes, errs) if c != 0]
        if wins != 1 or not loser or "exists" not in loser[0] or \
                subprocess.run([BIN, "inspect", target], capture_output=True).returncode != 0:
            failures += 1
        os.remove(target)
    left = [f for f in os.listdir(out)]
    ok = both == 0 and none == 0 and not left
    failures += not ok
    rows.append(f"| 4. race: 2 x compress to one new output, 20 rounds | `compress` | 1 of 2 | "
                f"{(time.monotonic() - start) / 20:.2f} per round | - | - | - | {', '.join(left) or 'none'} "
                f"| {'pass' if ok else 'FAIL'} | both won {both}x, none won {none}x |")

    # 5. Dangling symlink as output, without --force.
    dangling = os.path.join(out, "dangling")
    os.symlink(os.path.join(out, "nowhere.dcz"), dangling)
    probe("5. dangling symlink output: compress", ["compress", lenet, "-o", dangling, "-q"],
          ["dangling"], out)
    assert not os.path.exists(os.path.join(out, "nowhere.dcz"))
    os.remove(dangling)

    # 6. A zero-size tensor with a dimension >= 2^59 (here 2^62): compress refuses it.
    g = helper.make_graph([helper.make_node("Identity", ["z"], ["y"])], "g", [],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    z = TensorProto(name="z", data_type=TensorProto.FLOAT, dims=[0, 1 << 62])
    z.raw_data = b""
    g.initializer.append(z)
    zero = os.path.join(WORK, "zero_huge.onnx")
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), zero)
    probe("6. zero-size tensor [0, 2^62]: compress", ["compress", zero, "-o",
          os.path.join(out, "z.dcz"), "-q"], ["zero_huge.onnx", "'z'"], out)

    # 7. A rank-1000 tensor: the input is blamed, not the output.
    g = helper.make_graph([helper.make_node("Identity", ["r"], ["y"])], "g", [],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    r = TensorProto(name="r", data_type=TensorProto.FLOAT, dims=[1] * 1000)
    r.raw_data = np.ones(1, np.float32).tobytes()
    g.initializer.append(r)
    rank = os.path.join(WORK, "rank1000.onnx")
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), rank)
    probe("7. rank-1000 tensor: compress", ["compress", rank, "-o", os.path.join(out, "r.dcz"),
          "-q"], ["rank1000.onnx", "'r'"], out)

    print("| probe | command | exit | wall / cpu s | peak MB | one line | names file+tensor | left in output "
          "folder | verdict | message |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(r)
    print(f"\n{len(rows)} probes, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
