"""`python -m bench.lambda_launch`: concurrent launches against the fake Lambda API and its launch rate limit.

The engine runs a dynamic provider's creates on several threads, each with its own client. This launches
N instances that way (one thread and one client each, all released together) against the loopback fake,
whose launch limit is Lambda's one-per-12-s scaled down to `--interval`. No schedule can beat
(N - 1) x interval, so the wall time is reported against that floor; the target is a ratio of at most 1.1
with no launch refused (429) and no name launched twice.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from dataclasses import dataclass

from fakes.lambda_cloud_api import REAL_LAUNCH_INTERVAL_S, FakeLambdaCloud
from lambda_cloud import LambdaCloudClient, LambdaCloudError, unique_instance_name

TARGET_RATIO = 1.1
_KEY = "bench-lambda-key"


@dataclass(frozen=True)
class Run:
    wall_s: float
    floor_s: float
    rate_limited: int
    launched: int
    duplicate_names: int

    @property
    def ratio(self) -> float:
        return self.wall_s / self.floor_s


def one_run(instances: int, interval_s: float) -> Run:
    with FakeLambdaCloud(
        api_key=_KEY, time_scale=interval_s / REAL_LAUNCH_INTERVAL_S, launch_interval_s=interval_s
    ) as fake:
        start = threading.Barrier(instances + 1)
        finished: list[float] = []
        failures: list[LambdaCloudError] = []

        def launch_one() -> None:
            client = LambdaCloudClient(_KEY, base_url=fake.base_url, launch_interval_s=interval_s)
            start.wait()
            try:
                client.launch("us-east-1", "gpu_1x_a10", "sophia-ops", unique_instance_name("bench"))
            except LambdaCloudError as error:
                failures.append(error)
            finished.append(time.perf_counter())

        threads = [threading.Thread(target=launch_one) for _ in range(instances)]
        for thread in threads:
            thread.start()
        start.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        if failures:
            raise RuntimeError(f"{len(failures)} launches failed, first: {failures[0]}")
        return Run(
            wall_s=max(finished) - began,
            floor_s=(instances - 1) * interval_s,
            rate_limited=fake.rate_limited_launches,
            launched=len(fake.launch_ids),
            duplicate_names=len(fake.names_launched_more_than_once()),
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lambda_launch", description=__doc__)
    parser.add_argument("--instances", type=int, default=8)
    parser.add_argument("--interval", type=float, default=0.2, help="the fake's launch interval in seconds")
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args(argv)
    if options.instances < 2 or options.interval <= 0 or options.runs < 1:
        parser.error("need at least 2 instances, a positive interval and at least 1 run")

    runs = []
    for number in range(1, options.runs + 1):
        run = one_run(options.instances, options.interval)
        runs.append(run)
        print(
            f"run {number}: {run.launched} launched in {run.wall_s:.3f} s; floor ({options.instances}-1) x "
            f"{options.interval:g} s = {run.floor_s:.3f} s; ratio {run.ratio:.3f}; "
            f"429s {run.rate_limited}; names launched twice {run.duplicate_names}"
        )
    median = statistics.median(run.ratio for run in runs)
    correct = all(
        run.rate_limited == 0 and run.duplicate_names == 0 and run.launched == options.instances
        for run in runs
    )
    print(
        f"median ratio {median:.3f} (target <= {TARGET_RATIO}): "
        f"{'met' if median <= TARGET_RATIO else 'MISSED'}; "
        f"{'no 429s, no duplicates' if correct else 'INCORRECT: 429s, duplicates or missing launches'}"
    )
    return 0 if correct else 1


if __name__ == "__main__":
    sys.exit(main())
