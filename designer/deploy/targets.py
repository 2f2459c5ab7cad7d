"""The deploy targets, the file each writes and the packages each needs.

ExecuTorch, torchao (PT2E quantisation) and Core ML's converter come with the `deploy` extra;
onnxruntime with `export`. Whether a target is offered here is whether its packages import, so a
missing one is refused with the line to install it rather than a traceback.
"""

from dataclasses import dataclass
import importlib.util

from designer.core.errors import DesignError


class DeployError(DesignError):
    """A deployment that cannot be carried out; the sentence says why."""


@dataclass(frozen=True)
class Target:
    name: str
    suffix: str           # the file it writes
    runtime: str          # where the file is loaded back, in words
    packages: tuple       # modules it imports
    extra: str            # the optional extra that installs them
    int8: bool            # calibrated static int8
    help: str


TARGETS = {t.name: t for t in (
    Target("executorch", ".pte", "the ExecuTorch runtime", ("executorch",), "deploy", False,
           "ExecuTorch program, fp32, lowered to the XNNPACK delegate"),
    Target("executorch-int8", ".pte", "the ExecuTorch runtime", ("executorch", "torchao"),
           "deploy", True,
           "ExecuTorch program, PT2E static int8 (per-channel weights) on XNNPACK"),
    Target("onnx-int8", ".onnx", "onnxruntime", ("onnx", "onnxruntime"), "export", True,
           "ONNX with onnxruntime static int8 quantisation (QDQ, per-channel weights)"),
    Target("coreml", ".mlpackage", "coremltools (the spec is checked: Core ML runs on Apple "
           "systems only)", ("coremltools",), "deploy", False,
           "Core ML ML program (fp16 compute) converted from torch.export"),
)}

# Asked for in the issue but not offered, and why (the README says the same).
NOT_OFFERED = {
    "tflite": "litert-torch (LiteRT) does not install cleanly beside this torch: it downgrades "
              "typing-extensions below what coremltools' cattrs needs, and pulls in JAX and "
              "transformers",
}


def target(name):
    """The Target called `name`, or DeployError listing the choices."""
    if name in TARGETS:
        return TARGETS[name]
    why = f" ({NOT_OFFERED[name]})" if name in NOT_OFFERED else ""
    raise DeployError(f"unknown target {name!r}{why}; choose one of {', '.join(TARGETS)}")


def missing(t):
    """The packages of target `t` that do not import here."""
    return [p for p in t.packages if importlib.util.find_spec(p) is None]


def available(t):
    return not missing(t)


def require(t):
    absent = missing(t)
    if absent:
        raise DeployError(f"the {t.name} target needs {', '.join(absent)}, which "
                          f"{'is' if len(absent) == 1 else 'are'} not installed: "
                          f"pip install 'cnn-designer[{t.extra}]'")
