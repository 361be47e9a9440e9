"""`python -m scheduler`: run the scheduler until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import signal

from api.logs import configure_logging
from api.settings import Settings
from scheduler.loop import serve


async def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level, component="scheduler")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await serve(settings, stop)


if __name__ == "__main__":
    asyncio.run(main())
