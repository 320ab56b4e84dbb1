"""fbsdetect: find fake GSM base stations with RTL-SDR dongles.

Data flow (see README, "Architecture"): a source yields IQ blocks, the receiver
turns them into L2 frames, sysinfo parses them into a cell observation, detect
checks it, store keeps it, and mapping/export show it.
"""

__version__ = "0.1.0"
