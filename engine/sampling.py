"""The arch-sampling rules of supernet training, in a module light enough for the CLI to read.

- ``uniform``: every step trains one arch drawn uniformly from the search space.
- ``sandwich``: every step trains the largest, the smallest and one uniform arch (gradients
  accumulated), at about 3x the cost of a uniform step. The two extremes take T at its ends
  and the threshold and tau nearest Spikformer's, every step.
- ``sandwich-dsps``: the sandwich rule for the weight-entangled transformer genes only. The
  largest and the smallest arch keep their embed dim, depth, MLP ratios and heads, but their SNN
  genes (T, thresholds, taus) are drawn each step like a uniform arch's: the paper's alternate
  choice (DSPS), since those genes have no weights for an extreme to train. Under ``sandwich``
  two of every step's three archs run at T = max and T = min, so a middle T gets a ninth of the
  subnet passes the smallest T gets, and the supernet over-rates the archs next to the smallest
  one (BENCHMARKS.md, "Proving ground").

Uniform is the default: on digits-tiny it ranked subnets against standalone training better
than sandwich in `bench/ranking.py` (Kendall's tau over three supernets each; the figures are in
BENCHMARKS.md, "Ranking fidelity"), at a third of the cost per epoch; sandwich gives the extreme
archs higher accuracy at equal epochs.
"""

SAMPLING = ("uniform", "sandwich", "sandwich-dsps")
DEFAULT_SAMPLING = "uniform"
