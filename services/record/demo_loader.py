"""Load the Portsmouth demo population into a running record, as one transaction Bundle.

Loading twice changes nothing: every entry is a conditional create.
Run: python -m services.record.demo_loader --base http://127.0.0.1:8081/fhir
"""

from __future__ import annotations

import argparse
import sys

import httpx
import orjson

from services.record.demo import demo_bundle


def load(base: str, *, patients: int, token: str | None = None) -> int:
    """Post the demo Bundle; the number of resources the record newly created."""
    headers = {"Content-Type": "application/fhir+json", "Prefer": "return=minimal"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = orjson.dumps(demo_bundle(patients=patients))
    response = httpx.post(f"{base.rstrip('/')}/", content=body, headers=headers, timeout=300)
    if response.status_code != 200:
        raise SystemExit(
            f"The demo population was refused ({response.status_code}): {response.text}"
        )
    statuses = [e["response"]["status"] for e in response.json()["entry"]]
    return sum(status.startswith("201") for status in statuses)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True, help="the record's FHIR base URL")
    parser.add_argument("--patients", type=int, default=60)
    parser.add_argument("--token", help="a bearer token, when the base needs one")
    args = parser.parse_args()
    created = load(args.base, patients=args.patients, token=args.token)
    print(f"Demo population loaded: {created} resources created")
    return 0


if __name__ == "__main__":
    sys.exit(main())
