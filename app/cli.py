"""Send a test alert with the configured secret and print the answer.

python -m app.cli send AAPL buy 1 --price 150
python -m app.cli send EURUSD sell 10000 --order-type limit --limit-price 1.09
python -m app.cli alert <alert_id>        # what became of it
python -m app.cli templates [--name strategy]   # alert messages to paste into TradingView
python -m app.cli halt --reason "news"   # the kill switch; resume with: python -m app.cli resume
python -m app.cli flatten                # shows what it would do, then asks you to confirm
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
import uuid

import requests

from config.settings import ConfigError, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app.cli",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--url", help="base URL (default http://127.0.0.1:$PORT)")
    commands = parser.add_subparsers(dest="command", required=True)
    send = commands.add_parser("send", help="send an alert to the webhook")
    send.add_argument("symbol")
    send.add_argument("action", choices=["buy", "sell", "close"])
    send.add_argument("quantity", nargs="?")
    send.add_argument("--price")
    send.add_argument("--order-type", choices=["market", "limit"], default="market")
    send.add_argument("--limit-price")
    send.add_argument("--alert-id", help="default: a fresh unique id")
    show = commands.add_parser("alert", help="show an alert's status, plan, orders and fills")
    show.add_argument("alert_id")
    listing = commands.add_parser(
        "templates", help="print the alert messages to paste into TradingView, secret filled in"
    )
    listing.add_argument("--name", help="only this template (e.g. strategy, close)")
    halt = commands.add_parser("halt", help="stop opening positions (closes still go)")
    halt.add_argument("--reason", default="halted from the command line")
    commands.add_parser("resume", help="end a halt")
    flatten = commands.add_parser(
        "flatten", help="close every position and cancel our working orders (asks first)"
    )
    flatten.add_argument("--yes", action="store_true", help="do not ask (for scripts)")
    return parser


def _flatten(base: str, headers: dict[str, str], *, yes: bool) -> requests.Response:
    preview = requests.post(f"{base}/api/flatten", timeout=10, headers=headers)
    if not preview.ok:
        return preview
    plan = preview.json()
    print(plan["will"])
    print(json.dumps({k: plan[k] for k in ("positions", "working_orders")}, indent=2))
    if not yes and input('type "flatten" to go ahead: ').strip() != "flatten":
        print("nothing done")
        raise SystemExit(1)
    return requests.post(
        f"{base}/api/flatten", json={"confirm": plan["confirm"]}, timeout=10, headers=headers
    )


def _show_templates(base: str, token: str, name: str | None) -> int:
    """Print the server's templates: it fills in the secret it checks alerts against."""
    try:
        response = requests.get(
            f"{base}/api/templates", timeout=10, headers={"Authorization": f"Bearer {token}"}
        )
    except requests.RequestException as error:
        print(f"could not reach {base}: {error}", file=sys.stderr)
        return 1
    if not response.ok:
        print(response.status_code)
        print(response.text)
        return 1
    every: list[dict[str, str]] = response.json()["templates"]
    chosen = [t for t in every if name is None or t["name"] == name]
    if not chosen:
        names = ", ".join(t["name"] for t in every)
        print(f"no template named {name!r}; the names are: {names}", file=sys.stderr)
        return 2
    for template in chosen:
        print(f"# {template['title']} (--name {template['name']})")
        print(
            textwrap.fill(template["when_to_use"], 98, initial_indent="# ", subsequent_indent="# ")
        )
        print(template["message"])
        print()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    base = args.url or f"http://127.0.0.1:{settings.port}"
    if args.command == "templates":
        api_token = settings.api_token
        return _show_templates(base, api_token.get_secret_value() if api_token else "", args.name)
    try:
        if args.command == "send":
            secret = settings.tradingview_webhook_secret
            body: dict[str, object] = {
                "secret": secret.get_secret_value() if secret else "",
                "symbol": args.symbol,
                "action": args.action,
                "alert_id": args.alert_id or f"cli-{uuid.uuid4().hex[:12]}",
                "timestamp": int(time.time()),
                "order_type": args.order_type,
            }
            for name in ("quantity", "price", "limit_price"):
                if getattr(args, name) is not None:
                    body[name] = getattr(args, name)
            response = requests.post(f"{base}/webhook/tradingview", json=body, timeout=10)
        else:
            token = settings.api_token
            headers = {"Authorization": f"Bearer {token.get_secret_value() if token else ''}"}
            if args.command == "halt":
                response = requests.post(
                    f"{base}/api/halt", json={"reason": args.reason}, timeout=10, headers=headers
                )
            elif args.command == "resume":
                response = requests.post(f"{base}/api/resume", timeout=10, headers=headers)
            elif args.command == "flatten":
                response = _flatten(base, headers, yes=args.yes)
            else:
                response = requests.get(
                    f"{base}/api/alerts/{args.alert_id}", timeout=10, headers=headers
                )
    except requests.RequestException as error:
        print(f"could not reach {base}: {error}", file=sys.stderr)
        return 1
    print(response.status_code)
    try:
        print(json.dumps(response.json(), indent=2))
    except ValueError:
        print(response.text)
    return 0 if response.ok else 1


if __name__ == "__main__":
    sys.exit(main())
