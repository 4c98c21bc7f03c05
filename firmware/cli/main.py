"""The `evsed` command."""

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from firmware import __version__
from firmware.config_file import Config, ConfigError, load_config

EXIT_CONFIG = 2
EXIT_UNREACHABLE = 3
EXIT_HARDWARE = 4
EXIT_STORAGE = 5


def _config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", type=Path, default=Path("/etc/evsed/evsed.toml"),
                        help="configuration file (default: /etc/evsed/evsed.toml)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evsed", description="Charge point controller daemon (OCPP 1.6J).")
    parser.add_argument("--version", action="version", version=f"evsed {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the daemon (logs to stderr)")
    _config_arg(run)

    sim = commands.add_parser("sim", help="drive the simulated devices of a running daemon")
    _config_arg(sim)
    actions = sim.add_subparsers(dest="action", required=True)
    tap = actions.add_parser("tap", help="present a card (hex UID of 4, 7 or 10 bytes)")
    tap.add_argument("uid")
    tap.add_argument("--connector", type=int, help="the connector's own reader (default: the shared reader)")
    for name, text in (("plug", "plug an EV into connector N"), ("unplug", "unplug the EV from connector N"),
                       ("pause", "the EV on connector N stops asking for energy"),
                       ("resume", "the EV on connector N asks for energy again")):
        actions.add_parser(name, help=text).add_argument("connector", type=int, metavar="N")
    link = actions.add_parser("link", help="cut or restore the CSMS connection")
    link.add_argument("state", choices=["down", "up"])
    actions.add_parser("state", help="print connectors, link and queue as JSON")
    actions.add_parser("card", help="print what the charger stores about an idTag, as JSON").add_argument("id_tag")
    for name, text in (("fault", "inject a device fault"), ("clear", "clear an injected fault")):
        fault = actions.add_parser(name, help=f"{text}: meter N (no answer), weld N (contact welded closed), "
                                              "reader N (0: the shared reader)")
        fault.add_argument("device", choices=["meter", "weld", "reader"])
        fault.add_argument("connector", type=int, metavar="N")

    demo = commands.add_parser("demo", help="run the whole story on one machine: local CSMS, simulated charger")
    demo.add_argument("--serve", action="store_true", help="keep running, with the QR flow's driver pages on "
                                                           "127.0.0.1 (the URLs and QR codes are printed)")
    demo.add_argument("--port", type=int, default=8080, help="--serve: the pages' port (0: any free one)")
    demo.add_argument("--connection-timeout", type=int, default=60, metavar="S",
                      help="--serve: how long a started session waits for the plug (the charger's ConnectionTimeOut)")
    demo.add_argument("--price", type=float, default=0.40, help="--serve: the demo tariff, per kWh")
    demo.add_argument("--state-dir", type=Path, help="--serve: keep the charger's state there (default: temporary)")

    _config_arg(commands.add_parser("status", help="what the running daemon is doing: link, connectors, faults, "
                                                   "queue"))
    _config_arg(commands.add_parser("selftest", help="check every configured device and the CSMS; exit 0 only "
                                                     "when all pass"))
    _config_arg(commands.add_parser("force-open", help="drive every configured contactor output open (for the "
                                                       "service unit, before start and after stop)"))

    qr = commands.add_parser("qr", help="write one print-ready QR sticker per connector (SVG and PNG)")
    _config_arg(qr)
    qr.add_argument("--base-url", required=True, help="the CSMS's driver page; the code opens "
                                                      "URL?cp=<charge point id>&connector=<n>")
    qr.add_argument("-o", "--out-dir", type=Path, default=Path("."), help="where to write the stickers")

    provision = commands.add_parser("provision", help="first boot: install evsed.toml from the boot partition "
                                                      "into /etc/evsed (validated, owner-only)")
    provision.add_argument("--source", type=Path, action="append",
                           help="file to take (repeatable; default /boot/firmware/evsed.toml, /boot/evsed.toml)")
    provision.add_argument("--target", type=Path, default=Path("/etc/evsed/evsed.toml"))
    provision.add_argument("--owner", default="evsed", help="user owning the installed file ('' = unchanged)")

    config = commands.add_parser("config", help="configuration file tools")
    config_actions = config.add_subparsers(dest="action", required=True)
    _config_arg(config_actions.add_parser("check", help="validate a configuration file without starting"))
    return parser


def _load(path: Path) -> Config:
    """The config file, or exit 2 once stderr lists every problem of it (each line naming its key)."""
    try:
        return load_config(path)
    except ConfigError as e:
        for line in str(e).splitlines():
            print(f"evsed: configuration error: {line}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def _run(config: Config, config_path: Path) -> int:
    from firmware.app import App
    from firmware.daemon.hardware import HardwareError
    from firmware.logs import setup_logging
    from firmware.persistence.db import StorageError
    from firmware.settings import SettingConflict

    setup_logging(config.logging.level)
    try:
        app = App(config, config_path)
    except HardwareError as e:
        logging.getLogger("firmware").critical("hardware error, not started: %s", e)
        return EXIT_HARDWARE
    except SettingConflict as e:  # the file asks for what the stored state forbids
        from firmware.ocpp16.keys import KEYS

        key = next((k for k, name in KEYS.items() if name == e.name), e.name)
        print(f"evsed: configuration error: [ocpp] {key}: {e}", file=sys.stderr)
        return EXIT_CONFIG
    except StorageError as e:  # locked by another process, or not openable: never moved aside
        logging.getLogger("firmware").critical("%s, not started path=%s error=%s", e.kind, e.path, e.reason)
        return EXIT_STORAGE
    asyncio.run(app.run())
    if app.restart_requested:  # Reset.req: start again in this process, as a fresh program
        os.execv(sys.executable, sys.orig_argv)
    return 0


def _ask(config: Config, command: dict[str, object]) -> tuple[int, dict[str, Any]]:
    """One command to the running daemon: (0, its answer), or an exit code once stderr says why not."""
    from firmware.daemon.control_socket import request

    try:
        answer = asyncio.run(request(config.control_socket, command))
    except (OSError, TimeoutError) as e:
        print(f"evsed: the daemon does not answer at {config.control_socket} (is it running?): {e}", file=sys.stderr)
        return EXIT_UNREACHABLE, {}
    if not answer.pop("ok", False):
        print(f"evsed: {answer.get('error')}", file=sys.stderr)
        return 1, {}
    return 0, answer


def _sim(args: argparse.Namespace, config: Config) -> int:
    command: dict[str, object] = {"cmd": args.action}
    if args.action == "tap":
        command.update(uid=args.uid, connector=args.connector)
    elif args.action == "link":
        command["state"] = args.state
    elif args.action == "card":
        command["id_tag"] = args.id_tag
    elif args.action in ("fault", "clear"):
        command.update(cmd="fault", device=args.device, connector=args.connector, on=args.action == "fault")
    elif args.action != "state":
        command["connector"] = args.connector
    code, answer = _ask(config, command)
    if code == 0 and args.action == "state":
        from firmware.daemon.state import DaemonState

        print(json.dumps(DaemonState.from_json(answer).to_json(), indent=2))
    elif code == 0 and args.action == "card":
        print(json.dumps(answer, indent=2))
    return code


def _status(config: Config) -> int:
    from firmware.daemon.state import DaemonState

    code, state = _ask(config, {"cmd": "state"})
    if code == 0:
        print(DaemonState.from_json(state).describe())
    return code


def _selftest(config: Config) -> int:
    from firmware.daemon.selftest import run_selftest, table

    checks = asyncio.run(run_selftest(config))
    print(table(checks))
    return 0 if all(c.passed for c in checks) else 1


def _force_open(config: Config) -> int:
    """A GPIO line keeps its level when the daemon is killed: the service unit runs this before each
    start and after each stop. The relay must be wired fail-open (see README, "Real hardware")."""
    if config.hardware.backend != "pi":
        print(f"backend {config.hardware.backend}: no contactor outputs to force")
        return 0
    from firmware.daemon.hardware import force_open_contactors

    results = force_open_contactors(config.hardware)
    for text, _ in results:
        print(text)
    return 0 if all(ok for _, ok in results) else 1


def _qr(args: argparse.Namespace, config: Config) -> int:
    from firmware.cli.qr import StickerError, write_stickers

    try:
        paths = write_stickers(config.charge_point.id, config.charge_point.connectors, args.base_url, args.out_dir)
    except StickerError as e:
        print(f"evsed: {e}", file=sys.stderr)
        return EXIT_CONFIG
    for path in paths:
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from firmware.demo.story import run_demo, serve_demo

        if args.serve:
            problem = _serve_problem(args)
            if problem is not None:
                print(f"evsed demo: {problem}", file=sys.stderr)
                return EXIT_CONFIG
            return serve_demo(args.port, args.connection_timeout, args.price, args.state_dir)
        return run_demo()
    if args.command == "provision":
        from firmware.cli import provision

        return provision.main(args.source, args.target, args.owner or None)
    config = _load(args.config)
    if args.command == "run":
        return _run(config, Path(args.config))
    if args.command == "sim":
        return _sim(args, config)
    if args.command == "status":
        return _status(config)
    if args.command == "selftest":
        return _selftest(config)
    if args.command == "force-open":
        return _force_open(config)
    if args.command == "qr":
        return _qr(args, config)
    return _check(args.config, config)


def _serve_problem(args: argparse.Namespace) -> str | None:
    """Why `evsed demo --serve`'s options cannot be used, or None."""
    if not 0 <= args.port <= 65535:
        return "--port must be between 0 and 65535"
    if not 1 <= args.connection_timeout <= 3600:
        return "--connection-timeout must be between 1 and 3600 seconds (the charger's ConnectionTimeOut range)"
    if not 0 < args.price <= 100:
        return "--price must be more than 0 and at most 100 per kWh"
    return None


def _check(path: Path, config: Config) -> int:
    """`evsed config check`: what the file alone can tell, meter profiles included (devices are opened
    only by `run` and `selftest`)."""
    from firmware.daemon.hardware import check_meter_profiles

    problem = check_meter_profiles(config.hardware)
    if problem is not None:
        for line in problem.splitlines():
            print(f"evsed: configuration error: {path}: {line}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"{path}: configuration is valid (charge point {config.charge_point.id}, "
          f"{config.charge_point.connectors} connector(s), backend {config.hardware.backend})")
    return 0
