"""Insight: see inside a trained network (Qt-free).

`subject` loads a design with its weights and dataset and finds the module computing any node;
`activations` captures node outputs with forward hooks; `filters` lays out convolution kernels;
`attribution` gives predictions, Grad-CAM and Captum's other attributions; `evaluation` the
confusion matrix, per-class error, most confidently wrong images and a 2-D feature map;
`landscape` loss landscapes (Li et al. 2018); `render` writes them all as PNGs without Qt.
"""
