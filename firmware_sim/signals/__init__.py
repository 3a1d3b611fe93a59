"""Pure signal generators: acceleration (activities, falls), vitals, GPS tracks. No I/O, seeded RNGs."""
