"""Where IQ comes from: recordings (SigMF, cu8, ci8, cf32), the RTL-SDR
dongle, the scene simulator's virtual dongle, and gr-gsm as a subprocess.
Sources only yield data; nothing opens a device at import time."""
