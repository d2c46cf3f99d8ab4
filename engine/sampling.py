"""The arch-sampling rules of supernet training, in a module light enough for the CLI to read.

- ``uniform``: every step trains one arch drawn uniformly from the search space.
- ``sandwich``: every step trains the largest, the smallest and one uniform arch (gradients
  accumulated), at about 3x the cost of a uniform step.

Uniform is the default: on digits-tiny it ranked subnets against standalone training better
than sandwich in `bench/ranking.py` (Kendall's tau over three supernets each; the figures are in
BENCHMARKS.md, "Ranking fidelity"), at a third of the cost per epoch; sandwich gives the extreme
archs higher accuracy at equal epochs.
"""

SAMPLING = ("uniform", "sandwich")
DEFAULT_SAMPLING = "uniform"
