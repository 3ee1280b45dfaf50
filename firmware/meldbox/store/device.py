"""The device's own files on flash: `key`, its Ed25519 seed (made on the device at first
boot), and `config`, its provisioning (a CBOR map; app/config.py applies it)."""
from meldbox.core import cbor


def seed(store, make_seed):
    """The device's seed; made with make_seed(32) and kept, the first time."""
    path = store.root + "/key"
    try:
        with open(path, "rb") as f:
            seed = f.read(33)
        if len(seed) == 32:
            return seed
    except OSError:
        pass
    seed = make_seed(32)
    store.write_atomic(path, seed)
    return seed


def config(store):
    return store.read_cbor(store.root + "/config", {})


def save_config(store, config):
    store.write_atomic(store.root + "/config", cbor.dumps(config))
