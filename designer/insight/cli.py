"""The `designer inspect` verb: what a trained network sees and how it behaves, as PNGs (and one
JSON object with `--json`): feature maps and filters of chosen nodes, Grad-CAM, the confusion
matrix with the most confidently wrong images, a 2-D map of the penultimate features and the loss
landscape around the weights.
"""

import json
import sys

def _progress(label):
    """A one-line progress callback on a terminal's stderr; silent otherwise."""
    if not sys.stderr.isatty():
        return None

    def show(done, total):
        sys.stderr.write(f"\r{label} {done}/{total}" + ("\n" if done == total else ""))
        sys.stderr.flush()
    return show


def _default_nodes(graph):
    from designer.core.categories import CONVOLUTION
    return [nid for nid in graph.topological_order()[0]
            if graph.nodes[nid].spec.category is CONVOLUTION]


def _class_names(subject, image, label):
    """A name for every output of the model and every label: the names the checkpoint or the
    dataset gives, and the index for any beyond them (a checkpoint may name fewer)."""
    import torch
    with torch.no_grad():
        outputs = subject.model(image).shape[-1]
    names = [str(c) for c in subject.classes]
    wanted = max(outputs, (label or 0) + 1, len(names) or 10)
    return names + [str(i) for i in range(len(names), wanted)]


def _run(args):
    from designer.arguments import load_for_cli
    from designer.core.atomic import make_folder
    from designer.insight import activations, attribution, evaluation, filters, landscape, render
    from designer.insight.settings import LANDSCAPE_STEPS
    from designer.insight.settings import SETTINGS, InsightError
    from designer.insight.subject import load_subject

    given = SETTINGS.given(args)
    if "image" in given and "index" in given:
        raise InsightError("give an image file (--image) or a validation image (--index), "
                           "not both")
    settings = SETTINGS.check(given)
    graph = load_for_cli(args.design)
    subject = load_subject(graph, settings.weights, settings.dataset, settings.data_dir)
    out = make_folder(args.out)
    written = []
    result = {"design": graph.name, "dataset": subject.config.dataset}

    # The sample image.
    if settings.image is not None:
        image, label = subject.prepare(settings.image), None
        result["image"] = str(settings.image)
    else:
        image, label = subject.sample(settings.index)
        result["index"], result["label"] = settings.index, label
    nodes = settings.node or _default_nodes(graph)
    taps = {node: subject.tap(node) for node in nodes}
    outputs, _ = activations.capture(subject.model, image, list(taps.values()))
    classes = _class_names(subject, image, label)
    subject.classes = classes
    prediction = attribution.predict(subject.model, image, classes)
    result["prediction"] = prediction

    result["activations"] = {}
    for node, tap in taps.items():
        output = outputs[node]
        result["activations"][node] = activations.summary(output)
        path = out / f"feature_maps_{node}.png"
        if tap.spatial:
            render.feature_maps_png(output, activations.channel_stats(output), path,
                                    f"{node} ({tap.module or 'input'})")
        else:
            render.vector_png(output.numpy(), path, f"{node}: {output.numel()} values (no spatial "
                              "output, so one bar per unit)")
        written.append(path)
        try:
            weight = filters.conv_weight(subject.model, tap)
        except InsightError:
            continue          # only convolutions have filters
        tiles, columns, rgb = filters.filter_tiles(weight)
        path = out / f"filters_{node}.png"
        render.filters_png(tiles, columns, rgb, path, f"{node}: {weight.shape[0]} filters "
                           f"{weight.shape[2]}×{weight.shape[3]} over {weight.shape[1]} channels")
        written.append(path)

    target = prediction["class"] if settings.target_class is None else settings.target_class
    if (settings.gradcam or settings.attribution) and not 0 <= target < len(classes):
        raise InsightError(f"there is no class {target}; the classes are 0 to {len(classes) - 1}")
    if settings.gradcam:
        heat = attribution.gradcam(subject.model, image, target, subject.tap(settings.gradcam))
        path = out / f"gradcam_{settings.gradcam}.png"
        render.gradcam_png(subject.display(image), heat, prediction, classes[target], path,
                           f"Grad-CAM at {settings.gradcam}")
        written.append(path)
        result["gradcam"] = {"node": settings.gradcam, "class": target}
    for method in settings.attribution or []:
        tap = subject.tap(settings.gradcam) if method == "guided_gradcam" and settings.gradcam else None
        if method == "guided_gradcam" and tap is None:
            raise InsightError("guided Grad-CAM needs the node to explain: add --gradcam NODE")
        heat = attribution.attribute(subject.model, image, target, method, tap)
        path = out / f"attribution_{method}.png"
        render.gradcam_png(subject.display(image), heat, prediction, classes[target], path,
                           method.replace("_", " ").capitalize().replace("gradcam", "Grad-CAM"))
        written.append(path)

    if settings.confusion or settings.embedding or args.json:
        result_eval = evaluation.evaluate(subject.model, subject.dataset, classes,
                                          subject.data.eval_crops,
                                          with_features=bool(settings.embedding),
                                          progress=_progress("evaluating"))
        result["confusion"] = result_eval.confusion().tolist()
        result["val_size"] = result_eval.size
        result["val_top1_error"] = result_eval.top1_error
        result["per_class_error"] = result_eval.per_class_error()
        wrong = result_eval.most_confidently_wrong(settings.wrong)
        result["most_confidently_wrong"] = wrong
        if settings.confusion:
            path = out / "confusion.png"
            render.confusion_png(result_eval.confusion().numpy(), classes, path,
                                 f"{graph.name} on {subject.data.title}: {result_eval.size} "
                                 f"validation images, top-1 error {result_eval.top1_error:.2%}")
            written.append(path)
            if wrong:
                path = out / "wrong.png"
                render.gallery_png([subject.display(subject.sample(w["index"])[0]) for w in wrong],
                                   [f"{classes[w['label']]}→{classes[w['predicted']]} "
                                    f"{w['probability']:.0%}" for w in wrong], path,
                                   "most confidently wrong (true→predicted, probability)")
                written.append(path)
        if settings.embedding:
            points = evaluation.embed(result_eval.features, settings.embedding)
            path = out / "embedding.png"
            render.embedding_png(points, result_eval.labels.numpy(), classes, path,
                                 f"{settings.embedding.upper() if settings.embedding == 'pca' else 't-SNE'}"
                                 f" of the last layer's {result_eval.features.shape[1]} input "
                                 "features, by true class")
            written.append(path)

    if settings.landscape:
        steps = settings.steps or LANDSCAPE_STEPS[settings.landscape]
        batches = landscape.fixed_batches(subject.dataset, settings.batches)
        state = subject.model.state_dict()
        show = _progress(f"loss landscape ({settings.landscape})")
        if settings.landscape == "1d":
            if settings.landscape_from:
                from designer.weights import read_state_dict
                start, what = read_state_dict(settings.landscape_from), str(settings.landscape_from)
            else:
                start, what = landscape.initial_state(graph, subject.config.seed), "initial weights"
            surface = landscape.interpolate(subject.model, start, state, batches, steps,
                                            progress=show)
            title = f"loss from {what} (α=0) to {settings.weights} (α=1)"
        else:
            surface = landscape.surface(subject.model, state, batches, steps, progress=show)
            title = "loss around the weights, two filter-normalised random directions"
        path = out / "landscape.png"
        render.landscape_png(surface, path, f"{title}; {sum(len(b[1]) for b in batches)} images")
        written.append(path)
        result["landscape"] = {"kind": surface.kind, "steps": steps, "centre_loss": surface.centre,
                               "coordinates": surface.xs.tolist(),
                               "losses": [None if v != v else v for v in
                                          surface.losses.ravel().tolist()]}

    result["files"] = [str(p) for p in written]
    if args.json:
        print(json.dumps(result))
    else:
        top = ", ".join(f"{e['label']} {e['probability']:.1%}" for e in prediction["top5"])
        truth = f" (true class {classes[label]})" if label is not None else ""
        print(f"prediction{truth}: {top}")
        if "val_top1_error" in result:
            print(f"validation top-1 error {result['val_top1_error']:.2%} on "
                  f"{result['val_size']} images")
        if "landscape" in result:
            print(f"loss landscape: centre loss {result['landscape']['centre_loss']:.4f}")
        for path in written:
            print(f"wrote {path}")
    return 0


def add_parser(subparsers):
    from designer.insight.settings import SETTINGS
    p = subparsers.add_parser(
        "inspect", help="feature maps, filters, Grad-CAM, confusion, embeddings, loss landscape",
        description="Look inside a trained design: writes PNGs to --out (feature_maps_<node>.png, "
                    "filters_<node>.png, gradcam_<node>.png, confusion.png, wrong.png, "
                    "embedding.png, landscape.png). With --json, prints one JSON object (it then "
                    "always evaluates the validation set for the confusion fields).")
    p.add_argument("design", help="a design file (.json) or a preset name")
    p.add_argument("--out", required=True, metavar="DIR", help="the folder for the PNGs")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    SETTINGS.add_arguments(p, required=("weights", "dataset"))
    p.set_defaults(run=_run)
    return p
