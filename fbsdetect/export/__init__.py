"""Exports: GeoJSON, KML, CSV, GSMTAP (UDP and pcap), evidence packages."""
