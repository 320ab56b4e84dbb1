"""Scenes used by the simulator tests (small and short, so the tests stay fast)."""

from __future__ import annotations

ONE_CELL = """
[scene]
name = "one"
seed = 3
duration_s = {duration}
[receiver]
sample_rate = 1000000
center_freq_hz = 939000000
format = "cf32"
gain_db = 40.0
position = [36.6171, 101.7782]
[[cell]]
name = "cmcc-a"
arfcn = 20
mcc = 460
mnc = 0
lac = 6151
cid = 20015
bsic = 38
position = [36.62, 101.78]
eirp_dbm = 30.0
paging_rate = 4.0
neighbours = [14, 23, 26, 29, 35]
t3212 = 30
"""

# Four cells at 2.4 MS/s cu8 around 940 MHz: a strong one near the band edge, a
# combined-CCCH one, a weak one (about 13 dB Eb/N0 after 8-bit rounding), one with
# SI2ter; the dongle is 3 ppm off (2.8 kHz and a stretched sample clock).
FOUR_CELLS = """
[scene]
name = "four"
seed = 11
duration_s = {duration}
[receiver]
sample_rate = 2400000
center_freq_hz = 940000000
format = "cu8"
gain_db = 30.0
ppm = 3.0
position = [36.6171, 101.7782]
[propagation]
model = "log-distance"
exponent = 3.0
[[cell]]
name = "strong"
arfcn = 20
mcc = 460
mnc = 0
lac = 6151
cid = 1
bsic = 38
position = [36.620, 101.780]
eirp_dbm = 40.0
paging_rate = 3.0
[[cell]]
name = "combined"
arfcn = 23
mcc = 460
mnc = 1
lac = 6152
cid = 2
bsic = 12
ccch = "combined"
position = [36.618, 101.7775]
eirp_dbm = 30.0
[[cell]]
name = "weak"
arfcn = 26
mcc = 460
mnc = 0
lac = 6153
cid = 3
bsic = 57
position = [36.6268, 101.7882]
eirp_dbm = 30.0
[[cell]]
name = "si2ter"
arfcn = 29
mcc = 460
mnc = 1
lac = 6154
cid = 4
bsic = 5
si2ter = true
gprs = false
position = [36.625, 101.770]
eirp_dbm = 43.0
"""

# Two cells 8 MHz apart, for the virtual dongle: one capture cannot hold both.
TWO_BANDS = """
[scene]
name = "bands"
seed = 5
duration_s = 30.0
[receiver]
sample_rate = 1000000
center_freq_hz = 939000000
format = "cu8"
gain_db = 30.0
ppm = -4.0
route = [[36.6171, 101.7782, 0.0], [36.6191, 101.7822, 30.0]]
[[cell]]
name = "low"
arfcn = 20
mcc = 460
mnc = 0
lac = 100
cid = 1
bsic = 9
position = [36.620, 101.780]
eirp_dbm = 35.0
[[cell]]
name = "high"
arfcn = 60
mcc = 460
mnc = 1
lac = 200
cid = 2
bsic = 22
position = [36.618, 101.776]
eirp_dbm = 35.0
"""
