"""Skiff beside its peers: the figures that the benches wrote with --json into one folder, in one
table with the ratio of Skiff to each peer where both have the row. Standard library only.

    python3 bench/compare.py bench/results

Reads core_loop.json, fan_out.json and throughput.json (Skiff; core_loop.json also holds arq's
round trip, measured beside Skiff's in the same run), ray.json (bench/peers.py) and celery.json
(bench/celery_peer.py); any of them may be missing. A figure repeated over runs reads as its median
and, in brackets, its lowest and highest run.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import table

PEERS = ("ray", "celery", "arq")


@dataclass
class Value:
    """A figure of one system: its median, its spread over runs when it has one, and the size it was measured at."""

    median: float
    low: float | None = None
    high: float | None = None
    size: int | None = None

    @classmethod
    def of_runs(cls, summary: dict[str, Any], size: int | None = None, invert: int | None = None) -> Value:
        """From a `Runs.summary()`; with `invert`, `invert / value` (seconds for N calls into calls per second)."""
        median, low, high = summary["median"], summary["min"], summary["max"]
        if invert is not None:
            median, low, high = invert / median, invert / high, invert / low
        return cls(median, low, high, size)

    def text(self, digits: int) -> str:
        median = f"{self.median:,.{digits}f}"
        if self.low is not None and self.high is not None and self.low != self.high:
            median += f" ({self.low:,.{digits}f} to {self.high:,.{digits}f})"
        return median


@dataclass
class Row:
    name: str
    digits: int
    higher_is_better: bool
    values: dict[str, Value]  # by system: "skiff" and the peers

    def ratio(self, peer: str) -> str:
        """Skiff against the peer, as how many times faster or slower, when both were measured at one size."""
        ours, theirs = self.values.get("skiff"), self.values.get(peer)
        if ours is None or theirs is None:
            return ""
        if ours.size != theirs.size:
            return f"sizes differ ({ours.size:,} and {theirs.size:,})"
        times = ours.median / theirs.median
        better = times > 1 if self.higher_is_better else times < 1
        factor = times if times >= 1 else 1 / times
        return f"{factor:.1f}x {'faster' if better else 'slower'}"


def load(folder: Path, name: str) -> dict[str, Any] | None:
    path = folder / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def rows(results: dict[str, dict[str, Any]]) -> list[Row]:
    core, fan_out, throughput = results.get("core_loop"), results.get("fan_out"), results.get("throughput")
    p50 = Row("no-op round trip, sequential: p50 ms", 2, False, {})
    p99 = Row("no-op round trip, sequential: p99 ms", 2, False, {})
    as_it_comes = Row("no-op round trip, sequential, arq with its default 0.5 s polls: p50 ms", 2, False, {})
    at_once = Row("N no-op calls at once (Skiff: `map`, warm pool): calls/s", 0, True, {})
    clients = Row("32 clients, each submit then wait (Skiff: POST …/calls, GET …/result): calls/s", 0, True, {})
    if core is not None:
        warm, arq = core["figures"]["warm"], core["figures"]["arq"]
        p50.values["skiff"], p99.values["skiff"] = Value(warm["p50"]), Value(warm["p99"])
        p50.values["arq"], p99.values["arq"] = Value(arq["p50"]), Value(arq["p99"])
        if "arq_default" in core["figures"]:
            as_it_comes.values["skiff"] = Value(warm["p50"])
            as_it_comes.values["arq"] = Value(core["figures"]["arq_default"]["p50"])
    if fan_out is not None:
        inputs = fan_out["inputs"]
        at_once.values["skiff"] = Value.of_runs(fan_out["figures"]["map_warm_s"], inputs, invert=inputs)
    if throughput is not None:
        clients.name = clients.name.replace("32", str(throughput["options"]["clients"]))
        clients.values["skiff"] = Value.of_runs(
            throughput["figures"]["clients_calls_per_s"], throughput["options"]["calls"]
        )
    for peer in ("ray", "celery"):
        found = results.get(peer)
        if found is not None:
            figures = found["figures"]
            p50.values[peer] = Value.of_runs(figures["round_trip_p50_ms"])
            p99.values[peer] = Value.of_runs(figures["round_trip_p99_ms"])
            at_once.values[peer] = Value.of_runs(figures["at_once_per_s"], found["tasks"])
            if "clients_calls_per_s" in figures and found.get("clients") == clients_of(throughput):
                clients.values[peer] = Value.of_runs(figures["clients_calls_per_s"], found["client_calls"])
    sizes = {value.size for value in at_once.values.values()}
    if len(sizes) == 1:
        at_once.name = at_once.name.replace("N", f"{sizes.pop():,}", 1)
    return [p50, p99, as_it_comes, at_once, clients]


def clients_of(throughput: dict[str, Any] | None) -> int:
    """How many clients Skiff's client row had (32 unless its run said otherwise)."""
    return int(throughput["options"]["clients"]) if throughput is not None else 32


def render(results: dict[str, dict[str, Any]]) -> str:
    peers = [peer for peer in PEERS if peer in results or (peer == "arq" and "core_loop" in results)]
    titles = {"ray": "Ray", "celery": "Celery", "arq": "arq"}
    header = ["figure", "Skiff"]
    for peer in peers:
        header += [titles[peer], f"Skiff vs {titles[peer]}"]
    lines = []
    for row in rows(results):
        cells = [row.name, row.values["skiff"].text(row.digits) if "skiff" in row.values else ""]
        for peer in peers:
            value = row.values.get(peer)
            cells += [value.text(row.digits) if value else "", row.ratio(peer)]
        lines.append(cells)
    return table(header, lines)


def sources(results: dict[str, dict[str, Any]]) -> str:
    lines = []
    for name, found in results.items():
        host = found.get("machine", {})
        peer = f" ({found['peer']})" if "peer" in found else ""
        lines.append(
            f"- {name}.json{peer}: `{found.get('command', '?')}`, {found.get('date', '?')[:16]}, code "
            f"{host.get('code', '?')}, {host.get('cpu', '?')}, {host.get('cores', '?')} cores, Python "
            f"{host.get('python', '?')}, 1-min load average {host.get('load_average_1m_at_start', '?')} at the start"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="where the benches wrote their JSON")
    options = parser.parse_args()
    names = ("core_loop", "fan_out", "throughput", "ray", "celery")
    results = {name: found for name in names if (found := load(options.folder, name)) is not None}
    if not results:
        print(f"no results in {options.folder}: run the benches with --json there first", file=sys.stderr)
        return 1
    print("Skiff and its peers on the same machine: the median, then the lowest and highest run in brackets")
    print("where a figure was repeated (Skiff's round trip and arq's are one run of many calls).\n")
    print(render(results))
    print(f"\nFrom:\n\n{sources(results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
