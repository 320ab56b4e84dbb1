"""The fixed sensor-node daemon: local outbox, uplink, health."""
