"""Positions: GPS sources (gpsd, NMEA, GPX, a scene route) and geodesy helpers."""
