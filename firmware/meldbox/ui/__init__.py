"""The panel: notices on a 320x240 display with live deadline countdowns, four buttons,
an LED and a buzzer. Pure logic over framebuf (no hardware imports); panel.py is the
entry point, rgb565.py defines the display protocol boards implement."""
