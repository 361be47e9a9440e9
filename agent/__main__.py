"""`python -m agent --api URL --token nk_…`: run a node agent until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
from pathlib import Path

from agent.daemon import Agent, AgentError, AgentOptions
from agent.inventory import stand_in_gpus
from agent.logs import configure_logging
from agent.sandbox import users
from agent.sandbox.bwrap import set_oom_score
from agent.sandbox.cgroups import favor_dynamic_moves

AGENT_OOM_SCORE = -1000


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="skiff agent", description="Join this machine to a Skiff control plane.")
    parser.add_argument("--api", default=os.environ.get("SKIFF_API_URL"), help="the API's URL (SKIFF_API_URL)")
    parser.add_argument("--token", default=os.environ.get("SKIFF_NODE_TOKEN"), help="a node token, nk_… ")
    parser.add_argument("--name", default=os.environ.get("SKIFF_NODE_NAME") or socket.gethostname())
    parser.add_argument("--state-dir", type=Path, default=Path(os.environ.get("SKIFF_AGENT_STATE_DIR", ".state/agent")))
    parser.add_argument("--label", action="append", default=[], metavar="KEY=VALUE", help="a node label (repeatable)")
    parser.add_argument(
        "--base",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="a base environment on this node (a venv or Python prefix), e.g. torch=/opt/torch (repeatable)",
    )
    parser.add_argument(
        "--zygote-idle-seconds",
        type=float,
        default=float(os.environ.get("SKIFF_ZYGOTE_IDLE_SECONDS", "300")),
        help="how long a function's zygote outlives its last container (longer than scaledown windows)",
    )
    parser.add_argument(
        "--sandbox-uids",
        default=os.environ.get("SKIFF_AGENT_SANDBOX_UIDS", users.AUTO),
        metavar="auto|agent|START:COUNT",
        help="host users for sandboxes (SKIFF_AGENT_SANDBOX_UIDS). An agent run as root gives each function its "
        f"own uid from START:COUNT (auto: {users.DEFAULT_RANGE}, or, when those users cannot reach the agent's "
        "files or bwrap cannot run as them, the agent's own user, with a warning); agent: the agent's own user",
    )
    parser.add_argument(
        "--slow-cgroup-moves",
        action="store_true",
        default=os.environ.get("SKIFF_SLOW_CGROUP_MOVES", "") == "1",
        help="leave the kernel's `favordynmods` off: cold starts then wait up to ~20 ms more for a cgroup "
        "move after an idle spell, and forks elsewhere on the machine stay a little cheaper",
    )
    parser.add_argument(
        "--stand-in-gpus",
        type=Path,
        default=os.environ.get("SKIFF_AGENT_STAND_IN_GPUS") or None,
        metavar="FILE",
        help="for machines without a GPU (tests, demonstrations): report, assign and bind the devices this JSON "
        'file lists, [{"model": "H100", "memory_mib": 81559, "device_file": PATH}, ...], instead of NVML\'s',
    )
    parser.add_argument(
        "--gpu-libraries",
        type=Path,
        default=os.environ.get("SKIFF_AGENT_GPU_LIBRARIES") or None,
        metavar="DIR",
        help="the directory holding the NVIDIA driver's libcuda.so.1, for GPU containers to load "
        "(SKIFF_AGENT_GPU_LIBRARIES; by default where the agent's own loader finds it)",
    )
    parser.add_argument("--log-level", default=os.environ.get("SKIFF_LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    if not args.api or not args.token:
        parser.error("--api and --token are required (or SKIFF_API_URL and SKIFF_NODE_TOKEN)")
    if not args.token.startswith("nk_"):
        parser.error("--token must be a node token (nk_…); create one with kind=node")
    return args


async def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    configure_logging(args.log_level)
    args.state_dir.mkdir(parents=True, exist_ok=True)
    if not set_oom_score(os.getpid(), AGENT_OOM_SCORE):  # a runaway function must not take the agent down
        logging.getLogger("skiff.agent").warning(
            "cannot shield the agent from the OOM killer (needs CAP_SYS_RESOURCE); sandboxes still go first"
        )
    if not args.slow_cgroup_moves:
        logging.getLogger("skiff.agent").info("fast cgroup moves", extra={"favordynmods": favor_dynamic_moves()})
    try:
        stand_ins = stand_in_gpus(args.stand_in_gpus) if args.stand_in_gpus else None
    except ValueError as exc:
        print(f"skiff agent: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    if stand_ins is not None:
        logging.getLogger("skiff.agent").warning(
            "stand-in GPUs instead of NVML's", extra={"file": str(args.stand_in_gpus), "count": len(stand_ins)}
        )
    labels = dict(label.split("=", 1) for label in args.label if "=" in label)
    bases = {name: Path(path) for name, _, path in (b.partition("=") for b in args.base) if path}
    agent = Agent(
        AgentOptions(
            api_url=args.api.rstrip("/"),
            token=args.token,
            name=args.name,
            state_dir=args.state_dir.resolve(),
            labels=labels,
            bases=bases,
            zygote_idle_seconds=args.zygote_idle_seconds,
            sandbox_uids=args.sandbox_uids,
            stand_in_gpus=stand_ins,
            gpu_libraries=args.gpu_libraries,
        )
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await agent.run(stop)
    except AgentError as exc:
        print(f"skiff agent: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
