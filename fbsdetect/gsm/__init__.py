"""The GSM standard as code, with no I/O: bands and ARFCNs, frame numbers,
burst formats and training sequences, channel coding in both directions,
the TS0 multiframe mapping and BCCH scheduling (TS 45.002, 45.003, 45.005)."""
