"""The reference board: WIZnet W5500-EVB-Pico2 (RP2350, W5500 Ethernet) with an ST7789
panel, four buttons, a DS3231 RTC, an RGB LED and a buzzer (hardware/README.md); the
Raspberry Pi Pico 2 W is its Wi-Fi variant. Pins come from hardware/pins.json (pins.py)."""
