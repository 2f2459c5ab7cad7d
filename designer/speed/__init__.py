"""Speed lab (Qt-free): measured per-node latency, memory access cost with ShuffleNet V2's
guideline hints, and Optuna sweeps with an error-vs-cost trade-off plot."""
