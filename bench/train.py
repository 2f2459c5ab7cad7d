"""Training throughput of a compiled design against the same network hand-written by torchvision.

Compiles the resnet18 preset at 3×32×32 (the design reproduces torchvision's resnet18 key for key)
and trains it and `torchvision.models.resnet18(num_classes=1000)` in the same loop (forward,
cross-entropy, backward, SGD step) on the same random batches. Runs are interleaved, one thread on
CPU, and the median images/s of each is printed with the ratio compiled / torchvision (target
≥ 0.98). On CUDA the loop uses channels_last and bf16 autocast, as the training engine does.

    python bench/train.py [--batch-size 32] [--steps 8] [--rounds 5] [--device cpu|cuda]
"""

import argparse
import statistics
import time

import torch
import torchvision
from torch import nn

from designer.core.compile import compile_graph
from designer.core.presets import load_design


def compiled_resnet18(size):
    graph = load_design("resnet18")
    graph.set_params(graph.nodes_of_type("Input")[0].id, shape=(3, size, size))
    return compile_graph(graph)


def images_per_second(model, batches, device, amp):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    model.train()

    def step(images, labels):
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            loss = criterion(model(images).float(), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step(*batches[0])                       # warm-up (allocator, cuDNN autotune)
    if device.type == "cuda":
        torch.cuda.synchronize()
    began = time.perf_counter()
    for images, labels in batches:
        step(images, labels)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return sum(len(labels) for _, labels in batches) / (time.perf_counter() - began)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(1)
    else:
        torch.backends.cudnn.benchmark = True
    memory_format = torch.channels_last if device.type == "cuda" else torch.contiguous_format

    torch.manual_seed(0)
    ours = compiled_resnet18(args.size)
    reference = torchvision.models.resnet18(weights=None, num_classes=1000)
    ours.load_state_dict(reference.state_dict(), strict=True)   # same network, same start
    ours = ours.to(device, memory_format=memory_format)
    reference = reference.to(device, memory_format=memory_format)
    generator = torch.Generator().manual_seed(1)
    batches = [(torch.randn(args.batch_size, 3, args.size, args.size, generator=generator)
                .to(device).contiguous(memory_format=memory_format),
                torch.randint(0, 1000, (args.batch_size,), generator=generator).to(device))
               for _ in range(args.steps)]

    amp = device.type == "cuda"
    rates = {"compiled": [], "torchvision": []}
    for round_index in range(args.rounds):
        # Alternate which model goes first so drift in machine load affects both alike.
        order = ("compiled", "torchvision") if round_index % 2 == 0 else ("torchvision", "compiled")
        for name in order:
            model = ours if name == "compiled" else reference
            rates[name].append(images_per_second(model, batches, device, amp))
    ours_rate = statistics.median(rates["compiled"])
    reference_rate = statistics.median(rates["torchvision"])
    print(f"device {device}, batch {args.batch_size}, input 3×{args.size}×{args.size}, "
          f"{args.steps} steps × {args.rounds} interleaved rounds (medians)")
    print(f"compiled resnet18 preset   {ours_rate:10.1f} images/s")
    print(f"torchvision resnet18       {reference_rate:10.1f} images/s")
    print(f"ratio compiled/torchvision {ours_rate / reference_rate:10.3f}  (target ≥ 0.98)")


if __name__ == "__main__":
    main()
