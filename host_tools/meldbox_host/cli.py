"""The `meldbox` command. Each sub-command lives in its own module, which provides
`add_arguments(parser)` and `run(args) -> int`; modules are imported only when used,
so that one command's dependencies never slow down or break another."""

import argparse
import importlib
import sys

COMMANDS = {
    # name: (module, one-line help)
    "sim-device": ("meldbox_host.sim.device", "run a simulated device (SIMULATOR.md)"),
    "sim-ctl": (
        "meldbox_host.sim.ctl",
        "press buttons, move the clock, snapshot the panel of a simulated device",
    ),
    "hotline": ("meldbox_host.hotline.cli", "hotline side: keygen, send, serve"),
    "demo": ("meldbox_host.demo", "run a whole scenario: a simulated device and a hotline"),
    "fuzz": (
        "meldbox_host.wire.fuzz",
        "send a device malformed CoAP/COSE/CBOR and report what came back",
    ),
    "device": ("meldbox_host.provision.cli", "provision or inspect a device over USB serial"),
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="meldbox", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    chosen = argv[0] if argv else None
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        if name == chosen:
            mod = importlib.import_module(module)
            mod.add_arguments(p)
            p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    return args._run(args) or 0


if __name__ == "__main__":
    sys.exit(main())
