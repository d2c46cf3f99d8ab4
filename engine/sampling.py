"""The arch-sampling rules of supernet training, in a module light enough for the CLI to read.

- ``uniform``: every step trains one arch drawn uniformly from the search space.
- ``sandwich``: every step trains the largest, the smallest and one uniform arch (gradients
  accumulated), at about 3x the cost of a uniform step.

Uniform is the default: on digits-tiny it ranked 16 subnets against standalone training better
than sandwich in `bench/ranking.py` (Kendall's tau +0.640 vs +0.468 over three supernets each,
BENCHMARKS.md), at a third of the cost per epoch; sandwich gives the extreme archs higher
accuracy at equal epochs.
"""

SAMPLING = ("uniform", "sandwich")
DEFAULT_SAMPLING = "uniform"
