"""How requests move: arrivals, stations, the event loop and the random streams."""
