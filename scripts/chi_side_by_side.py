#!/usr/bin/env python3
"""The susceptibility chi of the RHM, of text and of images against each one's own
noise scale, in one figure (issue 31, item 4; docs/text.md, "Side by side").

Inputs (CSV files hdiff writes; every one but --text optional):
  --text      OUT/changes.csv of `hdiff net changes`: noise, COLUMN, COLUMN_se
  --rhm       changes.csv of `hdiff phase` under the mask channel (exact BP): the token
              level (level = L) of the largest L in the file (or --rhm-L): noise, COLUMN, COLUMN_se
  --rhm-net   comparison.csv of `hdiff net train` on the RHM: the token level of the trained
              network and of exact BP from the same noisy inputs, noise, susceptibility_net(_se)
              and susceptibility_bp(_se) (chi = sum C_ij / sum C_ii of that table)
  --images    susceptibility.csv of `hdiff images experiment`: the spatial susceptibility of
              patch changes, k_over_K, chi, chi_se (chi = sum C_pq / sum C_pp)
COLUMN is --column (default susceptibility_window: chi summed to r = R; susceptibility is
chi = sum C_ij / sum C_ii). Writes OUT/chi_side_by_side.csv (source,noise,chi,chi_se,
chi_normalised), the figure chi_side_by_side.png/.svg/.pdf through gnuplot and its script
figures.gp, and prints where each curve peaks. Each curve is divided by its own maximum:
the scales of the noise and of chi differ between the three, the shapes and the peak
positions are what compare. A bad file is one line "chi_side_by_side: error: ..." and exit 2.
"""
import argparse
import csv
import math
import os
import subprocess
import sys

MAX_BYTES = 1 << 26  # 64 MiB: these tables hold at most a few thousand rows


def fail(message):
    print(f"chi_side_by_side: error: {message}", file=sys.stderr)
    sys.exit(2)


def read_rows(path):
    try:
        if not os.path.isfile(path):
            fail(f"{path} is not a regular file")
        if os.path.getsize(path) > MAX_BYTES:
            fail(f"{path} is larger than {MAX_BYTES} bytes")
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        fail(f"cannot read {path}: {e}")
    if not rows:
        fail(f"{path} holds no rows")
    return rows


def number(path, row, column, line):
    text = row.get(column)
    if text is None:
        fail(f"{path} has no column '{column}'")
    if text == "":
        return None  # undefined (hdiff writes an empty field, never NaN)
    try:
        value = float(text)
    except ValueError:
        fail(f"{path}:{line}: {column} = '{text}' is not a number")
    if not math.isfinite(value):
        fail(f"{path}:{line}: {column} = {text} is not finite")
    return value


def curve(path, rows, x, y, keep=lambda row: True):
    points = []
    for line, row in enumerate(rows, start=2):
        if not keep(row):
            continue
        px, py, pe = number(path, row, x, line), number(path, row, y, line), number(path, row, y + "_se", line)
        if px is not None and py is not None:
            points.append((px, py, pe or 0.0))
    if not points:
        fail(f"{path} holds no defined value of {y}")
    return sorted(points)


def level_rows(path, rows, level_column, wanted_L=None):
    """Rows of the token level: level = L (the largest L, or wanted_L)."""
    if "L" in rows[0]:
        Ls = sorted({int(number(path, r, "L", i)) for i, r in enumerate(rows, start=2)})
        L = wanted_L if wanted_L is not None else Ls[-1]
        if L not in Ls:
            fail(f"{path} holds no rows of L = {L} (it holds {Ls})")
        return lambda row: int(float(row["L"])) == L and int(float(row[level_column])) == L, L
    levels = sorted({int(number(path, r, level_column, i)) for i, r in enumerate(rows, start=2)})
    return lambda row: int(float(row[level_column])) == levels[-1], levels[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--text", required=True)
    parser.add_argument("--rhm")
    parser.add_argument("--rhm-L", type=int)
    parser.add_argument("--rhm-net")
    parser.add_argument("--images")
    parser.add_argument("--column", default="susceptibility_window",
                        choices=["susceptibility_window", "susceptibility", "susceptibility_raw"])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    curves = []  # (source, label, x label, points)
    rows = read_rows(args.text)
    curves.append(("text", "text: MDLM on the KJV (masked fraction t)", curve(args.text, rows, "noise", args.column)))
    if args.rhm:
        rows = read_rows(args.rhm)
        keep, L = level_rows(args.rhm, rows, "level", args.rhm_L)
        curves.append(("rhm_bp", f"RHM, exact BP, tokens of L = {L} (mask ε)",
                       curve(args.rhm, rows, "noise", args.column, keep)))
    if args.rhm_net:
        rows = read_rows(args.rhm_net)
        keep, L = level_rows(args.rhm_net, rows, "level")
        curves.append(("rhm_net", f"RHM, trained network, tokens (level {L}, ε; χ = ΣC/ΣC_ii)",
                       curve(args.rhm_net, rows, "noise", "susceptibility_net", keep)))
        curves.append(("rhm_net_bp", f"RHM, exact BP from the same inputs (level {L}, ε; χ = ΣC/ΣC_ii)",
                       curve(args.rhm_net, rows, "noise", "susceptibility_bp", keep)))
    if args.images:
        rows = read_rows(args.images)
        curves.append(("images", "images: spatial χ (k/K)", curve(args.images, rows, "k_over_K", "chi")))

    os.makedirs(args.out, exist_ok=True)
    table = ["source,noise,chi,chi_se,chi_normalised"]
    blocks, plots = [], []
    for index, (source, label, points) in enumerate(curves):
        peak = max(points, key=lambda p: p[1])
        scale = peak[1] if peak[1] > 0 else 1.0
        print(f"{source}: chi peaks at {peak[0]:.4g} (chi = {peak[1]:.4g} ± {peak[2]:.2g})")
        data = []
        for x, y, e in points:
            table.append(f"{source},{x:.6g},{y:.6g},{e:.6g},{y / scale:.6g}")
            data.append(f"{x:.6g} {y / scale:.6g} {e / scale:.6g}")
        blocks.append(f"${source} << EOD\n" + "\n".join(data) + "\nEOD\n")
        plots.append(f"${source} using 1:2:3 with yerrorlines lw 2 pt {5 + 2 * index} title '{label}'")
    with open(os.path.join(args.out, "chi_side_by_side.csv"), "w") as f:
        f.write("\n".join(table) + "\n")
    script = ["# chi_side_by_side.py: run `gnuplot figures.gp` in this folder to redraw",
              "set encoding utf8", "set grid lc rgb '#dddddd'", "set key bottom center outside"] + blocks + [
        "set xlabel 'noise, each on its own scale (t, ε, k/K)'",
        "set ylabel 'χ / max χ'", "set xrange [0:1]", "set yrange [0:*]",
        f"set title 'Susceptibility of the changes ({args.column}), each curve over its maximum' noenhanced"]
    for terminal, extension in (("pngcairo size 1100,600", "png"), ("svg size 1100,600", "svg"),
                                ("pdfcairo size 11in,6in", "pdf")):
        script += [f"set terminal {terminal}", f"set output 'chi_side_by_side.{extension}'",
                   "plot " + ", ".join(plots), "unset output"]
    with open(os.path.join(args.out, "figures.gp"), "w") as f:
        f.write("\n".join(script) + "\n")
    try:
        subprocess.run(["gnuplot", "figures.gp"], cwd=args.out, check=True, capture_output=True)
    except FileNotFoundError:
        print("chi_side_by_side: note: gnuplot is missing; figures.gp is kept to draw the figure later",
              file=sys.stderr)
    except subprocess.CalledProcessError as e:
        fail(f"gnuplot failed: {e.stderr.decode(errors='replace').strip().splitlines()[-1:]}")
    print(f"wrote {args.out}/chi_side_by_side.csv and chi_side_by_side.png")


if __name__ == "__main__":
    main()
