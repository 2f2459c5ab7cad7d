"""The trade-off plot of a sweep: validation error against MACs, parameters and latency, with the
Pareto front (the trials no other trial beats on both axes) marked. Drawn with matplotlib's Agg
canvas directly (no pyplot, no GUI backend), so it works headless and inside the editor's process.
"""

COSTS = (("total_macs", "multiply-adds"), ("total_params", "parameters"),
         ("latency_ms", "latency (ms, CPU, batch 1)"))


def pareto_front(points):
    """Indices of the points (cost, error) that no other point matches or beats on both while
    beating on one, sorted by cost."""
    front = []
    for i, (cost, error) in enumerate(points):
        dominated = any(c <= cost and e <= error and (c < cost or e < error)
                        for j, (c, e) in enumerate(points) if j != i)
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: points[i])


def tradeoff_points(trials, cost):
    """(trial numbers, [(cost, error)]) of the complete trials that have both values."""
    numbers, points = [], []
    for t in trials:
        if t["state"] == "complete" and t.get(cost) is not None and t["val_top1_error"] is not None:
            numbers.append(t["number"])
            points.append((t[cost], t["val_top1_error"]))
    return numbers, points


def write_tradeoff_png(trials, path, title="Sweep"):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=(13, 4.2), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(COSTS), sharey=True)
    for ax, (cost, label) in zip(axes, COSTS):
        numbers, points = tradeoff_points(trials, cost)
        ax.set_xlabel(label)
        ax.grid(True, alpha=0.3)
        if not points:
            ax.text(0.5, 0.5, "no complete trials", ha="center", va="center", transform=ax.transAxes)
            continue
        front = pareto_front(points)
        ax.scatter([p[0] for p in points], [p[1] * 100 for p in points], s=28, color="#8a93a3",
                   label="trial", zorder=2)
        ax.plot([points[i][0] for i in front], [points[i][1] * 100 for i in front], "-o",
                color="#2f6fde", markersize=7, label="Pareto front", zorder=3)
        for number, (x, y) in zip(numbers, points):
            ax.annotate(str(number), (x, y * 100), textcoords="offset points", xytext=(4, 4),
                        fontsize=8)
        if max(p[0] for p in points) > 20 * max(min(p[0] for p in points), 1e-12):
            ax.set_xscale("log")
    axes[0].set_ylabel("validation top-1 error (%)")
    axes[0].legend(loc="best", fontsize=8)
    failed = sum(t["state"] != "complete" for t in trials)
    figure.suptitle(f"{title}: {len(trials)} trials"
                    + (f" ({failed} failed or pruned, not shown)" if failed else ""))
    figure.savefig(path, format="png")    # the path may be an atomic write's .tmp name
