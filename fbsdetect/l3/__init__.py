"""Layer 2/3 of GSM dedicated channels, downlink only, receive-only: LAPDm
reassembly (TS 44.006, `lapdm`), RR/MM/CC message recognition (TS 44.018,
TS 24.008, `messages`), SMS (TS 24.011 CP/RP, TS 23.040 TPDU, `sms`) and the
keyed hashing of subscriber identities (`identity`). Nothing here decrypts:
ciphered blocks never pass the CRC and are only counted (`fbsdetect.traffic`).
Every parser returns a counted outcome for malformed input, never raises.
"""
