"""Network bring-up on the reference board, then the clock from NTP.

Ethernet through the on-board W5500 (network.WIZNET5K, whose wiring the W5500_EVB_PICO2
image knows), or Wi-Fi on the Pico 2 W variant (network.WLAN). DHCP unless the
configuration (`net`, set by provisioning) names a static address. Once the link is up,
micropython-lib's ntptime asks the NTP server (net.ntp, default pool.ntp.org) every hour
and the board sets its RTC from the answer (Pico2Board.ntp_sync decides how far).
"""
import asyncio
import time

import network

DEFAULT_NTP = "pool.ntp.org"
LINK_POLL_MS = 500
NTP_EVERY_S = 3600
NTP_RETRY_S = 60
NTP_TIMEOUT_S = 2
RETRY_S = 10
UNIX_AT_2000 = 946684800


def netmask(prefix):
    bits = (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF
    return "%d.%d.%d.%d" % (bits >> 24, (bits >> 16) & 255, (bits >> 8) & 255, bits & 255)


def bring_up(net):
    """Activate the interface with the configured addressing; returns it (not yet up)."""
    if hasattr(network, "WIZNET5K"):
        nic = network.WIZNET5K()
    else:
        nic = network.WLAN(network.STA_IF)
    nic.active(True)
    wifi = net.get("wifi")
    if wifi and hasattr(nic, "connect"):
        nic.connect(wifi["ssid"], wifi.get("psk") or None)
    static = not net.get("dhcp", True)
    try:
        if static:
            nic.ipconfig(addr4=net["ip"], gw4=net["gw"])
        else:
            nic.ipconfig(dhcp4=True)
        if "dns" in net:
            network.ipconfig(dns=net["dns"])
    except (AttributeError, TypeError, ValueError):     # an image without the ipconfig() API
        if static:
            addr, prefix = net["ip"].split("/")
            nic.ifconfig((addr, netmask(int(prefix)), net["gw"], net.get("dns", net["gw"])))
        elif hasattr(network, "WIZNET5K"):
            nic.ifconfig("dhcp")
    return nic


def address(nic):
    try:
        return nic.ipconfig("addr4")[0]
    except (AttributeError, TypeError, ValueError):
        return nic.ifconfig()[0]


def ntp_time(host):
    """POSIX seconds from `host` (blocks for up to NTP_TIMEOUT_S plus the DNS lookup)."""
    import ntptime  # micropython-lib, installed by `make deploy` (firmware/package.json)
    ntptime.host = host
    ntptime.timeout = NTP_TIMEOUT_S
    t = ntptime.time()
    if time.gmtime(0)[0] == 2000:   # ports whose epoch is 2000 answer in that epoch
        t += UNIX_AT_2000
    return t


class Network:
    def __init__(self, board, net):
        self.board = board
        self.net = net or {}

    async def run(self):
        while True:
            try:
                nic = bring_up(self.net)
                break
            except OSError as e:    # the W5500 (or radio) did not answer: try again
                print("meldbox: network interface failed: %r" % e)
                await asyncio.sleep(RETRY_S)
        while not nic.isconnected():
            await asyncio.sleep_ms(LINK_POLL_MS)
        self.board.ip = address(nic)
        print("meldbox: network up, %s" % self.board.ip)
        host = self.net.get("ntp", DEFAULT_NTP)
        while True:
            self.board.feed_watchdog()      # the query below blocks the event loop
            try:
                t = ntp_time(host)
            except (OSError, ValueError, IndexError) as e:
                print("meldbox: NTP %s failed: %r" % (host, e))
                wait = NTP_RETRY_S
            else:
                self.board.ntp_sync(t)
                wait = NTP_EVERY_S
            await asyncio.sleep(wait)
