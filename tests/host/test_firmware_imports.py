"""The firmware's modules form no import cycle (also counting imports inside functions),
and no panel screen imports another: screens name the next one through the panel
(meldbox/ui/navigation.py)."""

import ast
from pathlib import Path

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"


def modules():
    found = {}
    for path in FIRMWARE.rglob("*.py"):
        parts = list(path.relative_to(FIRMWARE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if parts and parts[0] in ("meldbox", "boards"):
            found[".".join(parts)] = path
    return found


def imports(path, known):
    """Firmware modules `path` imports anywhere in it (top level or inside functions)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(node.module + "." + a.name for a in node.names)
    return {n for n in names if n in known}


def graph():
    known = modules()
    return {name: imports(path, known) - {name} for name, path in known.items()}


def find_cycle(deps):
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for dep in sorted(deps[node]):
            if state.get(dep) == "open":
                return stack[stack.index(dep) :] + [dep]
            if dep not in state:
                cycle = visit(dep)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(deps):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_firmware_has_no_import_cycle():
    deps = graph()
    assert len(deps) > 50 and "meldbox.ui.panel" in deps  # the scan sees the firmware
    assert find_cycle(deps) is None, " -> ".join(find_cycle(deps))


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_screen_imports_another_screen():
    deps = graph()
    screens = [n for n in deps if n.startswith("meldbox.ui.screens.") and n.count(".") == 3]
    assert "meldbox.ui.screens.detail" in screens
    for name in screens:
        others = {d for d in deps[name] if d in screens and d != "meldbox.ui.screens.base"}
        assert not others, "%s imports %s" % (name, sorted(others))
