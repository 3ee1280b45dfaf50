"""Text layout: shortening to a width, and paragraphs wrapped into a scrollable list of
lines (Doc). Lines are kept as character offsets in a compact array, never as copies of
the text: a notice's items can hold up to 8 KiB of URLs."""
from array import array

from meldbox.ui import palette

ELLIPSIS = "\u2026"
HANG = -1       # Doc.add indent: wrapped lines start under the first line's text
# A line may break after a space or after one of these (long URLs have no spaces).
BREAK_AFTER = "/?&.,;=:#"


def ellipsize(f, s, max_w):
    """s, or its longest prefix that fits max_w pixels followed by an ellipsis."""
    if f.width(s) <= max_w:
        return s
    n = f.fit(s, max_w - f.width(ELLIPSIS))
    return s[:n] + ELLIPSIS


def wrap(f, s, first_w, next_w, out, tag):
    """Append (tag, start, end) to array `out` for each line of s: the first line at
    most first_w pixels wide, the others next_w. Breaks after spaces and URL
    punctuation, inside a word only when nothing else fits; honours newlines."""
    adv = f.advance
    start = 0
    brk = 0         # where the next line would start if we broke at the last chance
    w = 0           # width of s[start:pos]
    wb = 0          # width of s[brk:pos]
    avail = first_w
    pos = 0
    for ch in s:
        if ch == "\n":
            out.append(tag)
            out.append(start)
            out.append(pos)
            start = brk = pos + 1
            w = wb = 0
            avail = next_w
            pos += 1
            continue
        cw = adv[f.index(ch)]
        if w + cw > avail and pos > start:
            if brk > start:
                out.append(tag)
                out.append(start)
                out.append(brk)
                start = brk
                w = wb
            else:
                out.append(tag)
                out.append(start)
                out.append(pos)
                start = brk = pos
                w = wb = 0
            avail = next_w
        w += cw
        wb += cw
        if ch == " " or ch in BREAK_AFTER:
            brk = pos + 1
            wb = 0
        pos += 1
    if pos > start or start == 0:
        out.append(tag)
        out.append(start)
        out.append(pos)


class Doc:
    """Paragraphs (an optional label, then text) laid out for a text area `width` pixels
    wide in Font f; drawn a window of lines at a time."""

    def __init__(self, f, width):
        self.f = f
        self.width = width
        self.paras = []        # (label, text, colour, indent)
        self.lines = array("H")

    def add(self, text, colour=palette.FG, label=None, indent=0):
        """Add a paragraph. The label (dim) starts the first line; wrapped lines start
        `indent` pixels in (HANG: under the first line's text)."""
        tag = len(self.paras)
        lw = self.f.width(label) + 4 if label else 0
        if indent == HANG:
            indent = lw
        self.paras.append((label, text, colour, indent))
        wrap(self.f, text, self.width - lw, self.width - indent, self.lines, tag)

    def __len__(self):
        return len(self.lines) // 3

    def draw(self, canvas, x, y, first, count, line_h):
        """Draw lines first .. first+count-1 from (x, y)."""
        f = self.f
        lines = self.lines
        n = len(lines) // 3
        for i in range(first, min(n, first + count)):
            if canvas.hidden(y, line_h):
                y += line_h
                continue
            tag, a, b = lines[3 * i], lines[3 * i + 1], lines[3 * i + 2]
            label, text, colour, indent = self.paras[tag]
            tx = x
            if a == 0 and (i == 0 or lines[3 * i - 3] != tag):
                if label:
                    tx = canvas.text(f, label, x, y, palette.DIM) + 4
            else:
                tx = x + indent
            canvas.text(f, text[a:b], tx, y, colour)
            y += line_h
