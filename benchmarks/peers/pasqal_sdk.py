"""The best hand-written pasqal-cloud script: 16 threads downloading job results.

python benchmarks/peers/pasqal_sdk.py results URL IDS   # results of the batch jobs listed in IDS
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pasqal_cloud.authentication import TokenProvider
from pasqal_cloud.endpoints import Endpoints
from pasqal_cloud.pasqal_cloud_client import PasqalCloudClient

THREADS = 16
PROJECT = "00000000-0000-0000-0000-0000000000aa"


class StaticToken(TokenProvider):
    def get_token(self) -> str:
        return "emulator"


def results(url: str, ids: list[str]) -> int:
    endpoints = Endpoints(core=f"{url}/core", account=f"{url}/account")
    client = PasqalCloudClient(token_provider=StaticToken(), endpoints=endpoints, project_id=PROJECT)

    def one(job_id: str) -> int:
        return len(client.get_job(job_id).result or {})

    with ThreadPoolExecutor(THREADS) as pool:
        return sum(pool.map(one, ids))


def main() -> None:
    _what, url, arg = sys.argv[1:4]
    ids = Path(arg).read_text().split()
    print(f"{len(ids)} results, {results(url, ids)} outcomes")


if __name__ == "__main__":
    main()
