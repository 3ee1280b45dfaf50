"""The RGB LED and the buzzer, both on PWM (pins in pins.py)."""
from machine import PWM, Pin, Timer


class Led:
    """A common-cathode RGB LED: higher duty, brighter."""

    def __init__(self, r, g, b, freq):
        self.pwms = []
        for gpio in (r, g, b):
            pwm = PWM(Pin(gpio))
            pwm.freq(freq)
            pwm.duty_u16(0)
            self.pwms.append(pwm)
        self.color = (0, 0, 0)

    def rgb(self, r, g, b):
        """Each channel 0..255."""
        for pwm, v in zip(self.pwms, (r, g, b)):
            v = 0 if v < 0 else 255 if v > 255 else v
            pwm.duty_u16(v * 257)
        self.color = (r, g, b)


class Buzzer:
    """A passive piezo sounder: PWM at the tone's frequency, half duty; a one-shot timer
    ends the tone, so nothing has to poll for it."""

    def __init__(self, gpio):
        self.pwm = PWM(Pin(gpio))
        self.pwm.duty_u16(0)
        self.timer = Timer()
        self.sounding = False

    def tone(self, freq_hz, ms):
        self.timer.deinit()
        self.pwm.freq(max(100, min(int(freq_hz), 10000)))
        self.pwm.duty_u16(32768)
        self.sounding = True
        self.timer.init(mode=Timer.ONE_SHOT, period=max(1, int(ms)), callback=self._stop)

    def _stop(self, _timer):
        self.off()

    def off(self):
        self.pwm.duty_u16(0)
        self.sounding = False
