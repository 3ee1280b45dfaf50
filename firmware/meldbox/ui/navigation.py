"""Every screen by name. A screen opens the next one by naming it (panel.show("detail",
view)), so screens never import each other; only the panel reads this table.

A screen's module is imported when it is first shown, not at boot: the screens staff
may never open this power cycle (actions, device, trust) stay out of a heap that has
little to spare (256K, docs/ARCHITECTURE.md "Memory")."""

import sys

from meldbox import heap

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


# The screens staff open now and then, let go of when the panel is back on the list
# (heap.unload, as provisioning's screens and service are): about 9 KiB of heap once all
# were opened, and imported again when next shown.
ON_DEMAND = ("meldbox.ui.screens.detail", "meldbox.ui.screens.actions",
             "meldbox.ui.screens.device")


def let_go():
    """Unload the on-demand screens that are loaded (none of them is on screen)."""
    loaded = [name for name in ON_DEMAND if name in sys.modules]
    if loaded:
        heap.unload(loaded)


def screen_class(name):
    """The class of screen `name`, importing its module the first time."""
    module, cls = SCREENS[name]
    path = "meldbox.ui.screens." + module
    mod = sys.modules.get(path)
    if mod is None:
        mod = __import__(path, None, None, (cls,))
    return getattr(mod, cls)
