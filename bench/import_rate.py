"""How many timm CNN families `designer import` takes: the smallest model of each family, random
weights (pretrained=False), traced at a small input, checked against the model itself.

Each row is one of: `equal` (the design's outputs equal the model's, the max absolute difference
shown, and whether the parameter counts agree: NFNet-style weight standardisation folds its
gains into the weights, so the design holds fewer), `reported` (exit 2 listing the operations
the catalogue lacks), `refused` (exit 2 with another sentence), or `crash` (a Python exception:
a bug). The README's import-rate table is this script's output.

    python bench/import_rate.py [--size 96] [--only resnet18 dla34]
"""

import argparse
from collections import Counter
from pathlib import Path
import sys
import time

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from designer.core.compile import compile_graph  # noqa: E402
from designer.core.errors import DesignError  # noqa: E402
from designer.core.infer import Analyzer  # noqa: E402
from designer.interop import UnsupportedOpsError  # noqa: E402
from designer.interop.pytorch import import_model  # noqa: E402

# family: its smallest timm model (timm 1.0.31). Convolutional families only: no pure ViTs.
FAMILIES = {
    "ResNet": "resnet18", "ResNet-D": "resnet18d", "ResNeXt": "resnext26ts",
    "SE-ResNet": "seresnet18", "ResNet v2 (pre-act)": "resnetv2_50",
    "RegNetX": "regnetx_002", "RegNetY": "regnety_002", "EfficientNet": "efficientnet_b0",
    "MobileNet v2": "mobilenetv2_050", "MobileNet v3": "mobilenetv3_small_050",
    "MobileNet v4": "mobilenetv4_conv_small", "MnasNet": "mnasnet_small", "FBNet": "fbnetc_100",
    "GhostNet": "ghostnet_100", "RepGhostNet": "repghostnet_050", "ReXNet": "rexnet_100",
    "MixNet": "mixnet_s", "TinyNet": "tinynet_e", "LCNet": "lcnet_050",
    "HardCoReNAS": "hardcorenas_a", "Res2Net": "res2net50_14w_8s", "CSPResNet": "cspresnet50",
    "CSPDarkNet": "cspdarknet53", "DarkNet": "darknet17", "DLA": "dla34",
    "HRNet": "hrnet_w18_small", "NF-RegNet": "nf_regnet_b0", "NFNet": "dm_nfnet_f0",
    "DenseNet": "densenet121", "TResNet": "tresnet_m", "SKNet": "skresnet18",
    "ResNeSt": "resnest14d", "DPN": "dpn48b", "MobileOne": "mobileone_s0", "RepVGG": "repvgg_a0",
    "VGG": "vgg11", "Inception v3": "inception_v3", "Inception v4": "inception_v4",
    "Xception": "xception41", "ConvNeXt": "convnext_atto", "ConvNeXt v2": "convnextv2_atto",
    "EdgeNeXt": "edgenext_xx_small", "VoVNet": "ese_vovnet19b_dw", "SelecSLS": "selecsls42b",
    "GENet": "gernet_s", "HGNet v2": "hgnetv2_b0", "GCResNet": "gcresnet33ts",
    "ECA-ResNet": "ecaresnet26t", "BAT-ResNeXt": "bat_resnext26ts",
    "RepViT": "repvit_m1", "FastViT": "fastvit_t8", "InceptionNeXt": "inception_next_atto",
}
BIG_INPUT = {"inception_v3": 299, "inception_v4": 299, "xception41": 160}


def _first_ops(items, shown=3):
    counts = Counter(op.split(" (")[0] for op, _ in items)
    return ", ".join(f"{op} ×{n}" if n > 1 else op for op, n in counts.most_common(shown))


def try_import(name, size):
    import timm
    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False).eval()
    shape = (3, size, size)
    params = sum(p.numel() for p in model.parameters())
    try:
        result = import_model(model, shape, name)
    except UnsupportedOpsError as error:
        return "reported", f"{len(error.items)} ops: {_first_ops(error.items)}"
    except DesignError as error:
        return "refused", str(error)[:160]
    except Exception as error:   # noqa: BLE001 - a crash is what this script looks for
        return "crash", f"{type(error).__name__}: {str(error)[:100]}"
    compiled = compile_graph(result.graph).eval()
    compiled.load_state_dict(result.state_dict, strict=True)
    x = torch.randn((2,) + shape)
    with torch.no_grad():
        difference = (compiled(x) - model(x)).abs().max().item()
    same_params = Analyzer(result.graph).totals.params == params
    if difference > 1e-3:
        return "differs", f"max abs difference {difference:.2g}"
    note = "" if same_params else " (gains folded into weights: fewer parameters)"
    return "equal", f"max abs difference {difference:.1g}{note}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--only", nargs="*", help="model names to try (default: every family)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = [(f, m) for f, m in FAMILIES.items() if not args.only or m in args.only]
    print("| Family | timm model | Input | Result | Detail |")
    print("|---|---|---|---|---|")
    tally = Counter()
    for family, name in rows:
        size = BIG_INPUT.get(name, args.size)
        start = time.perf_counter()
        try:
            result, detail = try_import(name, size)
        except Exception as error:   # noqa: BLE001 - timm could not build it
            result, detail = "not built", f"{type(error).__name__}: {str(error)[:80]}"
        tally[result] += 1
        print(f"| {family} | {name} | {size} | {result} | {detail} |", flush=True)
        print(f"  ({time.perf_counter() - start:.1f} s)", file=sys.stderr, flush=True)
    print()
    print(f"{len(rows)} families: " + ", ".join(f"{n} {r}" for r, n in tally.most_common()))


if __name__ == "__main__":
    main()
