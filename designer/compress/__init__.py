"""Model compression (Qt-free): structured and unstructured pruning that rewrites the design,
int8 and weight-only quantisation, low-rank factorisation, knowledge distillation and the Deep
Compression size estimate. Every technique reads a design and its weights and returns a new
design with weights (or a deployable artefact) plus a before/after report (`measure.py`).
"""
