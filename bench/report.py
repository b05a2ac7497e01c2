"""RESULTS.md and results.png from run_bench.py's results.json.

Every ratio is ferry / onnxruntime of the same figure (time, time, memory), so below 1 means
Ferry is faster or smaller; each is marked against issue 6's target: ✓ meets it, ✗ misses it.
"""

from __future__ import annotations

import pathlib

# Issue 6: latency p50 <= 0.9 for these, <= 1.0 for every other model; creation <= 0.5; peak RSS <= 0.8.
LATENCY_TARGET_STRICT = {"resnet50", "mobilenetv2", "bert_base", "gpt2", "lstm"}
CREATION_TARGET = 0.5
MEMORY_TARGET = 0.8
ENGINES = ("ferry", "onnxruntime")



def _processes(n: int) -> str:
    return f"{n} fresh process{'es' if n != 1 else ''}"

def latency_target(model: str) -> float:
    return 0.9 if model in LATENCY_TARGET_STRICT else 1.0


def ratio(cell: dict, key: str) -> float | None:
    """ferry / onnxruntime of `key` in a {engine: stats} cell; None when either failed."""
    f, o = (cell.get(e, {}) for e in ENGINES)
    if key not in f or key not in o or not o[key]:
        return None
    return f[key] / o[key]


def pair_ratio_range(cell: dict, key: str) -> str:
    """min–max of ferry/onnxruntime of `key` over the process pairs run back to back (a figure
    measured in one pair only, or a failed one, shows "—")."""
    f, o = (cell.get(e, {}).get("per_process", []) for e in ENGINES)
    ratios = [a[key] / b[key] for a, b in zip(f, o) if a.get(key) and b.get(key)]
    if len(ratios) < 2:
        return "—"
    return f"{min(ratios):.2f}–{max(ratios):.2f}"


def _mark(value: float | None, target: float | None) -> str:
    if value is None:
        return "—"
    if target is None:
        return f"{value:.2f}"
    return f"{value:.2f} {'✓' if value <= target else '✗'}"


def _num(stats: dict, key: str, scale: float, fmt: str = "{:.2f}") -> str:
    if "error" in stats:
        return "error"
    return fmt.format(stats[key] * scale) if key in stats else "—"


def _cells(results: dict, batch: str):
    """(model, threads, cell) for every measured cell at `batch`, in run order."""
    for name, entry in results["models"].items():
        for key, cell in entry.get("batches", {}).get(batch, {}).items():
            if key.startswith("threads_"):
                yield name, int(key.split("_")[1]), cell


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines + [""]


def markdown(results: dict) -> str:
    m, cfg, sgemm = results["machine"], results["config"], results.get("sgemm")
    peak = (sgemm or {}).get("peak_gflops", {})
    out = ["# Ferry vs onnxruntime on the model zoo", "",
           f"Written by `bench/run_bench.py` (`make bench`) on {m['date']}. Ratios are ferry/onnxruntime "
           "of the same figure, so below 1 Ferry is faster or smaller; ✓ marks a ratio that meets issue 6's "
           f"target (latency p50 ≤ 0.9 for {', '.join(sorted(LATENCY_TARGET_STRICT))}, ≤ 1.0 for the others; "
           f"session creation ≤ {CREATION_TARGET}; peak RSS ≤ {MEMORY_TARGET}), ✗ one that misses it.", "",
           "## Machine and settings", "",
           f"- CPU: {m['cpu']}, {m['logical_cpus']} logical CPUs ({m['usable_cpus']} usable by this process)",
           f"- ISA flags: {' '.join(m['isa_flags']) or 'none of the listed'}",
           "- sgemm peak (ferry_sgemm_probe, oneDNN dnnl_sgemm" + (f", {sgemm['isa']}): " if sgemm else "): ")
           + (", ".join(f"{t} thread{'s' if t != '1' else ''} {g:.1f} GFLOP/s" for t, g in peak.items())
              if peak else "not measured (probe not built)"),
           f"- versions: ferry {m['ferry']} (commit {m['ferry_commit']}), onnxruntime {m['onnxruntime']}, "
           f"onnx {m['onnx']}, numpy {m['numpy']}, Python {m['python']}; {m['os']}",
           f"- load average (1 min) at start {m['loadavg_start']:.2f}, at end {m.get('loadavg_end', float('nan')):.2f}",
           f"- models: {cfg['size']} size, {cfg['exporter']} export at opset {cfg['opset']}; inputs: the recipe's "
           "seeded feeds (ferry.model_zoo.make_inputs) at the recipe's first sequence length",
           f"- each figure is the median over {_processes(cfg.get('processes', 1))} per engine"
           + (f" ({_processes(cfg['batch8_processes'])} at batch 8)"
              if cfg.get("batch8", True) and cfg.get("batch8_processes", cfg.get("processes", 1)) != cfg.get("processes", 1)
              else "")
           + ", the two engines' processes run in pairs, back to back; the \"pairs\" columns give the "
           "lowest and highest ratio of a single pair, which shows how much one process can move a ratio",
           f"- in each process {cfg['warmup']} warm-up runs, then {cfg['runs']} timed runs at batch 1"
           + (f" and {cfg['batch8_runs']} at batch 8" if cfg.get("batch8", True) else
              " (batch 8 not measured in this run: --no-batch8)")
           + "; intra-op threads as listed, inter-op 1; each engine's default optimization level", ""]

    rows = []
    for name, t, cell in _cells(results, "1"):
        seq = results["models"][name]["seq"]
        f, o = cell.get("ferry", {}), cell.get("onnxruntime", {})
        rows.append([name, f"seq {seq}" if seq else "", str(t), _num(f, "p50_s", 1e3), _num(o, "p50_s", 1e3),
                     _mark(ratio(cell, "p50_s"), latency_target(name)), pair_ratio_range(cell, "p50_s"),
                     _num(f, "p90_s", 1e3), _num(o, "p90_s", 1e3), _mark(ratio(cell, "p90_s"), None)])
    out += ["## Latency at batch 1 (ms)", ""]
    out += _table(["model", "input", "threads", "ferry p50", "onnxruntime p50", "p50 ratio", "p50 ratio, pairs",
                   "ferry p90", "onnxruntime p90", "p90 ratio"], rows)

    rows = []
    for name, t, cell in _cells(results, "1"):
        f, o = cell.get("ferry", {}), cell.get("onnxruntime", {})
        rows.append([name, str(t), _num(f, "creation_s", 1e3, "{:.1f}"), _num(o, "creation_s", 1e3, "{:.1f}"),
                     _mark(ratio(cell, "creation_s"), CREATION_TARGET), pair_ratio_range(cell, "creation_s")])
    out += ["## Session creation (ms)", ""]
    out += _table(["model", "threads", "ferry", "onnxruntime", "ratio", "ratio, pairs"], rows)

    rows = []
    for batch in ("1", "8"):
        for name, t, cell in _cells(results, batch):
            f, o = cell.get("ferry", {}), cell.get("onnxruntime", {})
            rows.append([name, batch, str(t), _num(f, "peak_rss_kb", 1 / 1024, "{:.0f}"),
                         _num(o, "peak_rss_kb", 1 / 1024, "{:.0f}"), _mark(ratio(cell, "peak_rss_kb"), MEMORY_TARGET),
                         pair_ratio_range(cell, "peak_rss_kb")])
    out += ["## Peak resident memory (MiB, whole process: interpreter, numpy, engine, model, feeds)", ""]
    out += _table(["model", "batch", "threads", "ferry", "onnxruntime", "ratio", "ratio, pairs"], rows)

    rows = []
    for name, t, cell in _cells(results, "8"):
        f, o = cell.get("ferry", {}), cell.get("onnxruntime", {})
        rows.append([name, str(t), _num(f, "p50_s", 1, "{:.3f}"), _num(o, "p50_s", 1, "{:.3f}"),
                     "error" if "error" in f else f"{8 / f['p50_s']:.1f}" if "p50_s" in f else "—",
                     "error" if "error" in o else f"{8 / o['p50_s']:.1f}" if "p50_s" in o else "—",
                     _mark(ratio(cell, "p50_s"), None)])
    if rows:
        out += ["## Throughput at batch 8, vision models (p50 per batch in s; items/s = 8 / p50)", ""]
        out += _table(["model", "threads", "ferry s", "onnxruntime s", "ferry items/s", "onnxruntime items/s",
                       "time ratio"], rows)

    rows = []
    for name, t, cell in _cells(results, "1"):
        flop = results["models"][name]["batches"]["1"].get("flops")
        if not flop:
            continue
        row = [name, f"{flop / 1e9:.3f}", str(t)]
        for engine in ENGINES:
            s = cell.get(engine, {})
            rate = flop / s["p50_s"] / 1e9 if "p50_s" in s else None
            row.append(f"{rate:.1f}" if rate else "—")
            row.append(f"{100 * rate / peak[str(t)]:.0f}%" if rate and str(t) in peak else "—")
        rows.append(row)
    out += ["## GEMM/conv arithmetic rate at batch 1", "",
            "FLOPs of MatMul, Gemm, Conv, ConvTranspose, LSTM, GRU and Einsum in the exported model "
            "(bench/flops.py, 2 per multiply-add, shapes from the feeds) divided by the p50 time; % of the "
            "sgemm peak at the same thread count.", ""]
    out += _table(["model", "GFLOP per run", "threads", "ferry GFLOP/s", "ferry % of peak",
                   "onnxruntime GFLOP/s", "onnxruntime % of peak"], rows)

    errors = []
    for name, entry in results["models"].items():
        if "error" in entry:
            errors.append(f"- {name}: {entry['error']}")
        for batch, b in entry.get("batches", {}).items():
            if "flops_error" in b:
                errors.append(f"- {name} batch {batch} FLOP count: {b['flops_error']}")
            for key, cell in b.items():
                if key.startswith("threads_"):
                    errors += [f"- {name} batch {batch} {key.replace('_', ' ')} {e}: {s['error']}"
                               for e, s in cell.items() if "error" in s]
    if errors:
        out += ["## Errors", ""] + errors + [""]
    return "\n".join(out)


def _minor_label(y: float, _) -> str:
    text = f"{y:g}"
    return text if text.lstrip("0.")[:1] in ("2", "3", "5") else ""


def chart(results: dict, path: pathlib.Path) -> None:
    """Bars of the ferry/onnxruntime ratios per model (latency p50, session creation, peak RSS at
    batch 1), one bar per thread count, log scale, with the targets as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    names = [n for n, e in results["models"].items() if e.get("batches")]
    threads = results["config"]["threads"]
    panels = [("latency p50", "p50_s", [(0.9, "0.9 (ResNet-50, MobileNetV2, BERT, GPT-2, LSTM)"), (1.0, "1.0 (others)")]),
              ("session creation", "creation_s", [(CREATION_TARGET, f"{CREATION_TARGET}")]),
              ("peak RSS, batch 1", "peak_rss_kb", [(MEMORY_TARGET, f"{MEMORY_TARGET}")])]
    fig, axes = plt.subplots(len(panels), 1, figsize=(max(8.0, 0.7 * len(names) + 3) + 3, 11), squeeze=False)
    width = 0.8 / max(1, len(threads))
    for ax, (title, key, targets) in zip(axes[:, 0], panels):
        shown = []
        for i, t in enumerate(threads):
            values = [ratio(results["models"][n]["batches"]["1"].get(f"threads_{t}", {}), key) for n in names]
            xs = [j + (i - (len(threads) - 1) / 2) * width for j in range(len(names))]
            bars = ax.bar(xs, [v or float("nan") for v in values], width, label=f"{t} thread{'s' if t != 1 else ''}")
            for bar, v in zip(bars, values):
                if v:
                    ax.annotate(f"{v:.2f}", (bar.get_x() + bar.get_width() / 2, v), ha="center", va="bottom",
                                fontsize=7)
            shown += [v for v in values if v]
        for k, (y, label) in enumerate(targets):
            ax.axhline(y, color=("tab:red", "tab:orange")[k % 2], linestyle="--", linewidth=1, label=f"target {label}")
        ax.axhline(1.0, color="grey", linewidth=0.5)
        ax.set_yscale("log")
        levels = shown + [y for y, _ in targets] + [1.0]
        ax.set_ylim(min(levels) / 1.3, max(levels) * 1.6)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(_minor_label))
        ax.set_ylabel("ferry / onnxruntime")
        ax.set_title(f"{title}: ferry / onnxruntime (lower is better)")
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=30, ha="right")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results: dict, out_dir: pathlib.Path) -> None:
    (out_dir / "RESULTS.md").write_text(markdown(results))
    chart(results, out_dir / "results.png")
