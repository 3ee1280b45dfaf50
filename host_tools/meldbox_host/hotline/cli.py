"""`meldbox hotline ACTION`: dispatch to keygen, send, status, serve and report."""

import importlib

ACTIONS = {
    # name: (module, its add_arguments, its run, one-line help)
    "keygen": (
        "meldbox_host.hotline.keys",
        "add_arguments",
        "run",
        "make an issuer signing key file and print its public key",
    ),
    "send": (
        "meldbox_host.hotline.send",
        "add_arguments",
        "run",
        "sign a notice, withdraw or ping and POST it to a device's /notices",
    ),
    "status": (
        "meldbox_host.hotline.send",
        "add_status_arguments",
        "run_status",
        "GET a device's /status and show its signed status receipt",
    ),
    "serve": (
        "meldbox_host.hotline.serve",
        "add_arguments",
        "run",
        "receive receipts from devices, verify them and keep their chains",
    ),
    "report": (
        "meldbox_host.hotline.report",
        "add_arguments",
        "run",
        "per hoster and device: time to removal, answers, overdue notices, findings",
    ),
}


def add_arguments(parser):
    sub = parser.add_subparsers(dest="hotline_action", metavar="ACTION")
    sub.required = True
    for name, (module, add_name, run_name, help_text) in ACTIONS.items():
        mod = importlib.import_module(module)
        p = sub.add_parser(name, help=help_text, description=help_text)
        getattr(mod, add_name)(p)
        p.set_defaults(_hotline_run=getattr(mod, run_name))


def run(args):
    return args._hotline_run(args)
