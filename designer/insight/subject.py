"""What every Insight view starts from: a compiled design in evaluation mode with its weights, the
dataset it was trained on (validation split and evaluation transform), and `Tap`s that say which
compiled module computes a node's output.

Node paths are the compiled module paths: a top-level node `c1`, a layer `conv1` inside the block
`layer1_0` is `layer1_0.conv1`. A block node's output is the output of the layer inside it that
produces it, found by walking the block's sub-graph (through nested blocks and pass-through inputs).
"""

from dataclasses import dataclass, replace
from pathlib import Path
import warnings

import torch

from designer.core import atomic
from designer.core.compile import compile_graph
from designer.core.errors import CompileError, DesignError
from designer.core.infer import analyze, input_states
from designer.core.registry import Role
from designer.train.config import TrainConfig
from designer.train.data import MatchChannels, _stats, batch_eval, build_data, eval_size
from designer.train.loop import CHECKPOINT_FORMAT, main_output_view
from designer.weights import (WeightsError, check_finite, load_into, read_state_dict,
                              run_weights)
from .settings import InsightError


@dataclass(frozen=True)
class Tap:
    """Where a node's output is computed: the module path and, for a module returning a tuple,
    the index of the output; `module is None` means the network's input image itself."""
    node: str
    module: str | None
    index: int | None
    shape: tuple          # the output shape without the batch dimension

    @property
    def spatial(self):
        return len(self.shape) == 3


class EvaluatedImages(torch.utils.data.Dataset):
    """The validation set as the network sees it: each uint8 item finished by the dataset's
    evaluation transform (which works on batches, so each item is a batch of one)."""

    def __init__(self, images, evaluate):
        self.images, self.evaluate = images, evaluate

    def __len__(self):
        return len(self.images)

    @property
    def labels(self):
        return getattr(self.images, "labels", None)

    def __getitem__(self, index):
        image, label = self.images[index]
        return self.evaluate(image.unsqueeze(0))[0], label


@dataclass
class Subject:
    graph: object
    model: torch.nn.Module          # the main output only, in evaluation mode
    config: TrainConfig
    input_shape: tuple
    classes: list
    data: object = None             # a DataBundle, loaded on first use of `dataset`
    weights_note: str = ""
    weights_report: object = None   # the `WeightsReport` of the weights loaded, or None
    _analysis: tuple = None         # (graph version, analysis) shared by every tap

    @property
    def dataset(self):
        """The validation set, through the dataset's evaluation transform."""
        if self.data is None:
            self.data = build_data(self.config, self.input_shape)
            if not self.classes:
                self.classes = list(self.data.classes)
        return EvaluatedImages(self.data.val, self.data.evaluate)

    def tap(self, node_path):
        if self._analysis is None or self._analysis[0] != self.graph.version:
            self._analysis = (self.graph.version, analyze(self.graph))
        tap = find_tap(self.graph, node_path, self._analysis[1])
        if tap.module is not None:
            try:
                self.model.get_submodule(tap.module)
            except AttributeError:
                raise InsightError(f"{node_path} feeds only an auxiliary output, which "
                                   "evaluation leaves out") from None
        return tap

    def sample(self, index):
        """(image (1, C, H, W), label) of validation item `index`."""
        dataset = self.dataset
        if not 0 <= index < len(dataset):
            raise InsightError(f"there is no validation image {index}; {self.data.title} has "
                               f"{len(dataset)} (0 to {len(dataset) - 1})")
        image, label = dataset[index]
        if image.ndim == 4:          # 10-crop evaluation: the centre crop is number 4
            image = image[4]
        return image.unsqueeze(0), int(label)

    def prepare(self, image):
        return prepare_image(image, self.config, self.input_shape)

    def display(self, image):
        return display_image(image, self.config.dataset)


def input_shape_of(graph):
    inputs = graph.nodes_of_role(Role.INPUT)
    if len(inputs) != 1:
        raise InsightError(f"Insight needs a design with exactly one Input node; this one has "
                           f"{len(inputs)}")
    shape = tuple(inputs[0].params["shape"])
    if len(shape) != 3:
        raise InsightError(f"the design's input is {'×'.join(map(str, shape))}; Insight needs an "
                           "image input (C×H×W)")
    return shape


def load_subject(graph, weights=None, dataset=None, data_dir=None, partial=False):
    """A `Subject` for `graph` with `weights` (a state_dict, a checkpoint file or a state_dict
    file). The dataset settings come from the checkpoint when it holds a training run's, so the
    validation split and transform are the run's own; `dataset`/`data_dir` override them.
    Weights that do not fit every node are refused, unless `partial`: then the nodes they fit
    get them and the others keep their initial weights (the report says which), as after an
    edit; weights of which nothing fits are refused either way."""
    shape = input_shape_of(graph)
    if isinstance(weights, (str, Path)):
        weights = run_weights(weights)
    checkpoint = _read_checkpoint(weights) if isinstance(weights, Path) else None
    config = TrainConfig()
    classes = []
    if checkpoint is not None and checkpoint.get("format") == CHECKPOINT_FORMAT:
        saved = TrainConfig.from_dict(_saved_settings(checkpoint, weights))
        if dataset is None or dataset == saved.dataset:
            config = saved
            classes = _saved_classes(checkpoint, weights)
    if dataset is not None and dataset != config.dataset:
        config = TrainConfig(dataset=dataset)
    if data_dir is not None:
        config = replace(config, data_dir=str(data_dir))
    config = replace(config, download=False, out=None).validate()
    try:
        full = compile_graph(graph)
    except CompileError as error:
        raise InsightError(str(error)) from None
    note, report = "", None
    if weights is not None:
        state = check_finite(weights) if isinstance(weights, dict) else read_state_dict(weights)
        report = load_into(full, state)
        if not report.complete and not (partial and report.loaded):
            source = weights if isinstance(weights, (str, Path)) else "the weights"
            raise WeightsError(f"{source} do not fit the design: {mismatch_sentence(report)}")
        note = (f"loaded {len(report.loaded)} tensors" if report.complete
                else f"loaded {len(report.loaded)} of {report.total} tensors")
    model = main_output_view(full).eval()
    return Subject(graph, model, config, shape, classes, weights_note=note,
                   weights_report=report)


def _saved_settings(checkpoint, path):
    """The training settings a checkpoint of this project holds, as a dict of names, or
    InsightError saying what is wrong with them."""
    saved = checkpoint.get("config")
    if saved is None:
        raise InsightError(f"{path}: a training checkpoint without its training settings "
                           "(no \"config\")")
    if not isinstance(saved, dict) or not all(isinstance(k, str) for k in saved):
        raise InsightError(f"{path}: the checkpoint's training settings (\"config\") are a "
                           f"{type(saved).__name__}, not a table of named settings")
    return dict(saved)


def _saved_classes(checkpoint, path):
    """The class names a checkpoint holds (a list of texts; none when it has none)."""
    classes = checkpoint.get("classes")
    if classes is None:
        return []
    if not isinstance(classes, (list, tuple)) or not all(isinstance(c, str) for c in classes):
        raise InsightError(f"{path}: the checkpoint's class names (\"classes\") are a "
                           f"{type(classes).__name__}, not a list of names")
    return list(classes)


def _read_checkpoint(path):
    kind = atomic.not_a_file(path)
    if kind is not None:    # a FIFO would hang torch.load for ever
        raise WeightsError(f"{path} is {kind}, not a weights file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:   # not a checkpoint: read_state_dict gives the sentence
        return None
    return data if isinstance(data, dict) else None


def mismatch_sentence(report):
    """Which layers do not match, named by layer (module path) rather than by tensor."""
    def layer(name):
        return name.rsplit(".", 1)[0] if "." in name else name

    parts = []
    if report.mismatched:
        shapes = [f"{layer(n)} ({n.rsplit('.', 1)[-1]} is {_shape(model)} in the design but "
                  f"{_shape(file)} in the file)" for n, model, file in report.mismatched]
        parts.append("different shapes in " + _listed(shapes))
    if report.missing:
        parts.append("missing from the file: " + _listed(list(dict.fromkeys(map(layer, report.missing)))))
    if report.unexpected and parts:
        parts.append("in the file but not the design: "
                     + _listed(list(dict.fromkeys(map(layer, report.unexpected)))))
    return "; ".join(parts)


def _listed(items, limit=6):
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _shape(shape):
    return "×".join(map(str, shape)) or "a scalar"


# -- images ----------------------------------------------------------------------------------

def prepare_image(image, config, input_shape):
    """One image (a file path, a PIL image, an H×W / H×W×C array or a C×H×W tensor) as the
    network sees it, (1, C, H, W): converted to the design's channel count, resized to its input
    and normalised by the dataset's own evaluation transform (centre crop)."""
    tensor = _image_tensor(image)
    channels = input_shape[0]
    try:
        tensor = MatchChannels(channels)(tensor)
    except DesignError:
        raise InsightError(f"the image has {tensor.shape[0]} channels; the design takes "
                           f"{channels} and only 1- or 3-channel images can be converted to it") \
            from None
    config = replace(config, eval_crop="center")
    if tensor.dtype != torch.uint8:   # the evaluation path finishes uint8 images
        tensor = (tensor.clamp(0, 1) * 255).round().to(torch.uint8)
    size = list(eval_size(config, config.dataset, input_shape))
    if list(tensor.shape[-2:]) != size:
        from torchvision.transforms.v2 import functional as TF   # seconds to import: when needed
        tensor = TF.resize(tensor, size, antialias=True)
    return batch_eval(config, config.dataset, input_shape)(tensor.unsqueeze(0))


# An image may have at most this many pixels: PIL decodes a 144 Mpx PNG of 420 kB into 2.6 GB.
MAX_IMAGE_PIXELS = 50_000_000


def _image_tensor(image):
    import numpy as np
    from PIL import Image
    if isinstance(image, (str, Path)):
        image = _read_image(Path(image))
    if isinstance(image, Image.Image):
        image = np.asarray(image)
    if isinstance(image, np.ndarray):
        array = image
        if array.ndim == 2:
            array = array[:, :, None]
        if array.ndim != 3:
            raise InsightError(f"an image array must be H×W or H×W×C; this one is "
                               f"{'×'.join(map(str, array.shape))}")
        if array.shape[2] == 4:                      # RGBA: drop alpha
            array = array[:, :, :3]
        tensor = torch.from_numpy(np.array(array.transpose(2, 0, 1)))   # a writable copy
    elif isinstance(image, torch.Tensor):
        tensor = image
        if tensor.ndim == 2:
            tensor = tensor.unsqueeze(0)
        if tensor.ndim != 3:
            raise InsightError(f"an image tensor must be C×H×W; this one is "
                               f"{'×'.join(map(str, tensor.shape))}")
    else:
        raise InsightError(f"cannot read an image from a {type(image).__name__}")
    if min(tensor.shape[1:]) < 1:
        raise InsightError("the image is empty")
    if tensor.dtype != torch.uint8:
        tensor = tensor.float()
        if tensor.max() > 1.0:
            tensor = tensor / 255.0
    return tensor


def _read_image(path):
    """The image file at `path` as a PIL image (L or RGB) or, when it has more than 8 bits per
    sample, a float array in 0..1: 16-bit samples over 65535, float samples as they are (scaled
    by their maximum when it is above 1), so a 16-bit or float image keeps its brightness."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError
    kind = atomic.not_a_file(path)
    if kind is not None:    # a FIFO would hang the reader for ever
        raise InsightError(f"{path} is {kind}, not an image file")
    try:
        with warnings.catch_warnings():    # PIL's bomb warning: refused below by pixel count
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = Image.open(path)
        with opened:
            width, height = opened.size      # from the header: nothing decoded yet
            if width * height > MAX_IMAGE_PIXELS:
                raise InsightError(
                    f"{path}: {width}×{height} pixels is more than the "
                    f"{MAX_IMAGE_PIXELS // 1_000_000} million an image may have here; "
                    "shrink it first")
            if opened.mode in ("L", "RGB"):
                return opened.copy()
            if opened.mode.startswith("I;16") or opened.mode in ("I", "F"):
                array = np.asarray(opened, dtype=np.float32)
                if opened.mode == "F":
                    top = float(np.nanmax(array)) if array.size else 0.0
                    return np.nan_to_num(array / top if top > 1.0 else array)
                return array / 65535.0
            # palette, alpha, CMYK, 1-bit ...: to grey or RGB, whichever holds it
            return opened.convert("L" if opened.mode in ("1", "LA") else "RGB")
    except FileNotFoundError:
        raise InsightError(f"{path}: no such image file") from None
    except Image.DecompressionBombError:
        raise InsightError(f"{path}: refused as a decompression bomb (its header claims more "
                           "pixels than PIL will decode)") from None
    except (UnidentifiedImageError, OSError) as error:
        raise InsightError(f"{path}: not an image that can be read ({error})") from None


def display_image(image, dataset):
    """A prepared image (1, C, H, W) back in 0..1 for showing: (H, W) grey or (H, W, 3) RGB."""
    image = image[0] if image.ndim == 4 else image
    mean, std = _stats(dataset, image.shape[0])
    pixels = image * torch.tensor(std).view(-1, 1, 1) + torch.tensor(mean).view(-1, 1, 1)
    pixels = pixels.clamp(0, 1)
    return pixels[0].numpy() if pixels.shape[0] == 1 else pixels[:3].permute(1, 2, 0).numpy()


# -- taps --------------------------------------------------------------------------------------

def find_tap(graph, node_path, results=None):
    """The `Tap` computing the (first) output of the node at `node_path`; `results` is the
    graph's analysis when the caller has it."""
    results = results if results is not None else analyze(graph)
    outer = None            # the top level has no block inputs
    prefix = ""
    remaining = node_path
    while True:
        node_id = _match_node(graph, remaining)
        if node_id is None:
            raise InsightError(f"the design has no node {node_path!r}")
        result = results[node_id]
        if not result.ok:
            raise InsightError(f"{node_path} has an error in the design: "
                               f"{result.error or 'an input has an error'}")
        node = graph.nodes[node_id]
        rest = remaining[len(node_id) + 1:]
        if not rest:
            port = node.output_ports()[0] if node.output_ports() else None
            if port is None:      # an Output node shows what arrives at it
                edge = graph.in_edge(node_id, "in")
                return _source(graph, results, prefix, edge.src, edge.src_port, outer, node_path)
            return _source(graph, results, prefix, node_id, port, outer, node_path)
        if not node.is_block:
            raise InsightError(f"the design has no node {node_path!r} ({node_id} is not a block)")
        graph, results, outer = _enter(graph, results, prefix, node_id, outer)
        prefix += node_id + "."
        remaining = rest


def _match_node(graph, path):
    # Node ids may themselves hold dots: the longest id that starts the path wins.
    candidates = [nid for nid in graph.nodes if path == nid or path.startswith(nid + ".")]
    return max(candidates, key=len) if candidates else None


def _enter(graph, results, prefix, node_id, outer):
    node = graph.nodes[node_id]
    states = input_states(graph, results, node_id)
    inner = node.block_graph([s.shape for s in states.values()])
    inner_results = analyze(inner, states)

    def inner_outer(name, graph=graph, results=results):
        edge = graph.in_edge(node_id, name)
        return lambda node_path: _source(graph, results, prefix, edge.src, edge.src_port, outer,
                                         node_path)
    return inner, inner_results, inner_outer


def _source(graph, results, prefix, node_id, port, outer, node_path):
    node = graph.nodes[node_id]
    shape = tuple(results[node_id].outputs[port].shape)
    if node.role is Role.INPUT:
        return Tap(node_path, None, None, shape)
    if node.role is Role.BLOCK_INPUT:
        return outer(node.params["name"])(node_path)
    if node.is_block:
        inner, inner_results, inner_outer = _enter(graph, results, prefix, node_id, outer)
        out_node = next(n for n in inner.nodes_of_role(Role.OUTPUT) if n.params["name"] == port)
        edge = inner.in_edge(out_node.id, "in")
        return _source(inner, inner_results, prefix + node_id + ".", edge.src, edge.src_port,
                       inner_outer, node_path)
    ports = node.output_ports()
    return Tap(node_path, prefix + node_id, ports.index(port) if len(ports) > 1 else None, shape)


def node_paths(graph, prefix=""):
    """Every node path of the design that has an output to show, top level first."""
    paths = []
    order, _ = graph.topological_order()
    for nid in order:
        node = graph.nodes[nid]
        if node.role not in (Role.OUTPUT, Role.BLOCK_INPUT):
            paths.append(prefix + nid)
    return paths
