"""The panel's 16 colours (a 4-bit palette) and what each one means.

Dark background, light text; urgency colours chosen to stay distinct for the common
red-green colour blindness by brightness as well as hue (red is darkest, amber
brightest), and every urgency is also spelled out in text on the screens.
"""

BG = 0        # black background
FG = 1        # white text
DIM = 2       # labels, secondary text
BAR = 3       # status bar and hint rows
SEL = 4       # selected row
RED = 5       # overdue, refused, errors
ORANGE = 6    # less than an hour left
AMBER = 7     # less than four hours left
GREEN = 8     # more time left; healthy status
BLUE = 9      # paused countdowns, information
PURPLE = 10   # TEST (drill) marking
DARKRED = 11  # "do not inform the customer" banner
KEY = 12      # button letter boxes
MID = 13      # separators, neutral badges
NAVY = 14     # evidence preservation banner
BLACK = 15    # dark text on light boxes

# r, g, b (0-255) per index, three bytes each (one object instead of sixteen tuples).
COLOURS = bytes((
    0, 0, 0,
    255, 255, 255,
    168, 172, 182,
    38, 42, 52,
    24, 62, 124,
    255, 56, 56,
    255, 146, 24,
    255, 216, 0,
    72, 214, 104,
    104, 176, 255,
    176, 72, 224,
    160, 16, 16,
    214, 214, 214,
    92, 96, 108,
    20, 52, 120,
    0, 0, 0,
))


def rgb(index):
    """(r, g, b) of a palette index."""
    return COLOURS[3 * index], COLOURS[3 * index + 1], COLOURS[3 * index + 2]
