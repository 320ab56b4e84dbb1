"""The simulated radio world: scene files (TOML), GSM transmitters rendered to
IQ, the propagation channel and the receiver's impairments."""
