"""Signal processing with numpy/scipy: channelizer, GMSK modulation and
demodulation, FCCH/SCH synchronisation, channel estimation, equalisation,
power and spectrum measurement."""
