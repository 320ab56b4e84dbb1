"""The layer between decoders and outputs, shared by `decode`, `scan` and the
gr-gsm backend: where decoded frames go (`sinks.FrameSink`: pcapng, GSMTAP, a
callable such as the store's writer) and how a cell observation is built from
what a decoder saw (`observations.build_observation`)."""
