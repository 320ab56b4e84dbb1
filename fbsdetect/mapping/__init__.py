"""Folium maps: observations, heat maps, tracks, estimated transmitter positions."""
