"""Help: what F_AEB, SOPs and firing rate mean."""

from __future__ import annotations

import streamlit as st

from app.web.components import ui

st.title("Help")
ui.publish_url("help", {})
st.markdown(
    """
**F_AEB**, the accuracy and energy balanced fitness (Eq. 6 of the Auto-Spikformer paper), scores a
candidate as `alpha * (1 - E_scaled) + (1 - alpha) * A_scaled`, where energy `E` and validation
accuracy `A` are min-max scaled over exactly the candidates being ranked (a run, or one search).
`alpha = 0` ranks by accuracy alone, `alpha = 1` by energy alone; the explorer's slider re-ranks
the stored candidates at any alpha without evaluating anything again. Every F_AEB winner lies on
the **Pareto front**, the candidates that no other candidate beats on both accuracy and energy;
the Compare page shows at which alphas the winner changes (the knee).

**SOPs** (synaptic operations) count the additions a spiking layer really performs: each spike
into a layer costs one accumulate per outgoing synapse, so SOPs = firing rate x time steps T x
the layer's FLOPs. The **firing rate** is the fraction of neurons that spike, per neuron and time
step, averaged over the validation images. Energy (Eq. 3) charges 0.9 pJ per SOP (an accumulate)
in the spiking layers and 4.6 pJ per MAC in the layers that read real values (the first,
image-encoding conv and the classifier head), 45 nm figures, reported in microjoules per image.
Lower thresholds or longer taus raise firing rates, and so energy.

**Energy profiles.** Every candidate is stored with its operation counts (MACs, SOPs and LIF
neuron updates), so its energy can be priced for other hardware without evaluating it again: the
explorer's *Energy profile* selector re-ranks at once. `45nm-fp32` is the paper's 4.6 / 0.9 pJ
(the default); `45nm-fp16` and `45nm-int8` take Horowitz's 45 nm figures for those number formats;
`loihi-2018` prices each synaptic operation at 23.6 pJ and each neuron update at 81 pJ (Davies et
al. 2018). `autospikformer profiles` lists them with their sources; docs/energy.md says more.

**Feasible candidates.** A search with an energy budget or a parameter limit records every
candidate it evaluates, but only those within its constraints are ranked, drawn on the front,
shared or exported by default; the explorer's *infeasible* toggle draws the others as grey crosses.
"""
)
