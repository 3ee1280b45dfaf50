"""Every screen by name. A screen opens the next one by naming it (panel.show("detail",
view)), so screens never import each other; only the panel reads this table.

A screen's module is imported when it is first shown, not at boot: the screens staff
may never open this power cycle (actions, device, trust) stay out of a heap that has
little to spare (256K, docs/ARCHITECTURE.md "Memory")."""

import sys

SCREENS = {  # name: (module in meldbox.ui.screens, class)   arguments
    "list": ("notices", "ListScreen"),  # (select_key=None)
    "detail": ("detail", "DetailScreen"),  # (view)
    "actions": ("actions", "ActionsScreen"),  # (view, sel=0)
    "reason": ("actions", "ReasonScreen"),  # (view, sel=0)
    "confirm": ("actions", "ConfirmScreen"),  # (view, kind, reason)
    "done": ("actions", "DoneScreen"),  # (view, kind, reason, seq)
    "failed": ("actions", "FailedScreen"),  # (view, kind, reason, error)
    "device": ("device", "DeviceScreen"),  # ()
    "rejected": ("device", "RejectedScreen"),  # ()
    "trust": ("trust", "TrustScreen"),  # (rows: new keys and other changes, on_done, back)
}


def screen_class(name):
    """The class of screen `name`, importing its module the first time."""
    module, cls = SCREENS[name]
    path = "meldbox.ui.screens." + module
    mod = sys.modules.get(path)
    if mod is None:
        mod = __import__(path, None, None, (cls,))
    return getattr(mod, cls)
