"""`meldbox hotline keygen`: make an issuer's Ed25519 key file (protocol.save_key format)
and print what a device needs to trust it."""

import json
import sys

from meldbox_host import protocol


def add_arguments(p):
    p.add_argument("--iss", required=True, help="issuer id, e.g. nl.eokm")
    p.add_argument("--out", required=True, metavar="FILE", help="key file to write (mode 0600)")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")


def run(args):
    key = protocol.HotlineKey.generate(args.iss)
    try:
        protocol.save_key(args.out, key, overwrite=args.force)
    except FileExistsError:
        print(
            "meldbox hotline keygen: %s exists (use --force to replace it)" % args.out,
            file=sys.stderr,
        )
        return 1
    except OSError as exc:
        print("meldbox hotline keygen: cannot write %s: %s" % (args.out, exc), file=sys.stderr)
        return 1
    print(
        json.dumps(
            {
                "iss": key.iss,
                "public_key": key.public.hex(),
                "kid": key.kid.hex(),
                "key_file": str(args.out),
                "trust_arg": "--trust %s=%s" % (key.iss, key.public.hex()),
            }
        )
    )
    return 0
