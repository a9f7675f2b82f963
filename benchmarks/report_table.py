"""Print the reStructuredText tables of ``docs/results/benchmarks.rst`` from benchmark JSON.

::

    python benchmarks/report_table.py benchmarks/results/cpu*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def cpu_table(reports: list[dict]) -> str:
    """One row per (mode, backend, batch) of ``bench_backends.py`` reports."""
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - mode",
        "     - backend",
        "     - batch",
        "     - galaxies/s (median [min, max])",
        "     - samples/s",
        "     - GFLOP/s",
        "     - % of best matmul",
        "     - peak RSS (MB)",
    ]
    for report in reports:
        for r in report["results"]:
            lines += [
                f"   * - {r['mode']}",
                f"     - {r['backend']}",
                f"     - {r['batch']}",
                f"     - {r['galaxies_per_s']:.1f} [{r['galaxies_per_s_min']:.1f}, {r['galaxies_per_s_max']:.1f}]",
                f"     - {r['samples_per_s']:.3g}",
                f"     - {r['gflops']:.1f}",
                f"     - {100 * r['fraction_of_best_matmul']:.1f}",
                f"     - {r['peak_rss_mb']:.0f}",
            ]
    return "\n".join(lines)


def interleaved_table(reports: list[dict]) -> str:
    """Round-robin timings: galaxies/s per backend and the speed-up over eager."""
    entries = [e for report in reports for e in report.get("interleaved", [])]
    if not entries:
        return ""
    backends = list(entries[0]["galaxies_per_s"])
    lines = [".. list-table::", "   :header-rows: 1", "", "   * - mode", "     - batch"]
    lines += [f"     - {b} galaxies/s" for b in backends]
    for e in entries:
        lines += [f"   * - {e['mode']}", f"     - {e['batch']}"]
        for b in backends:
            cell = f"{e['galaxies_per_s'][b]:.1f}"
            if e.get("speedup_vs_eager") and b != "eager":
                cell += f" (x{e['speedup_vs_eager'][b]:.1f})"
            lines.append(f"     - {cell}")
    return "\n".join(lines)


def roofline(report: dict) -> str:
    """Matmul rates, FLOPs per galaxy and the implied ceilings of one report."""
    best = report["matmul"]["best_gflops"]
    flops = report["flops_per_galaxy"]
    ceiling = report["roofline_galaxies_per_s"]
    machine = report["machine"]
    return "\n".join(
        [
            f"* machine: {machine['processor']}, {machine['threads']} threads; load average before/after "
            f"{machine['load_average_before'][0]:.1f} / {machine['load_average_after'][0]:.1f}",
            "* best fp32 matmul (GFLOP/s): " + ", ".join(f"{k} {v:.0f}" for k, v in best.items()),
            f"* FLOPs per galaxy (matmul/conv, S = {report.get('samples') or report['results'][0]['samples']}): flow "
            f"{flops['flow'] / 1e9:.3f} GFLOP, VAE encoder {flops['encoder'] / 1e9:.3f} GFLOP, pipeline "
            f"{flops['pipeline'] / 1e9:.3f} GFLOP",
            f"* roofline at the best matmul rate: flow {ceiling['flow']:.0f} galaxies/s, pipeline "
            f"{ceiling['pipeline']:.0f} galaxies/s",
        ]
    )


def main(argv=None) -> int:
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])]
    reports = [json.loads(p.read_text()) for p in paths]
    for path, report in zip(paths, reports):
        print(f"{path}: ``{report['command']}``")
        print(roofline(report))
        sweep = report.get("rows_per_call_sweep") or []
        if sweep:
            print(
                "* ORT rows_per_call sweep (flow, batch "
                f"{sweep[0]['batch']}): "
                + ", ".join(f"{s['rows_per_call']}: {s['galaxies_per_s']:.0f}" for s in sweep)
                + " galaxies/s"
            )
        print()
    print(cpu_table(reports))
    print()
    print(interleaved_table(reports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
