"""The Insight panel, `panel.InsightPanel`: the shell (weights, sample, caches, the job) and one
module per view (tab): activations, filters, attribution (Grad-CAM), evaluation, landscape."""
