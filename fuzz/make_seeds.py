#!/usr/bin/env python3
"""Writes the small seed corpora of fuzz/corpus/<target>/ (committed; rerun only to
change them). Files named found-* are inputs that once crashed a target, kept as
regression seeds; this script leaves them alone. Every seed is crafted here with the standard library; the JPEG
seeds come from libjpeg-turbo through a throwaway C program (cc and libjpeg62-turbo-dev)."""
import json
import os
import pickle
import struct
import subprocess
import tempfile
import zipfile
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def u(s):  # BINUNICODE
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def tensor_record(key, storage_type, numel, offset, size, stride):
    """A PyTorch _rebuild_tensor_v2 record, as torch.save writes it (protocol 2)."""
    ints = lambda xs: b"(" + b"".join(b"K" + bytes([x]) for x in xs) + b"t"
    return (b"ctorch._utils\n_rebuild_tensor_v2\n(" + b"(" + u("storage") + b"ctorch\n" + storage_type + b"\n" +
            u(key) + u("cpu") + b"K" + bytes([numel]) + b"tQ" + b"K" + bytes([offset]) + ints(size) + ints(stride) +
            b"\x89ccollections\nOrderedDict\n)RtR")


def state_dict_pickle(records):
    body = b"\x80\x02ccollections\nOrderedDict\n)Rq\x00("
    for name, record in records:
        body += u(name) + record
    return body + b"u}b."


PICKLES = {
    "state_dict": state_dict_pickle([
        ("w", tensor_record("0", b"FloatStorage", 6, 0, [2, 3], [3, 1])),
        ("b", tensor_record("1", b"HalfStorage", 4, 1, [3], [1])),
        ("t", tensor_record("0", b"FloatStorage", 6, 0, [3, 2], [1, 3])),
    ]),
    "memo_shared": b"\x80\x02}q\x00(" + u("a") + tensor_record("0", b"LongStorage", 2, 0, [2], [1]) +
                   b"q\x01" + u("b") + b"h\x01u.",
    "nested_py2": pickle.dumps({"model": {"x": [1, 2.5, "s", None, True], "y": (1, (2, 3))}, "n": -7}, protocol=2),
    "nested_py4": pickle.dumps({"epoch": 3, "cfg": {"lr": 1e-4, "names": ["a" * 300, b"raw"]}}, protocol=4),
    "big_int": pickle.dumps({"i": 2 ** 62, "j": -2 ** 40, "k": 65535, "l": 2 ** 31}, protocol=2),
}


def pt_archive(pickle_bytes, storages):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x.pt")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
            z.writestr("archive/data.pkl", pickle_bytes)
            for key, data in storages.items():
                z.writestr("archive/data/" + key, data)
            z.writestr("archive/version", "3\n")
        return open(path, "rb").read()


def safetensors(tensors, metadata=None):
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def npy(descr, shape, raw, version=1):
    shape_text = "(" + "".join(f"{n}, " for n in shape).rstrip(" ") + ")" if len(shape) != 1 else f"({shape[0]},)"
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_text)
    pre = 10 if version == 1 else 12
    header += " " * (-(pre + len(header) + 1) % 64) + "\n"
    size = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + size + header.encode() + raw


def grammar():
    return {"format": "hdiff-grammar", "version": 1, "v": 3, "n_classes": 2, "m": 2, "s": 2, "L": 2, "seed": 5,
            "rules": [[[[0, 1], [2, 2]], [[1, 0], [0, 0]]],
                      [[[0, 1], [1, 1]], [[2, 0], [0, 2]], [[1, 2], [2, 1]]]]}


def png(width, height, color_type, rows, palette=None):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + row for row in rows)
    body = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0))
    if palette:
        body += chunk(b"PLTE", palette)
    return b"\x89PNG\r\n\x1a\n" + body + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def jpegs():
    program = r'''
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>
static int write(const char* path, int components, int quality, const unsigned char* pixels) {
  struct jpeg_compress_struct c;
  struct jpeg_error_mgr e;
  FILE* f = fopen(path, "wb");
  if (!f) return 0;
  c.err = jpeg_std_error(&e);
  jpeg_create_compress(&c);
  jpeg_stdio_dest(&c, f);
  c.image_width = 8;
  c.image_height = 6;
  c.input_components = components;
  c.in_color_space = components == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, quality, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < 6) {
    JSAMPROW row = (JSAMPROW)(pixels + c.next_scanline * 8 * components);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  return fclose(f) == 0;
}
int main(int argc, char** argv) {
  unsigned char rgb[8 * 6 * 3];
  for (int i = 0; i < 8 * 6 * 3; ++i) rgb[i] = (unsigned char)(i * 37);
  return !(argc == 3 && write(argv[1], 3, 90, rgb) && write(argv[2], 1, 50, rgb));
}'''
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "w")
        subprocess.run(["cc", "-x", "c", "-", "-o", exe, "-ljpeg"], input=program.encode(), check=True)
        a, b = os.path.join(tmp, "a.jpg"), os.path.join(tmp, "b.jpg")
        subprocess.run([exe, a, b], check=True)
        return open(a, "rb").read(), open(b, "rb").read()


JOURNAL_IDENTITY = b'{"command":"fuzz","seed":1}'  # fuzz_journal.cpp's identity (8 units)


def journal(records, identity=JOURNAL_IDENTITY):
    """A journal as JournalWriter writes it (src/cluster/journal.h): header, then
    (unit, payload) records; a record given as bytes is put in as it is."""
    out = b"HDIFFJNL" + struct.pack("<IQ", 1, len(identity)) + identity + struct.pack("<I", zlib.crc32(identity))
    for record in records:
        out += record if isinstance(record, bytes) else journal_record(*record)
    return out


def journal_record(unit, payload):
    body = struct.pack("<qQ", unit, len(payload)) + payload
    return body + struct.pack("<I", zlib.crc32(body))


def bad_crc(record):
    return record[:-4] + bytes([record[-4] ^ 1]) + record[-3:]


def idx(dims, data):
    """An IDX file of unsigned bytes (type 0x08), dimensions big-endian."""
    return b"\x00\x00\x08" + bytes([len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + data


def gzip_bytes(data):
    """One gzip member (fixed mtime, so the seed does not change between runs)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def kjv_seeds():
    """EC02 files (src/text/kjv_reader.h): one window of 9-bit literal codes, and,
    where bible-kjv-text is installed, the real file cut to its first window."""
    def literal_codes(text):
        bits, out = 0, bytearray()
        for ch in text.encode():
            for b in range(9):
                if bits // 8 >= len(out):
                    out.append(0)
                out[bits // 8] |= ((ch >> b) & 1) << (bits % 8)
                bits += 1
        return bytes(out)
    text = "Title\nGe1:1 In the beginning God created the heaven and the earth.\nRev22:21 Amen."
    codes = literal_codes(text)
    head = b"EC02" + b"Compressed Data File".ljust(80, b"\0") + struct.pack(">II", 2 * len(text), 1)
    put("kjv", "literals.ec02", head + struct.pack(">II", 103, 103 + len(codes)) + b"\x1f\x9d\x90" + codes)
    real = "/usr/lib/bible.data"
    if os.path.exists(real):
        with open(real, "rb") as f:
            data = f.read()
        window, first, second = struct.unpack(">I", data[84:88])[0], *struct.unpack(">II", data[92:100])
        window0 = data[first:second]
        head = b"EC02" + data[4:84] + struct.pack(">II", window, 1)
        put("kjv", "genesis_window.ec02", head + struct.pack(">II", 103, 103 + len(window0)) + data[first - 3:first] +
            window0)


def idx_seeds():
    # fuzz_idx: byte 0 even, one IDX file follows; odd, bytes 1-2 split the rest
    # into an image file and a label file, which are paired.
    images = idx([3, 4, 5], bytes((i * 7) % 256 for i in range(60)))
    labels = idx([3], bytes([2, 0, 9]))
    put("idx", "images", b"\x00" + images)
    put("idx", "images_gz", b"\x00" + gzip_bytes(images))
    put("idx", "labels_gz", b"\x00" + gzip_bytes(labels))
    put("idx", "four_dims", b"\x00" + idx([1, 2, 2, 2], bytes(8)))
    put("idx", "pair", b"\x01" + struct.pack(">H", len(images)) + images + labels)
    gz = gzip_bytes(images)
    put("idx", "pair_gz", b"\x01" + struct.pack(">H", len(gz)) + gz + gzip_bytes(labels))


def main():
    for name, data in PICKLES.items():
        put("pickle", name, data)
    floats = struct.pack("<6f", 1, 2, 3, 4, 5, 6)
    put("checkpoint", "state_dict.pt", pt_archive(PICKLES["state_dict"], {"0": floats, "1": b"\x00\x3c" * 4}))
    put("checkpoint", "shared.pt", pt_archive(PICKLES["memo_shared"], {"0": struct.pack("<2q", 7, -7)}))
    put("checkpoint", "plain_dict.pt", pt_archive(PICKLES["nested_py2"], {}))
    put("checkpoint", "model.safetensors", safetensors({
        "w": ("F32", [2, 3], floats), "h": ("F16", [2], b"\x00\x3c\x00\xc0"), "i": ("I64", [1], struct.pack("<q", 3)),
        "e": ("BF16", [0], b"")}, {"format": "pt"}))
    put("checkpoint", "bool.safetensors", safetensors({"m": ("BOOL", [2, 2], b"\x01\x00\x00\x01"),
                                                       "u": ("U8", [3], b"\x01\x02\x03")}))
    put("npy", "f64.npy", npy("<f8", [2, 3], struct.pack("<6d", 1, 2, 3, 4, 5, 6)))
    put("npy", "u8.npy", npy("|u1", [4], b"\x00\x01\x02\x03"))
    put("npy", "i32_v2.npy", npy("<i4", [2, 1, 2], struct.pack("<4i", 1, -1, 2, 3), version=2))
    put("npy", "scalar.npy", npy("<f4", [], struct.pack("<f", 0.5)))
    put("npy", "empty.npy", npy("<u2", [0, 5], b""))
    put("grammar_json", "grammar.json", json.dumps(grammar()))
    put("grammar_json", "grammar_pretty.json", json.dumps(grammar(), indent=1))
    put("toml_config", "phase_values.toml", """[grammar]
v = 8
classes = 4
m = 2
s = 2
L = [2, 3]
seeds = 2

[noise]
channel = "uniform"
values = [0.0, 0.25, 0.5]

[run]
samples = 10
seed = 1
""")
    put("toml_config", "phase_schedule.toml", """[grammar]
v = 4
classes = 2
m = 2
s = 2
L = 2
seeds = [3, 9]

[noise]
channel = "gaussian"
schedule = "cosine"
times = [100, 500]

[run]
samples = 5
seed = 0
""")
    put("toml_config", "phase_soft.toml", """[grammar]
v = 8
classes = 8
m = 3
s = 2
L = [3]
seeds = 1

[noise]
channel = "soft"
values = [0.5, 0.9]

[run]
samples = 4
trajectories = 3
seed = 2
""")
    put("toml_config", "image_experiment.toml", """#image experiment
[diffusion]
checkpoint = "diffusion.pt"
model = "adm-256-uncond"
steps = 250
precision = "auto"
batch_size = 16

[classifier]
checkpoint = "convnext.pth"
batch_size = 32

[images]
start = "start"
reference = "reference"
reference_limit = 0

[run]
k = [0, 25, 250]
seed = 0
device = "cpu"
""")
    put("image", "rgb.png", png(3, 2, 2, [bytes(range(9)), bytes(range(9, 18))]))
    put("image", "grey.png", png(2, 2, 0, [b"\x00\xff", b"\x80\x10"]))
    put("image", "rgba.png", png(1, 2, 6, [b"\x01\x02\x03\x04", b"\x05\x06\x07\x08"]))
    put("image", "palette.png", png(2, 1, 3, [b"\x00\x01"], palette=b"\xff\x00\x00\x00\xff\x00"))
    units = [(3, struct.pack("<4d", 0.5, 0.25, -1.0, 3.0)), (0, b"unit zero"), (5, bytes(range(40)))]
    put("journal", "valid.journal", journal(units))
    put("journal", "header_only.journal", journal([]))
    put("journal", "torn.journal", journal(units + [journal_record(7, b"cut short by a crash")[:21]]))
    put("journal", "torn_checksum.journal", journal(units + [bad_crc(journal_record(7, b"half on disk"))]))
    put("journal", "bad_checksum.journal", journal([units[0], bad_crc(journal_record(*units[1])), units[2]]))
    put("journal", "foreign.journal", journal(units, b'{"command":"fuzz","seed":2}'))
    # journal_values: byte 0 picks the case (0-5 phase units, 6 a threshold result),
    # byte 1 the form (even: the real payload with 10-byte edits; odd: raw bytes).
    # Slot 2 of a phase payload (after its format tag and the agreements' length)
    # is its first agreement value; byte 0 of a threshold result its critical
    # noise: 0.5 is a value a unit can hold there, 7 is not.
    for case in range(7):
        at = 2 if case < 6 else 0
        put("journal_values", f"real_{case}", bytes([case, 0]))
        put("journal_values", f"plausible_{case}", bytes([case, 0]) + struct.pack("<Hd", at, 0.5))
        put("journal_values", f"impossible_{case}", bytes([case, 0]) + struct.pack("<Hd", at, 7.0))
    # Format 2 (src/experiment/phase_units.cpp: kMeasuresFormat), then a cut-short payload.
    put("journal_values", "raw_phase", bytes([0, 1]) + struct.pack("<QQ", 0x484449464D450002, 2) +
        struct.pack("<2d", 0.5, 0.25))
    put("journal_values", "raw_threshold", bytes([6, 1]) + struct.pack("<5d", 0.2, 0.1, 0.3, 0.8, 1.0) + b"\x00" +
        struct.pack("<Q", 0))
    idx_seeds()
    kjv_seeds()
    colour, grey = jpegs()
    put("image", "colour.jpg", colour)
    put("image", "grey.jpg", grey)


if __name__ == "__main__":
    main()
