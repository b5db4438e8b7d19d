"""`ebook-analytics audit`: the audit log of exports, statement packs and dashboard downloads, newest first."""

from __future__ import annotations

import argparse
import json

from pipelines import audit
from pipelines.arguments import whole_number


def define_audit(command: argparse.ArgumentParser) -> None:
    command.add_argument("--json", action="store_true", help="one JSON object per line, every field")
    command.add_argument("--limit", type=whole_number(0), default=50, metavar="N", help="at most N entries (0: all)")
    command.set_defaults(func=_audit)


def _audit(args: argparse.Namespace) -> int:
    entries = audit.read(limit=args.limit or None)
    if args.json:
        for entry in entries:
            print(json.dumps(entry, sort_keys=True))
        return 0
    if not entries:
        print(f"no audit entries yet ({audit.log_path()})")
        return 0
    print(f"{'at (UTC)':25} {'user':24} {'role':8} {'action':18} {'run_id':28} what")
    for entry in entries:
        print(
            f"{entry['at']:25} {entry['user']:24} {entry['role']:8} {entry['action']:18} {entry['run_id'] or '':28} "
            f"{entry['what']}"
        )
    return 0
