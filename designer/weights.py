"""Weights in: read a state_dict from a file and load it into a compiled design, reporting what
matched.

`read_state_dict` accepts a bare state_dict or a training checkpoint holding the model's state under
"model" (or "state_dict"), always through `torch.load(weights_only=True)` so a file is never
executed. `load_into` loads every tensor whose name and shape match and lists the rest; it never
copies a tensor of the wrong shape. Its report also says, per node of the design, which tensors did
not fit (`by_node`) in a sentence for panels (`untrained_sentence`): after an edit, the nodes whose
id and shapes are unchanged keep their weights. Engines that must refuse weights which do not fit
(training, compression) check `report.complete`. `weights_beside` finds the weights a design file
was saved with. `published_weights` finds the published weights of a torchvision or timm model
in PyTorch's hub cache (never downloading them) and `published_source` names the model a design
reproduces.

A leaf beside the core (it imports `designer.core`, torch and torchvision only): training,
compression, insight, export and the ui all read weights, so it belongs to none of them. torch
is imported inside the functions that use it, so the editor window opens without it.
"""

from dataclasses import dataclass, field
from pathlib import Path
import pickletools
import re
import zipfile

from designer.core import fileformat
from designer.core import atomic
from designer.core.atomic import atomic_paths
from designer.core.errors import DesignError

# Prefixes that wrappers add to every key: DataParallel/DDP and torch.compile.
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")


class WeightsError(DesignError):
    """A weights file that cannot be read, or whose tensors do not fit the design."""


_TERMINAL_CODES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def load_weights_only(path, error_class):
    """`torch.load(path, weights_only=True)` on the CPU; a file it refuses or cannot read raises
    `error_class` with one plain sentence (torch's own message is a page with colour codes)."""
    kind = atomic.not_a_file(path)
    if kind is not None:
        raise error_class(f"{path} is {kind}, not a weights file")
    import torch
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a file it cannot unpickle
        text = _TERMINAL_CODES.sub("", str(error))
        found = re.search(r"GLOBAL ([\w.]+)", text)
        if "Weights only load failed" in text and found:
            what = f" (it refers to {found.group(1)})"
            raise error_class(
                f"{path}: not a weights-only checkpoint{what}: it stores Python objects that "
                "loading would run as code, so it is refused; save a state_dict of tensors "
                "instead") from None
        # torch's reason without its page of advice ("Unsupported operand 110" for a text file).
        reason = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\n\n|$)", text, re.S)
        first = " ".join((reason.group(1) if reason else text).split())[:200] or type(error).__name__
        raise error_class(f"{path}: not a PyTorch weights file that can be read ({first})") from None


def _is_state_dict(value):
    import torch
    return isinstance(value, dict) and bool(value) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items())


def _strip_wrappers(state):
    for prefix in _WRAPPER_PREFIXES:
        if all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state


def _state_dict_in(data):
    """The model's state_dict held by what a weights file loads to (a bare state_dict, or a
    checkpoint holding one under "model" or "state_dict"), or None."""
    if _is_state_dict(data):
        return _strip_wrappers(dict(data))
    if isinstance(data, dict):
        for key in ("model", "state_dict"):
            if _is_state_dict(data.get(key)):
                return _strip_wrappers(dict(data[key]))
    return None


def not_finite(state):
    """[(name, "NaN" or "Inf")] of the floating-point tensors of `state` holding a NaN or an
    infinite value, in the state_dict's order."""
    import torch
    found = []
    for name, tensor in state.items():
        if not isinstance(tensor, torch.Tensor) or not (tensor.is_floating_point()
                                                        or tensor.is_complex()):
            continue
        if tensor.device.type == "meta" or bool(torch.isfinite(tensor).all()):
            continue
        found.append((name, "NaN" if bool(torch.isnan(tensor).any()) else "Inf"))
    return found


def check_finite(state, source="the weights"):
    """Refuse weights holding NaN or Inf (a run that diverged, a damaged file): every engine
    would compute NaN from them, and SVD or k-means fail on them. WeightsError names the
    tensors."""
    found = not_finite(state)
    if found:
        shown = ", ".join(f"{name} ({kind})" for name, kind in found[:8])
        more = f" and {len(found) - 8} more" if len(found) > 8 else ""
        raise WeightsError(f"{source}: the weights hold NaN or infinite values, in {shown}{more}; "
                           "they cannot be used (take an earlier checkpoint)")
    return state


def read_state_dict(path, finite=True):
    """The state_dict stored in `path` (a bare state_dict or a checkpoint with "model"); a
    training run folder means its best.pt (else last.pt), as `designer inspect` reads one.
    Weights holding NaN or Inf are refused (`check_finite`) unless `finite` is False."""
    path = run_weights(path)
    if path.is_dir():
        raise WeightsError(f"{path}: a folder, not a weights file (a training run's folder "
                           "holds best.pt or last.pt)")
    if not path.exists():
        raise WeightsError(f"{path}: no such weights file")
    data = load_weights_only(path, WeightsError)
    state = _state_dict_in(data)
    if state is not None:
        return check_finite(state, path) if finite else state
    if isinstance(data, dict):
        keys = ", ".join(sorted(map(str, data))[:8])
        raise WeightsError(f"{path}: a dict without model weights (keys: {keys}); expected a "
                           "state_dict or a checkpoint holding one under \"model\"")
    raise WeightsError(f"{path}: holds a {type(data).__name__}, not a state_dict of tensors")


def run_weights(path):
    """`path` as a weights file: a training run folder (it holds last.pt) means its best.pt,
    else its last.pt; any other path is itself."""
    path = Path(path).expanduser()
    if path.is_dir() and ((path / "best.pt").is_file() or (path / "last.pt").is_file()):
        return path / "best.pt" if (path / "best.pt").is_file() else path / "last.pt"
    return path


def weights_beside(design_path):
    """The weights saved beside a design file under its name (design.pt next to design.json, as
    Compress writes its results), or None. A TorchScript export of the same name is not weights.
    Read without torch (a design opens before PyTorch has loaded): the file's pickle is scanned,
    not run, for a dict holding tensors; the tensors are checked when the weights are loaded."""
    path = Path(design_path).with_suffix(".pt")
    if not path.is_file() or _is_torchscript(path):
        return None
    return path if _pickles_tensor_dict(path) else None


def _pickles_tensor_dict(path):
    """True when `path` is a torch.save archive whose pickle is a dict (a state_dict or a
    checkpoint) holding tensors. pickletools reads the opcodes without running any of them."""
    try:
        with zipfile.ZipFile(path) as archive:
            name = next((n for n in archive.namelist() if n.rsplit("/", 1)[-1] == "data.pkl"),
                        None)
            if name is None:
                return False
            data = archive.read(name)
    except (zipfile.BadZipFile, OSError):
        return False
    first, tensors, strings = None, False, []
    try:
        for opcode, argument, _ in pickletools.genops(data):
            if opcode.name in ("PROTO", "FRAME", "MARK", "MEMOIZE", "BINPUT", "LONG_BINPUT"):
                continue
            if opcode.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
                strings.append(argument)
            if opcode.name in ("GLOBAL", "STACK_GLOBAL"):
                found = argument.replace(" ", ".") if opcode.name == "GLOBAL" else \
                    ".".join(strings[-2:])
                tensors |= found.startswith("torch._utils._rebuild")
                if first is None:
                    first = found
            elif first is None and opcode.name not in ("SHORT_BINUNICODE", "BINUNICODE",
                                                       "UNICODE"):
                first = opcode.name
    except Exception:  # noqa: BLE001 - a damaged pickle is not weights to adopt
        return False
    return tensors and first in ("EMPTY_DICT", "collections.OrderedDict")


def _is_torchscript(path):
    """A TorchScript archive holds constants.pkl (torch.load's own test, before it hands such a
    file to torch.jit.load, which would build the whole program)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.rsplit("/", 1)[-1] == "constants.pkl" for name in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


@dataclass
class WeightsReport:
    """What `load_into` did: names loaded, model tensors the file lacks, file tensors the model
    lacks, and (name, model shape, file shape) for names whose shapes differ (not loaded)."""
    loaded: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    unexpected: list = field(default_factory=list)
    mismatched: list = field(default_factory=list)
    renewed: list = field(default_factory=list)     # left out on purpose (a new head)
    shapes: dict = field(default_factory=dict)      # name -> shape of the missing, unexpected

    def to_dict(self):
        """What did not load, as JSON (a run's events): names with their shapes."""
        def shaped(names):
            return [[name, list(self.shapes.get(name, ()))] for name in names]
        return {"loaded": len(self.loaded), "total": self.total,
                "mismatched": [[name, list(model), list(file)]
                               for name, model, file in self.mismatched],
                "missing": shaped(self.missing), "unexpected": shaped(self.unexpected),
                "renewed": shaped(self.renewed)}

    def details(self):
        """Every tensor that did not load, one line each with its shape (the CLI prints it)."""
        lines = [f"  {name}: {_shape_text(model)} in the design, {_shape_text(file)} in the file "
                 "(not loaded)" for name, model, file in self.mismatched]
        for names, why in ((self.missing, "missing from the file (left as initialised)"),
                           (self.unexpected, "in the file only (ignored)"),
                           (self.renewed, "new head (initialised afresh)")):
            lines += [f"  {name}: {_shape_text(self.shapes.get(name, ()))} {why}"
                      for name in names]
        return "\n".join(lines)

    @property
    def complete(self):
        """Every tensor of the model came from the file (extra tensors in the file are allowed)."""
        return not self.missing and not self.mismatched

    @property
    def exact(self):
        return self.complete and not self.unexpected

    @property
    def total(self):
        """The model's tensors."""
        return len(self.loaded) + len(self.missing) + len(self.mismatched) + len(self.renewed)

    def __str__(self):
        lines = [f"loaded {len(self.loaded)} of {self.total} tensors"]

        def listed(names, limit=8):
            more = f" (and {len(names) - limit} more)" if len(names) > limit else ""
            return ", ".join(names[:limit]) + more

        if self.mismatched:
            lines.append("shape mismatch (not loaded): " + listed(
                [f"{name} is {_shape_text(model)} in the design but {_shape_text(file)} in the file"
                 for name, model, file in self.mismatched], 5))
        if self.missing:
            lines.append("missing from the file (left as initialised): " + listed(self.missing))
        if self.unexpected:
            lines.append("in the file but not in the design (ignored): " + listed(self.unexpected))
        if self.renewed:
            lines.append("new head, initialised afresh: " + listed(self.renewed))
        return "; ".join(lines)

    def by_node(self, node_ids):
        """{node id: NodeFit} for each node of the design (ids `node_ids`) with a tensor that did
        not load, and for each node of the file's the design no longer has (named by the first
        part of its tensors' names)."""
        nodes = {}

        def fit(name):
            node = node_of(name, node_ids) or name.split(".", 1)[0]
            return nodes.setdefault(node, NodeFit())

        for name in self.missing:
            fit(name).missing.append(name)
        for row in self.mismatched:
            fit(row[0]).mismatched.append(row)
        for name in self.unexpected:
            fit(name).unexpected.append(name)
        order = {node: index for index, node in enumerate(node_ids)}
        return dict(sorted(nodes.items(), key=lambda item: order.get(item[0], len(order))))

    def untrained_sentence(self, node_ids):
        """Which nodes of the design start from new weights, and why: "c3, f6 have new weights
        (their shapes changed)"; "" when every node loaded."""
        nodes = self.by_node(node_ids)
        changed = [n for n, fit in nodes.items() if fit.mismatched]
        new = [n for n, fit in nodes.items() if fit.missing and not fit.mismatched]
        parts = []
        if changed:
            parts.append(_have_new_weights(changed) + (" (their shapes changed)" if len(changed) > 1
                                                        else " (its shapes changed)"))
        if new:
            parts.append(_have_new_weights(new) + " (not in the weights file)")
        return "; ".join(parts)


@dataclass
class NodeFit:
    """The tensors of one node that did not fit: names the file lacks, (name, design shape, file
    shape) for names whose shapes differ, and the file's names the design lacks."""
    missing: list = field(default_factory=list)
    mismatched: list = field(default_factory=list)
    unexpected: list = field(default_factory=list)


def node_of(tensor_name, node_ids):
    """The design node a compiled tensor belongs to (a block's tensors are under its id), or
    None. Node ids may hold dots: the longest id that starts the name wins."""
    found = [nid for nid in node_ids if tensor_name.startswith(nid + ".")]
    return max(found, key=len) if found else None


def _names(nodes, limit=8):
    more = f" and {len(nodes) - limit} more" if len(nodes) > limit else ""
    return ", ".join(nodes[:limit]) + more


def _have_new_weights(nodes):
    return f"{_names(nodes)} {'have' if len(nodes) > 1 else 'has'} new weights"




def _shape_text(shape):
    return "×".join(map(str, shape)) or "a scalar"


def _with_layer_scale_aliases(module, state_dict):
    """A LayerScale's `scale` also loads from a bare parameter named after the layer, as
    torchvision's ConvNeXt blocks keep it (`features.1.0.layer_scale`)."""
    from designer.core.modules import LayerScale
    renamed = dict(state_dict)
    for path, child in module.named_modules():
        key = f"{path}.scale"
        if isinstance(child, LayerScale) and key not in renamed and path in renamed:
            renamed[key] = renamed.pop(path).reshape(child.scale.shape)
    return renamed


def match(module, state_dict, renew=()):
    """(the `WeightsReport` loading `state_dict` into `module` would give, the tensors it would
    load), loading nothing: a module built on the meta device tells what fits without memory.
    Tensors under the module paths `renew` (a new head) are left as initialised."""
    own = module.state_dict()
    report = WeightsReport()
    usable = {}
    state_dict = _with_layer_scale_aliases(module, state_dict)
    for name, tensor in own.items():
        if any(name == p or name.startswith(p + ".") for p in renew):
            report.renewed.append(name)
            report.shapes[name] = tuple(tensor.shape)
        elif name not in state_dict:
            report.missing.append(name)
            report.shapes[name] = tuple(tensor.shape)
        elif tuple(state_dict[name].shape) != tuple(tensor.shape):
            report.mismatched.append((name, tuple(tensor.shape), tuple(state_dict[name].shape)))
        else:
            usable[name] = state_dict[name]
            report.loaded.append(name)
    report.unexpected = [name for name in state_dict if name not in own]
    report.shapes.update((name, tuple(state_dict[name].shape)) for name in report.unexpected)
    return report, usable


def load_into(module, state_dict, renew=()):
    """Load the tensors of `state_dict` whose names and shapes match `module`, except those
    under `renew`; a `WeightsReport` (`by_node` says which nodes kept their initial weights)."""
    report, usable = match(module, state_dict, renew)
    module.load_state_dict(usable, strict=False)
    return report


def torchvision_builder_name(name):
    """The torchvision model of this name (a preset named after it), or None."""
    import torchvision
    try:
        torchvision.models.get_model_builder(name)
    except ValueError:
        return None
    return name


def torchvision_model_for_preset(preset):
    """The torchvision model a preset reproduces, or None. `alexnet_torchvision` reproduces
    torchvision's alexnet; `alexnet` itself is the paper's network, different from torchvision's
    despite the name, because a `<name>_torchvision` preset exists beside it."""
    from designer.core.presets import preset_names
    if preset.endswith("_torchvision"):
        return torchvision_builder_name(preset.removesuffix("_torchvision"))
    if f"{preset}_torchvision" in preset_names():
        return None
    return torchvision_builder_name(preset)


def hub_checkpoints():
    """Where PyTorch keeps downloaded weights: torch.hub.get_dir()/checkpoints, under the file
    name of their URL (torchvision's and timm's `load_state_dict_from_url` look there first)."""
    import torch
    return Path(torch.hub.get_dir()) / "checkpoints"


def _torchvision_weights(name, weights="DEFAULT"):
    import torchvision
    if torchvision_builder_name(name) is None:
        raise WeightsError(f"torchvision has no model named {name!r}")
    enum = torchvision.models.get_model_weights(name)
    try:
        return enum[weights] if weights != "DEFAULT" else enum.DEFAULT
    except KeyError:
        choices = ", ".join(w.name for w in enum)
        raise WeightsError(f"{name} has no weights {weights!r}; choose one of {choices}") from None


def published_weights(source, weights="DEFAULT"):
    """The file holding the published weights of `source` (torchvision:NAME or timm:NAME) on this
    machine: in PyTorch's hub cache under the name torchvision or timm would give it (timm's
    also in the Hugging Face cache). Nothing is downloaded: when the file is absent,
    WeightsError says where to put it."""
    kind, _, name = source.partition(":")
    hub_url, hub_page, cached = None, None, []    # torch hub's URL; Hugging Face's repository
    if kind == "torchvision":
        hub_url = _torchvision_weights(name, weights).url
    elif kind == "timm":
        try:
            from timm.models import get_pretrained_cfg
        except ImportError:
            raise WeightsError("timm is not installed (pip install 'cnn-designer[interop]'), "
                               f"so the weights of {source} cannot be read") from None
        cfg = get_pretrained_cfg(name)
        if cfg is None or not (cfg.url or cfg.hf_hub_id):
            raise WeightsError(f"timm publishes no weights for {name!r}")
        hub_url = cfg.url or None
        if cfg.hf_hub_id:
            hub_page = f"https://huggingface.co/{cfg.hf_hub_id}"
            cached = _huggingface_cached(cfg.hf_hub_id, cfg.hf_hub_filename)
    else:
        raise WeightsError(f"{source!r}: published weights come from torchvision:NAME or "
                           "timm:NAME")
    folder = hub_checkpoints()
    file_name = Path(hub_url.split("?", 1)[0]).name if hub_url else None
    for candidate in ([folder / file_name] if file_name else []) + cached:
        if candidate.is_file():
            return candidate
    where = (f"put {file_name} (from {hub_url}) in {folder}" if file_name
             else f"download model.safetensors from {hub_page}")
    raise WeightsError(f"the published weights of {source} are not on this machine, and they "
                       f"are never downloaded here: {where}, or give the file with --weights "
                       "PATH")


def _huggingface_cached(repo_id, filename=None):
    """The files of `repo_id` already in the Hugging Face cache (looked up, never fetched)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return []
    found = []
    for name in filter(None, (filename, "model.safetensors", "pytorch_model.bin")):
        path = try_to_load_from_cache(repo_id, name)
        if isinstance(path, str):
            found.append(Path(path))
    return found


def published_state_dict(source, weights="DEFAULT"):
    """The published state_dict of `source` (torchvision:NAME or timm:NAME) read from this
    machine's caches (`published_weights`), with timm's own key conversions applied."""
    path = published_weights(source, weights)
    kind, _, name = source.partition(":")
    if kind == "timm":
        import timm
        try:
            model = timm.create_model(name, pretrained=True,
                                      pretrained_cfg_overlay={"file": str(path)})
        except Exception as error:  # timm raises many kinds for a file that does not fit
            raise WeightsError(f"{path}: timm could not load it into {name} "
                               f"({type(error).__name__}: {error})") from None
        return model.state_dict()
    return read_state_dict(path)


def torchvision_state_dict(name, weights="DEFAULT"):
    """The pretrained state_dict of torchvision model `name` from PyTorch's hub cache (never
    downloaded; `published_weights` says where the file goes). `weights` names an entry of the
    model's weights enum, e.g. "IMAGENET1K_V1"."""
    return published_state_dict(f"torchvision:{name}", weights)


_IMPORTED = re.compile(r"Imported from ((?:torchvision|timm):[\w.\-]+)")


def published_source(graph, design=None):
    """The torchvision:NAME or timm:NAME whose published weights `graph` reproduces, or None:
    a preset named like a torchvision model (`design`, as given to a verb, or a design keeping a
    preset's name), or a design `designer import` made from torchvision or timm."""
    from designer.core.presets import preset_names
    if design and Path(design).suffix != ".json" and design in preset_names():
        model = torchvision_model_for_preset(design)
        return f"torchvision:{model}" if model else None
    found = _IMPORTED.search(graph.description or "")
    if found:
        return found.group(1)
    return _preset_sources().get(graph.name)


def _preset_sources():
    """{preset title: torchvision:NAME} of the presets reproducing a torchvision model."""
    import json
    from designer.core.presets import preset_names, preset_path
    titles = {}
    for preset in preset_names():
        model = torchvision_model_for_preset(preset)
        if model:
            with open(preset_path(preset), encoding="utf-8") as handle:
                titles[json.load(handle).get("name")] = f"torchvision:{model}"
    return titles


def load_torchvision(module, name, weights="DEFAULT", state_dict=None):
    """Load torchvision's `name` weights into `module` (a compiled preset reproducing that model).
    `state_dict` skips the hub cache (tests pass `builder(weights=None).state_dict()`)."""
    if state_dict is None:
        state_dict = torchvision_state_dict(name, weights)
    report = load_into(module, state_dict)
    if not report.complete:
        raise WeightsError(f"torchvision's {name} does not match this design: {report}")
    return report


def weights_path_for(design_path):
    """Where a design file's weights are written: beside it, with the same stem (OUT.json ->
    OUT.pt), where `weights_beside` finds them."""
    return Path(design_path).with_suffix(".pt")


def save_design_with_weights(graph, state, design_path):
    """Write a design and its state_dict beside it as one unit: both files are written and
    flushed before either replaces its old version, so a failed or killed save leaves the old
    pair as it was (the weights load with torch.load(weights_only=True))."""
    import torch
    design_path = Path(design_path)
    with atomic_paths(weights_path_for(design_path), design_path) as (weights_tmp, design_tmp):
        torch.save({k: v.detach().cpu().contiguous() for k, v in state.items()}, weights_tmp)
        Path(design_tmp).write_text(fileformat.dumps(graph), encoding="utf-8")
