"""Figure (a) of the phase experiment: class agreement against noise, one curve per depth L.

Usage: PYTHONPATH=build/python python3 examples/phase_transition.py [CONFIG.toml] [--out FIGURE.png]
(without a config: the default run, the papers' grammar under their epsilon-process, hdiff phase's
preset pnas2025-rhm-soft, a few seconds on two cores; see docs/python.md).
"""

import argparse

import matplotlib

matplotlib.use("Agg")  # draws to files; no display needed
import matplotlib.pyplot as plt

import hdiff

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("config", nargs="?", help="experiment config (TOML); default: hdiff's default experiment")
parser.add_argument("--out", default="class_agreement.png", help="figure file (PNG, SVG, PDF)")
arguments = parser.parse_args()

table = hdiff.phase(arguments.config).results  # the columns of results.csv
classes = table["level"] == 0
figure, axes = plt.subplots(figsize=(5, 3.6))
for L in sorted(set(table["L"][classes])):
    rows = classes & (table["L"] == L)
    axes.errorbar(table["noise"][rows], table["agreement"][rows], yerr=table["agreement_se"][rows], marker="o",
                  markersize=3, capsize=2, label=f"L = {L}")
axes.set_xlabel(f"noise ({table['channel'][0]} channel)")
axes.set_ylabel("class agreement $A_0$")
axes.legend()
figure.tight_layout()
figure.savefig(arguments.out)
print(f"wrote {arguments.out}")
