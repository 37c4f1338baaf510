"""`mhtool --help` wall time, in English and in Chinese, against `python -c "import typer"` (target: ratio ≤ 1.5).

The Chinese page reads the compiled catalog and wraps by display width, so it is measured on its own.
"""

from __future__ import annotations

import argparse

from common import PYTHON, markdown_table, mhtool_cmd, run_timed


def run(repeat: int = 15) -> list[dict]:
    baseline = run_timed([PYTHON, "-c", "import typer"], repeat=repeat)
    rows = [{"benchmark": "python -c 'import typer' (baseline)", "seconds": baseline["seconds"], "ratio": 1.0, "peak_rss_mib": baseline["peak_rss_mib"], "target": ""}]
    for name, env in (("mhtool --help", {"MHTOOL_LANG": "en"}), ("mhtool --help (Chinese, LANG=zh_CN.UTF-8)", {"MHTOOL_LANG": "", "LANG": "zh_CN.UTF-8"})):
        help_ = run_timed(mhtool_cmd("--help"), env=env, repeat=repeat)
        rows.append(
            {
                "benchmark": name,
                "seconds": help_["seconds"],
                "ratio": help_["seconds"] / baseline["seconds"],
                "peak_rss_mib": help_["peak_rss_mib"],
                "target": "ratio ≤ 1.5",
            }
        )
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    rows = run(parser.parse_args().repeat)
    print(markdown_table(rows, [("benchmark", "benchmark"), ("seconds", "median s"), ("ratio", "ratio"), ("peak_rss_mib", "peak RSS MiB"), ("target", "target")]))
