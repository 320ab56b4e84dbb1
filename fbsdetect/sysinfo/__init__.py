"""System Information and CCCH messages (TS 44.018): one module per message
type with a pure `parse` and a `build`, plus a dispatch table on the RR
message type and GSMTAP output."""
