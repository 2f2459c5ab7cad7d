"""A model's behaviour over the whole validation set: the confusion matrix (rows are true classes,
columns predictions), per-class error, the most confidently wrong images, and a 2-D map of the
penultimate features (PCA always, t-SNE when scikit-learn is installed).

`evaluate` scores the set the way the training engine does (10-crop runs average the crops'
probabilities), so the matrix's trace gives the top-1 error training reported. It reports
progress and checks a stop flag between batches, so a GUI worker can run and cancel it.
"""

from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import DataLoader

from .subject import InsightError


@dataclass
class Evaluation:
    labels: torch.Tensor               # (N,)
    probabilities: torch.Tensor        # (N, K)
    features: torch.Tensor | None      # (N, D) inputs of the last layer, or None
    classes: list = field(default_factory=list)
    complete: bool = True              # False when stopped before the end

    @property
    def predictions(self):
        return self.probabilities.argmax(1)

    @property
    def size(self):
        return len(self.labels)

    def confusion(self):
        """(K, K) counts: row = true class, column = predicted class."""
        k = self.probabilities.shape[1]
        index = self.labels * k + self.predictions
        return torch.bincount(index, minlength=k * k).view(k, k)

    @property
    def top1_error(self):
        return 1 - int(self.confusion().trace()) / max(1, self.size)

    def per_class_error(self):
        """Error rate of each true class (NaN for a class with no validation images)."""
        counts = self.confusion().double()
        totals = counts.sum(1)
        return (1 - counts.diagonal() / totals).tolist()

    def most_confidently_wrong(self, count=16):
        """[{"index", "label", "predicted", "probability"}] of wrong predictions, surest first."""
        wrong = (self.predictions != self.labels).nonzero().flatten()
        confidence = self.probabilities[wrong, self.predictions[wrong]]
        order = confidence.argsort(descending=True)[:count]
        return [{"index": int(wrong[i]), "label": int(self.labels[wrong[i]]),
                 "predicted": int(self.predictions[wrong[i]]), "probability": float(confidence[i])}
                for i in order]


def feature_module(model):
    """The module whose input are the penultimate features: walking back from the output past
    parameter-free modules (Softmax, Flatten, Dropout) to the last layer with weights."""
    graph_output = next(n for n in model.graph.nodes if n.op == "output")
    node = graph_output.args[0]
    while node is not None and node.op == "call_module":
        module = model.get_submodule(node.target)
        if any(True for _ in module.parameters()):
            return node.target
        node = node.args[0] if node.args and hasattr(node.args[0], "op") else None
    return None


def evaluate(model, dataset, classes=(), eval_crops=1, batch_size=256, with_features=True,
             progress=None, should_stop=None):
    """An `Evaluation` of `model` (main output, eval mode) on `dataset`. `progress(done, total)`
    is called after each batch; `should_stop()` ends early with `complete=False`."""
    if len(dataset) == 0:
        raise InsightError("the validation set is empty")
    loader = DataLoader(dataset, batch_size=max(1, batch_size // eval_crops))
    features, handle = [], None
    target = feature_module(model) if with_features else None
    if target is not None:
        def keep(module, args):
            features.append(args[0].detach().flatten(1).float())
        handle = model.get_submodule(target).register_forward_pre_hook(keep)
    labels, probabilities = [], []
    complete = True
    try:
        with torch.no_grad():
            for done, (images, batch_labels) in enumerate(loader, 1):
                if should_stop is not None and should_stop():
                    complete = False
                    break
                if eval_crops > 1:
                    images = images.flatten(0, 1)
                probs = model(images).float().softmax(1)
                if eval_crops > 1:
                    probs = probs.view(-1, eval_crops, probs.shape[1]).mean(1)
                    if features:
                        features[-1] = features[-1].view(-1, eval_crops, features[-1].shape[1]).mean(1)
                labels.append(batch_labels)
                probabilities.append(probs)
                if progress is not None:
                    progress(done, len(loader))
    finally:
        if handle is not None:
            handle.remove()
    if not labels:
        raise InsightError("stopped before the first batch was evaluated")
    features = torch.cat(features)[:sum(map(len, labels))] if features else None
    return Evaluation(torch.cat(labels).long(), torch.cat(probabilities), features, list(classes),
                      complete)


def embed(features, method="pca", seed=0):
    """(N, 2) coordinates of the features: PCA (the top two principal components, by SVD) or
    t-SNE (scikit-learn, initialised from PCA)."""
    if features is None:
        raise InsightError("the network's last layer has no input features to map")
    x = features.double()
    x = x - x.mean(0)
    if method == "pca":
        if x.shape[1] < 2:
            return torch.cat([x, torch.zeros_like(x)], 1).numpy()
        _, _, vh = torch.linalg.svd(x, full_matrices=False)
        return (x @ vh[:2].T).numpy()
    if method == "tsne":
        try:
            from sklearn.manifold import TSNE
            from threadpoolctl import threadpool_limits
        except ImportError:
            raise InsightError("t-SNE needs scikit-learn (pip install scikit-learn); PCA works "
                               "without it") from None
        perplexity = float(min(30.0, max(2.0, (len(x) - 1) / 3)))
        # One OpenMP thread: beside torch's own OpenMP pool, scikit-learn's threads spin against
        # it (40 points took 27 s instead of 0.4 s on two cores).
        with threadpool_limits(1, user_api="openmp"):
            return TSNE(2, init="pca", perplexity=perplexity, random_state=seed).fit_transform(
                x.numpy()).astype(np.float64)
    raise InsightError(f"unknown embedding {method!r}; choose pca or tsne")
